"""`lighteval`: the details file lighteval writes per task (``--save-details``), a parquet file.

Producer: huggingface/lighteval 0.13.0 (``lighteval accelerate ... --save-details`` writes
``OUTPUT/details/<model>/<date>/details_<task>|<shots>_<date>.parquet``), checked on a custom
generative GSM8K task run on SmolLM2-135M. Each row: ``doc`` (``query`` = the full prompt, ``id``,
``specific``, ``generation_size``, ``stop_sequences``), ``model_response`` (``text`` = the
generations, ``output_tokens`` = their token ids) and ``metric`` (each metric's value).
The question is matched from ``doc.specific.question`` when the task stores it there (as
lighteval's math tasks do), else from ``doc.query`` (``--question-field`` names another ``doc``
field, dotted). The label is the first metric with a 0/1 value and the extraction
``doc.specific.extracted_predictions[0]``. A generation whose token count reaches
``doc.generation_size`` is taken as cut at the budget (finish reason "length"). The file is read
a batch of rows at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.importers.base import Adapter
from evalkit.importers.fields import lookup, require, texts
from evalkit.importers.rows import ExternalRow, ExternalSample

PARQUET_MAGIC = b"PAR1"
_BATCH_ROWS = 64
_QUESTION_FIELDS = ("specific.question", "query")


class LightevalAdapter(Adapter):
    name = "lighteval"
    producer = "huggingface/lighteval 0.13.0 (--save-details parquet details file)"
    reads = ("question", "gold")

    def rows(self, path: Path) -> Iterator[ExternalRow]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        with open(path, "rb") as handle:
            if handle.read(len(PARQUET_MAGIC)) != PARQUET_MAGIC:
                raise EvalkitError(
                    f"{path} is not a parquet file; lighteval details are "
                    "details_<task>_<date>.parquet (or pass the --format of this file)"
                )
        number = 0
        try:
            batches = pq.ParquetFile(path).iter_batches(batch_size=_BATCH_ROWS)
            for batch in batches:
                for row in batch.to_pylist():
                    number += 1
                    yield self._row(row, f"{path.name} row {number}")
        except pa.ArrowException as err:
            raise EvalkitError(
                f"cannot read {path} as parquet ({err}); give the details file"
            ) from None
        if number == 0:
            raise EvalkitError(f"{path} is empty: give the details file lighteval wrote")

    def _row(self, row: dict[str, Any], where: str) -> ExternalRow:
        doc = require(row, "doc", where, "--format")
        response = require(row, "model_response", where, "--format")
        completions = texts(require(response, "text", where, "--format"), "model_response.text",
                            where)
        if not self.settings:
            self.settings.update(_settings(doc))
        return ExternalRow(
            where=where,
            question=self._question(doc, where),
            source_id=None if doc.get("id") in (None, "") else str(doc["id"]),
            samples=_samples(doc, response, completions, row.get("metric")),
            gold=self.file_gold(doc, where),
        )

    def _question(self, doc: dict[str, Any], where: str) -> str:
        if self.options.question:
            value = require(doc, self.options.question, where, "--question-field")
        else:
            value = next(
                (v for k in _QUESTION_FIELDS if isinstance(v := lookup(doc, k), str)), None
            )
        if not isinstance(value, str):
            raise EvalkitError(
                f"{where}: the doc has no question text; pass --question-field naming the doc "
                "field that holds it"
            )
        return value


def _samples(
    doc: dict[str, Any], response: dict[str, Any], completions: list[str], metrics: Any
) -> list[ExternalSample]:
    """One sample per generation. Verdict and extraction are the doc's, so they are kept only
    when the doc has a single generation."""
    single = len(completions) == 1
    predictions = lookup(doc, "specific.extracted_predictions")
    extracted = (
        str(predictions[0]) if single and isinstance(predictions, list) and predictions else None
    )
    verdict = _verdict(metrics) if single else None
    tokens = response.get("output_tokens")
    counts: list[int | None] = [None] * len(completions)
    if isinstance(tokens, list) and len(tokens) == len(completions):
        counts = [len(ids) for ids in tokens]
    budget = doc.get("generation_size")
    return [
        ExternalSample(text, verdict, extracted, _finish_reason(count, budget), count)
        for text, count in zip(completions, counts, strict=True)
    ]


def _finish_reason(count: int | None, budget: Any) -> str | None:
    """"length" for a generation that used its whole token budget, else "stop"."""
    if count is None or not isinstance(budget, int):
        return None
    return "length" if count >= budget else "stop"


def _settings(doc: dict[str, Any]) -> dict[str, Any]:
    """What the first doc states: its task, prompt, token budget and stop sequences."""
    settings: dict[str, Any] = {}
    for key, name in (("task_name", "task_name"), ("query", "first_prompt"),
                      ("generation_size", "max_tokens"), ("stop_sequences", "stop_sequences")):
        if doc.get(key) is not None:
            settings[name] = doc[key]
    return settings


def _verdict(metrics: Any) -> bool | None:
    """The first metric with a 0/1 value, as a verdict."""
    if not isinstance(metrics, dict):
        return None
    for value in metrics.values():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
            return bool(value)
    return None
