"""`lm-eval`: the samples file of EleutherAI lm-evaluation-harness (``--log_samples``).

Producer: lm-evaluation-harness 0.4.13 (``lm_eval ... --log_samples --output_path DIR`` writes
``DIR/<model>/samples_<task>_<date>.jsonl``), checked on a generate_until GSM8K task run on
SmolLM2-135M. Each line is one document under one filter: ``doc_id``, ``doc`` (the dataset row),
``target``, ``arguments`` (prompt and generation settings), ``resps`` (the generations),
``filtered_resps`` (the filter's extraction), ``filter``, ``metrics`` and each metric's value.
The harness writes one line per filter for the same generations; the lines of one filter are
kept (``--filter``, default the first in the file), giving its extraction and its first
metric (exact_match for GSM8K) as the external label. The question is ``doc.question`` or
``doc.problem`` (``--question-field`` names another field of ``doc``); ``--gold-field`` reads
``doc`` too. Loglikelihood (multiple-choice) tasks have no generated text and are refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.importers.base import Adapter
from evalkit.importers.fields import iter_jsonl, optional, require
from evalkit.importers.rows import ExternalRow, ExternalSample

_QUESTION_FIELDS = ("question", "problem", "Question", "Problem")


class LmEvalAdapter(Adapter):
    name = "lm-eval"
    producer = "EleutherAI lm-evaluation-harness 0.4.13 (--log_samples samples JSONL)"
    reads = ("question", "gold", "filter")

    @classmethod
    def looks_like(cls, record: dict[str, Any]) -> bool:
        return all(key in record for key in ("doc_id", "doc", "resps"))

    def rows(self, path: Path) -> Iterator[ExternalRow]:
        chosen = self.options.filter
        filters: list[str] = []
        for line_no, row in iter_jsonl(path):
            where = f"{path.name} line {line_no}"
            name = str(row.get("filter", "none"))
            if name not in filters:
                filters.append(name)
                self.settings["filters"] = list(filters)
            chosen = chosen or name
            if name != chosen:
                continue
            doc = require(row, "doc", where, "--format")
            responses = self._responses(require(row, "resps", where, "--format"), where)
            if not self.settings.get("filter"):
                self.settings.update(_generation_settings(row, chosen))
            label, extracted = None, None
            if len(responses) == 1:
                label, extracted = _verdict(row), _extraction(row)
            yield ExternalRow(
                where=where,
                question=self._question(doc),
                source_id=str(row["doc_id"]),
                samples=[ExternalSample(text, label, extracted) for text in responses],
                gold=self.file_gold(doc, where) if isinstance(doc, dict) else None,
            )
        if self.options.filter and self.options.filter not in filters:
            raise EvalkitError(
                f"{path} has no filter {self.options.filter!r} (it has {', '.join(filters)}): "
                "pass one of those to --filter"
            )

    def _question(self, doc: Any) -> str | None:
        if not isinstance(doc, dict):
            return None
        names = (self.options.question,) if self.options.question else _QUESTION_FIELDS
        found = next((doc[k] for k in names if isinstance(doc.get(k), str)), None)
        if found is None and self.options.question:
            require(doc, self.options.question, "its doc", "--question-field")
        return found

    @staticmethod
    def _responses(resps: Any, where: str) -> list[str]:
        """The generations of a generate_until document: ``resps`` = [[text, ...]]."""
        if (
            isinstance(resps, list) and len(resps) == 1 and isinstance(resps[0], list)
            and resps[0] and all(isinstance(text, str) for text in resps[0])
        ):
            return resps[0]
        raise EvalkitError(
            f"{where}: 'resps' holds no generated text (a loglikelihood task?); evalkit grades "
            "generations: import the samples of a generate_until task"
        )


def _generation_settings(row: dict[str, Any], chosen: str) -> dict[str, Any]:
    """The filter kept and what ``arguments`` states: prompt and generation kwargs."""
    settings: dict[str, Any] = {"filter": chosen}
    args = optional(row, "arguments.gen_args_0") or optional(row, "arguments.0") or {}
    if isinstance(args, dict):
        args = [args.get("arg_0"), args.get("arg_1")]
    elif not isinstance(args, list | tuple):
        args = []  # not what the harness writes: nothing stated
    prompt, kwargs = (list(args) + [None, None])[:2]
    if isinstance(prompt, str):
        settings["first_prompt"] = prompt
    if isinstance(kwargs, dict):
        settings["generation_kwargs"] = kwargs
        if kwargs.get("do_sample") is False:
            settings["temperature"] = 0.0
        elif isinstance(kwargs.get("temperature"), (int, float)):
            settings["temperature"] = float(kwargs["temperature"])
        if isinstance(kwargs.get("top_p"), (int, float)):
            settings["top_p"] = float(kwargs["top_p"])
        if isinstance(kwargs.get("max_gen_toks"), int):
            settings["max_tokens"] = kwargs["max_gen_toks"]
    return settings


def _verdict(row: dict[str, Any]) -> bool | None:
    """The first metric's value as a verdict, when it is 0 or 1."""
    metrics = row.get("metrics")
    named = metrics[0] if isinstance(metrics, list) and metrics else None
    value = row.get(named) if isinstance(named, str) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value not in (0, 1):
        return None
    return bool(value)


def _extraction(row: dict[str, Any]) -> str | None:
    filtered = row.get("filtered_resps")
    value = filtered[0] if isinstance(filtered, list) and filtered else filtered
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return value.strip() if isinstance(value, str) else str(value)
