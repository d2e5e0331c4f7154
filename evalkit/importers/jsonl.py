"""`jsonl`: any JSON Lines file of questions and completions, fields named by the user.

Producer: the user's own scripts. Per row: ``--question-field`` (the problem text; or
``--id-field`` for files without it), ``--response-field`` holding a string or a list of strings
(several samples), optional ``--label-field`` (a verdict, or a list of one per response) and
``--gold-field``. Dotted paths reach nested fields, so the OpenAI GSM8K example solutions
(openai/grade-school-math ``example_model_solutions.jsonl``, four models per row) import one model
at a time with ``--response-field 6b_finetuning.solution --label-field 6b_finetuning.is_correct``.
Checked against that file as published (1319 rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from evalkit.errors import EvalkitError
from evalkit.importers.base import Adapter
from evalkit.importers.fields import iter_jsonl, labels, optional, require, scalar_text, texts
from evalkit.importers.rows import ExternalRow, ExternalSample


class JsonlAdapter(Adapter):
    name = "jsonl"
    producer = "any JSON Lines file (fields named on the command line)"
    reads = ("question", "response", "gold", "label", "id")

    def rows(self, path: Path) -> Iterator[ExternalRow]:
        f = self.options
        question_field, response_field = f.question or "question", f.response or "response"
        for line_no, row in iter_jsonl(path):
            where = f"{path.name} line {line_no}"
            responses = texts(
                require(row, response_field, where, "--response-field"), response_field, where
            )
            verdicts: list[bool | None] = [None] * len(responses)
            if f.label is not None:
                value = require(row, f.label, where, "--label-field")
                verdicts = list(labels(value, len(responses), f.label, where))
            question = optional(row, question_field)
            source_id = None if f.id is None else require(row, f.id, where, "--id-field")
            if question is None and source_id is None:
                require(row, question_field, where, "--question-field")  # raises, naming the fields
            if question is not None and not isinstance(question, str):
                raise EvalkitError(
                    f"{where}: field {question_field!r} holds a {type(question).__name__}, not the "
                    "question text; point --question-field at the text"
                )
            yield ExternalRow(
                where=where,
                question=question,
                source_id=None if source_id is None else scalar_text(source_id, f.id, where),
                samples=[ExternalSample(text, ok) for text, ok in zip(responses, verdicts,
                                                                        strict=True)],
                gold=self.file_gold(row, where),
            )
