"""Grades files: one JSON line per graded sample, written whole and atomically by the grade
stage's owner, and the external labels of imported runs (the producer's own verdicts).

A grade line carries a ``key``: a hash of everything its verdict depends on (completion text,
finish reason, token ids, gold, answer kind and the grader's version and policies), so a rerun
reuses the verdict, answer class and answer position of every unchanged sample instead of
grading it again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from evalkit.errors import EvalkitError
from evalkit.records import GRADE_STATUSES
from evalkit.runfolder.atomic import atomic_write

EXTERNAL_SUFFIX = ".external.jsonl"
T = TypeVar("T")


@dataclass(frozen=True)
class GradeRow:
    """One line of a grades file."""

    problem_id: str
    sample_index: int
    gold: str
    status: str
    extracted: str | None
    rule: str | None
    detail: str | None
    num_tokens: int
    finish_reason: str
    answer_class: int | None = None  # equivalence class of the answer within its problem
    key: str | None = None  # what the verdict depends on (see the module docstring)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_TYPES: dict[str, tuple[type, ...]] = {
    "problem_id": (str,), "sample_index": (int,), "gold": (str,), "status": (str,),
    "extracted": (str, type(None)), "rule": (str, type(None)), "detail": (str, type(None)),
    "num_tokens": (int,), "finish_reason": (str,), "answer_class": (int, type(None)),
    "key": (str, type(None)),
}
_REQUIRED = ("problem_id", "sample_index", "gold", "status", "num_tokens", "finish_reason")


def _row(data: Any) -> GradeRow:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    for name in _REQUIRED:
        if name not in data:
            raise ValueError(f"no field {name!r}")
    for name, kinds in _TYPES.items():
        value = data.get(name)
        if name in data and (not isinstance(value, kinds) or isinstance(value, bool)):
            raise ValueError(f"field {name!r} has the wrong type ({type(value).__name__})")
    if data["status"] not in GRADE_STATUSES:
        raise ValueError(f"unknown status {data['status']!r}")
    return GradeRow(**{f.name: data.get(f.name) for f in fields(GradeRow)})


def write_grades(path: Path, rows: Iterable[GradeRow]) -> None:
    """Replace the grades file with ``rows`` (ASCII JSON lines), atomically."""
    text = "".join(json.dumps(row.to_json(), ensure_ascii=True) + "\n" for row in rows)
    atomic_write(path, text)


def read_grades(path: Path) -> list[GradeRow]:
    """Every row of a grades file; one line naming file and line where one is damaged."""
    return list(_json_lines(path, "grades", _row))


@dataclass(frozen=True)
class ExternalLabel:
    """The producer's verdict and extracted answer of one imported sample."""

    problem_id: str
    sample_index: int
    correct: bool | None
    extracted: str | None


def external_path(grades_file: Path) -> Path:
    return grades_file.with_name(grades_file.name.removesuffix(".jsonl") + EXTERNAL_SUFFIX)


def write_external(path: Path, labels: Iterable[ExternalLabel]) -> None:
    text = "".join(json.dumps(asdict(label), ensure_ascii=True) + "\n" for label in labels)
    atomic_write(path, text)


def read_external(path: Path) -> Iterator[ExternalLabel]:
    """The external labels in file order (streamed: imported runs can be large)."""
    return _json_lines(path, "external labels", _label)


def _label(data: Any) -> ExternalLabel:
    try:
        return ExternalLabel(str(data["problem_id"]), int(data["sample_index"]),
                             data.get("correct"), data.get("extracted"))
    except (KeyError, TypeError) as err:
        raise ValueError(f"not a label ({err!r})") from None


def _json_lines(path: Path, what: str, convert: Callable[[Any], T]) -> Iterator[T]:
    try:
        handle = open(path, "rb")
    except OSError as err:
        raise EvalkitError(f"cannot read {what} {path} ({err.strerror}); is this a run folder?"
                           ) from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                item = convert(_parse(raw))
            except ValueError as err:
                raise EvalkitError(
                    f"{path} line {number} is damaged ({err}): regrade the run "
                    "(`evalkit regrade RUN`) to rewrite its grades"
                ) from None
            yield item


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"not valid UTF-8 at byte {err.start}") from None
