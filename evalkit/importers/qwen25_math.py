"""`qwen25-math`: the JSONL that QwenLM/Qwen2.5-Math's evaluation toolkit writes per benchmark.

Producer: Qwen2.5-Math ``evaluation/math_eval.py`` (``{split}_{prompt}_{n}_seed..._t..._s..._e...
.jsonl`` files). Per row: ``idx``, ``question``, ``gt`` (its gold), ``code`` (the n sampled
completions), ``pred`` (its extracted answer per completion) and ``score`` (its verdict per
completion); ``system`` states the system prompt. Checked against
``qwen25math_eval_rm_maj_example_math_cot_100.jsonl`` from that repository (100 MATH problems x
8 samples). The file does not state sampling settings, finish reasons or token counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.importers.base import Adapter
from evalkit.importers.fields import iter_jsonl, labels, require, scalar_text, texts
from evalkit.importers.rows import ExternalRow, ExternalSample

_FIELDS = ("question", "code", "pred", "score")


class Qwen25MathAdapter(Adapter):
    name = "qwen25-math"
    producer = "QwenLM/Qwen2.5-Math evaluation toolkit (math_eval.py output JSONL)"

    @classmethod
    def looks_like(cls, record: dict[str, Any]) -> bool:
        return all(key in record for key in _FIELDS)

    def rows(self, path: Path) -> Iterator[ExternalRow]:
        for line_no, row in iter_jsonl(path):
            where = f"{path.name} line {line_no}"
            if not self.settings and isinstance(row.get("system"), str):
                self.settings["system_prompt"] = row["system"]
            completions = texts(require(row, "code", where, "--format"), "code", where)
            preds = require(row, "pred", where, "--format")
            if not isinstance(preds, list) or len(preds) != len(completions):
                raise EvalkitError(
                    f"{where}: 'pred' must list one extracted answer per completion in 'code'; "
                    "this is not a Qwen2.5-Math output row: check --format"
                )
            verdicts = labels(require(row, "score", where, "--format"), len(completions),
                              "score", where)
            yield ExternalRow(
                where=where,
                question=scalar_text(require(row, "question", where, "--format"), "question",
                                     where),
                source_id=None if row.get("idx") is None else str(row["idx"]),
                samples=[
                    ExternalSample(text, ok, None if pred is None else str(pred))
                    for text, ok, pred in zip(completions, verdicts, preds, strict=True)
                ],
                gold=self.file_gold(row, where),
            )

