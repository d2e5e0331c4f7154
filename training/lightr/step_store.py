"""Durable, resumable output of the sampler: kept steps, and which questions are finished.

`samples.jsonl` holds one line per kept step: question_id, step, prefix_ids (prompt + the
expert's first `step` completion tokens), token_ids and weights of the soft label, kl.
`progress.jsonl` holds one line per finished question (steps scored, steps kept). A question's
steps are fsync'd before its progress line, so after a kill the steps of unfinished questions
(and any torn last line) are dropped on reopening and those questions are sampled again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError


@dataclass(frozen=True)
class QuestionSteps:
    """What the sampler made of one question."""

    question_id: str
    steps: int  # steps scored
    kept: list[dict[str, Any]]  # samples.jsonl records of the kept steps


def _keep_lines(path: Path, keep: Callable[[str], bool]) -> list[str]:
    """The complete lines of `path` that `keep` accepts; rewrites the file if any were dropped."""
    if not path.exists():
        return []
    raw = path.read_text(encoding="utf-8")
    complete, _, _torn = raw.rpartition("\n")
    lines = [line for line in complete.splitlines() if line.strip() and keep(line)]
    text = "".join(line + "\n" for line in lines)
    if text != raw:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return lines


def _append_lines(path: Path, lines: Iterable[str]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


class StepSampleStore:
    """samples.jsonl + progress.jsonl in one folder; reopening resumes after a kill."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.samples_path = folder / "samples.jsonl"
        self.progress_path = folder / "progress.jsonl"
        self.progress: dict[str, dict[str, Any]] = {}
        for number, line in enumerate(_keep_lines(self.progress_path, bool), start=1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise EvalkitError(
                    f"{self.progress_path} is corrupt at line {number}: delete the sampling "
                    "folder to start over"
                ) from err
            self.progress[row["question_id"]] = row
        _keep_lines(self.samples_path, self._finished)

    def _finished(self, line: str) -> bool:
        return json.loads(line)["question_id"] in self.progress

    def is_done(self, question_id: str) -> bool:
        return question_id in self.progress

    def append(self, questions: Iterable[QuestionSteps]) -> None:
        """Store finished questions: their kept steps first, then their progress lines."""
        questions = list(questions)
        _append_lines(
            self.samples_path,
            (json.dumps(record) for q in questions for record in q.kept),
        )
        rows = [{"question_id": q.question_id, "steps": q.steps, "kept": len(q.kept)}
                for q in questions]
        _append_lines(self.progress_path, (json.dumps(row) for row in rows))
        self.progress.update((row["question_id"], row) for row in rows)

    def totals(self) -> dict[str, int]:
        """Questions finished, steps scored and steps kept so far."""
        return {
            "questions": len(self.progress),
            "steps": sum(row["steps"] for row in self.progress.values()),
            "kept": sum(row["kept"] for row in self.progress.values()),
        }
