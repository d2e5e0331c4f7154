"""User tasks: a JSONL file of problems, optionally described by a small YAML spec.

A spec (.yaml/.yml) holds the keys ``data`` (the JSONL path, relative to the spec file),
``question_field``, ``answer_field``, ``answer_kind``, ``id_field``, ``name`` and
``default_max_tokens``; only ``data`` is required.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from evalkit.errors import EvalkitError
from evalkit.records import Problem

from . import answers
from .task import RowError, RowParser, Task

CUSTOM_SUFFIXES = (".jsonl", ".yaml", ".yml")
ANSWER_KINDS = ("math", "choice")
_SPEC_SUFFIXES = (".yaml", ".yml")
_SPEC_KEYS = (
    "data",
    "question_field",
    "answer_field",
    "answer_kind",
    "id_field",
    "name",
    "default_max_tokens",
)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def load_custom_task(
    path: str | Path,
    question_field: str = "question",
    answer_field: str = "answer",
    answer_kind: str = "math",
    id_field: str | None = None,
    name: str | None = None,
    default_max_tokens: int = 2048,
) -> Task:
    """A Task over the user's JSONL file, or over the file a .yaml/.yml spec names.

    Keys a spec gives override the arguments. The name defaults to the file's stem; ids are
    the `id_field` values if one is given, else the 0-based row index. A "choice" gold must be
    a letter A-J or a 0-based index; the question text must then list the options itself.
    """
    path = Path(path)
    if path.suffix.lower() in _SPEC_SUFFIXES:
        spec = _read_spec(path)
        data_path = path.parent / spec["data"]
        question_field = spec.get("question_field", question_field)
        answer_field = spec.get("answer_field", answer_field)
        answer_kind = spec.get("answer_kind", answer_kind)
        id_field = spec.get("id_field", id_field)
        name = spec.get("name", name)
        default_max_tokens = spec.get("default_max_tokens", default_max_tokens)
    else:
        data_path = path
    if not data_path.is_file():
        raise EvalkitError(f"task file {data_path} does not exist; check the path")
    name = name if name is not None else path.stem
    _check_settings(path, name, answer_kind, default_max_tokens)
    kind_text = " (a letter A-J or a 0-based index)" if answer_kind == "choice" else ""
    return Task(
        name=name,
        source=str(data_path.resolve()),
        licence="unknown (user task)",
        gold_format=f"`{answer_field}` as given{kind_text}",
        variant=f"{name}: user task from {data_path.name}",
        answer_kind=answer_kind,
        default_max_tokens=default_max_tokens,
        path=data_path.resolve(),
        expected_sha256=None,
        parse_row=_row_parser(question_field, answer_field, answer_kind, id_field),
    )


def _read_spec(path: Path) -> dict[str, Any]:
    """The checked keys of a task spec file."""
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise EvalkitError(
            f"cannot read task spec {path} ({err.strerror}); check the path"
        ) from None
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or "syntax error"
        raise EvalkitError(f"task spec {path} is not valid YAML ({problem}); fix it") from None
    if not isinstance(spec, dict):
        raise EvalkitError(f"task spec {path} must be a mapping with at least a 'data' key")
    spec = {key: value for key, value in spec.items() if value is not None}  # "key: ~" = unset
    unknown = sorted(str(key) for key in spec if key not in _SPEC_KEYS)
    if unknown:
        raise EvalkitError(
            f"task spec {path} has unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(_SPEC_KEYS)}"
        )
    if not isinstance(spec.get("data"), str):
        raise EvalkitError(f"task spec {path} needs 'data: path/to/file.jsonl' (relative to it)")
    for key in ("question_field", "answer_field", "answer_kind", "id_field", "name"):
        if key in spec and not isinstance(spec[key], str):
            raise EvalkitError(f"task spec {path}: '{key}' must be a string")
    return spec


def _check_settings(path: Path, name: str, answer_kind: str, max_tokens: Any) -> None:
    if not _NAME.fullmatch(name):
        raise EvalkitError(
            f"task name {name!r} (from {path}) must be letters, digits, '_', '.' or '-'; "
            "rename the file or set 'name' in a .yaml spec"
        )
    if answer_kind not in ANSWER_KINDS:
        raise EvalkitError(
            f"answer_kind {answer_kind!r} of task {name} is not one of {', '.join(ANSWER_KINDS)}"
        )
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens <= 0:
        raise EvalkitError(f"default_max_tokens of task {name} must be a positive integer")


def _row_parser(
    question_field: str, answer_field: str, answer_kind: str, id_field: str | None
) -> RowParser:
    """The parser of one user row: question and answer from the named fields."""

    def parse(row: dict[str, Any], index: int) -> Problem:
        question = _field(row, question_field, "question_field")
        if not isinstance(question, str) or not question.strip():
            raise RowError(f"field {question_field!r} must be a non-empty string")
        gold = _gold(_field(row, answer_field, "answer_field"), answer_field, answer_kind)
        problem_id = str(index)
        if id_field is not None:
            raw_id = _field(row, id_field, "id_field")
            if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
                raise RowError(f"field {id_field!r} must be a string or an integer")
            problem_id = str(raw_id).strip()
            if not problem_id:
                raise RowError(f"field {id_field!r} is empty")
        return Problem(id=problem_id, question=question.strip(), gold=gold, answer_kind=answer_kind)

    return parse


def _field(row: dict[str, Any], key: str, setting: str) -> Any:
    if key not in row:
        raise RowError(
            f"no field {key!r} (fields: {', '.join(row) or 'none'}); "
            f"add it to every row or set {setting}"
        )
    return row[key]


def _gold(value: Any, field_name: str, answer_kind: str) -> str:
    """A user's gold as a string; for "choice" tasks a letter A-J."""
    try:
        if answer_kind == "choice":
            if isinstance(value, int) and not isinstance(value, bool):
                return answers.choice_gold(value, len(answers.CHOICE_LETTERS))
            letter = str(value).strip().strip("().").upper()
            if len(letter) != 1 or letter not in answers.CHOICE_LETTERS:
                raise ValueError(f"{value!r} is not a letter A-J or a 0-based index")
            return letter
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return answers.number_gold(value)
        raise ValueError(f"{value!r} is not a non-empty string or a number")
    except ValueError as err:
        raise RowError(f"field {field_name!r}: {err}") from None
