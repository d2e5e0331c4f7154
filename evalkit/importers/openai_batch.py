"""`openai-batch`: the output file of an OpenAI Batch API job (chat or text completions).

Producer: the OpenAI Batch API (``/v1/batches``, output JSONL as documented in the API reference,
checked against its documented layout in 2025). Each line: ``custom_id``, ``response``
(``status_code``, ``body`` = a chat.completion or text_completion object) and ``error``.
Completions are ``body.choices[i].message.content`` (or ``.text``), one sample per choice; the
finish reason is each choice's, and ``usage.completion_tokens`` gives the token count when the
request asked for one choice. Failed requests (``error`` set, or a status other than 200) are
reported, not imported.

``custom_id`` names the problem: ``TASK:PROBLEM_ID`` (e.g. ``gsm8k:12``), or ``PROBLEM_ID`` with
``--task``; a suffix ``#N`` (``gsm8k:12#3``) lets several requests share one problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.importers.base import Adapter
from evalkit.importers.fields import iter_jsonl, require
from evalkit.importers.rows import ExternalRow, ExternalSample

_SAMPLE_SUFFIX = re.compile(r"#\d+$")


class OpenAIBatchAdapter(Adapter):
    name = "openai-batch"
    producer = "OpenAI Batch API output JSONL (documented format)"
    reads = ()

    @classmethod
    def looks_like(cls, record: dict[str, Any]) -> bool:
        return "custom_id" in record and "response" in record

    def rows(self, path: Path) -> Iterator[ExternalRow]:
        for line_no, row in iter_jsonl(path):
            where = f"{path.name} line {line_no}"
            custom_id = require(row, "custom_id", where, "--format")
            if not isinstance(custom_id, str) or not custom_id.strip():
                raise EvalkitError(f"{where}: custom_id must be a non-empty string")
            task, _, problem_id = _SAMPLE_SUFFIX.sub("", custom_id.strip()).rpartition(":")
            failure = _failure(row)
            if failure is not None:
                yield ExternalRow(where, None, problem_id, task=task or None, error=failure)
                continue
            body = row["response"].get("body")
            if not isinstance(body, dict):
                raise EvalkitError(
                    f"{where}: response has no body object; give the Batch API output file"
                )
            if not self.settings:
                self.settings.update(
                    {k: body[k] for k in ("model", "system_fingerprint") if body.get(k)}
                )
            choices = body.get("choices")
            if not isinstance(choices, list) or not choices:
                raise EvalkitError(
                    f"{where}: response.body has no choices; this is not a chat or text "
                    "completion batch output: check --format"
                )
            tokens = (body.get("usage") or {}).get("completion_tokens")
            yield ExternalRow(
                where=where,
                question=None,
                source_id=problem_id,
                task=task or None,
                samples=[
                    ExternalSample(
                        text=_choice_text(choice, where),
                        finish_reason=_finish_reason(choice.get("finish_reason")),
                        num_tokens=tokens if len(choices) == 1 else None,
                    )
                    for choice in sorted(choices, key=lambda c: c.get("index", 0))
                ],
            )


def _failure(row: dict[str, Any]) -> str | None:
    """Why a request produced no completion, or None if it did."""
    if row.get("error"):
        error = row["error"]
        return str(error.get("message") or error) if isinstance(error, dict) else str(error)
    response = row.get("response")
    if not isinstance(response, dict) or response.get("status_code") != 200:
        status = response.get("status_code") if isinstance(response, dict) else None
        return f"status {status}"
    return None


def _choice_text(choice: Any, where: str) -> str:
    message = choice.get("message") if isinstance(choice, dict) else None
    text = message.get("content") if isinstance(message, dict) else choice.get("text")
    if not isinstance(text, str):
        raise EvalkitError(
            f"{where}: a choice has neither message.content nor text as a string; "
            "give a chat or text completion batch output"
        )
    return text


def _finish_reason(reason: Any) -> str | None:
    """OpenAI's "length" is a truncation; every other stated reason ends the completion."""
    if reason is None:
        return None
    return "length" if reason == "length" else "stop"
