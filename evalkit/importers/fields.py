"""Reading source files one line at a time, and the typed fields adapters take from a row.

Every failure is an :class:`EvalkitError` whose one line names the file, the line and the fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.tasks.jsonl import parse_row

_MISSING = object()


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (1-based line number, object) for each non-blank line, never holding the file."""
    try:
        handle = open(path, "rb")
    except OSError as err:
        raise EvalkitError(f"cannot read {path} ({err.strerror}); check the path") from None
    seen = False
    with handle:
        for line_no, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            row = parse_row(raw, path, line_no, "give a JSON Lines file (one object per "
                            "line) or the --format that matches the file")
            seen = True
            yield line_no, row
    if not seen:
        raise EvalkitError(f"{path} is empty: give the file the tool wrote, with at least one row")


def lookup(row: dict[str, Any], path: str) -> Any:
    """The value at a dotted path ("6b_finetuning.solution", "choices.0.text"), or _MISSING.

    A key that itself holds dots is found whole before the path is split.
    """
    if path in row:
        return row[path]
    value: Any = row
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def require(row: dict[str, Any], path: str, where: str, option: str) -> Any:
    """The value at ``path``; a missing one names the fields the row has and the option to fix."""
    value = lookup(row, path)
    if value is _MISSING:
        keys = ", ".join(list(row)[:12]) or "none"
        raise EvalkitError(
            f"{where} has no field {path!r} (its fields: {keys}); pass {option} naming the "
            "field that holds it (dotted paths like a.b reach nested fields)"
        )
    return value


def optional(row: dict[str, Any], path: str) -> Any:
    """The value at ``path``, or None when the row does not have it."""
    value = lookup(row, path)
    return None if value is _MISSING else value


def texts(value: Any, path: str, where: str) -> list[str]:
    """A response field as a list of completions: a string, or a list of strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    if isinstance(value, list) and value:
        kinds = sorted({type(v).__name__ for v in value})
        raise EvalkitError(
            f"{where}: field {path!r} is a list of mixed types ({', '.join(kinds)}); a response "
            "list must hold only strings: fix the file or point the field at the text"
        )
    shown = "an empty list" if value == [] else f"a {type(value).__name__}"
    raise EvalkitError(
        f"{where}: field {path!r} holds {shown}, not a completion; point the response field at "
        "a string or a list of strings"
    )


def label(value: Any, path: str, where: str) -> bool:
    """A verdict: true/false, or a 0/1 score (1.0 from exact_match or acc)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    raise EvalkitError(
        f"{where}: label field {path!r} holds {value!r}; a label must be true/false or 0/1: "
        "point --label-field at the verdict"
    )


def labels(value: Any, count: int, path: str, where: str) -> list[bool]:
    """One verdict per completion: a list as long as the responses, or one value for one."""
    values = value if isinstance(value, list) else [value]
    if len(values) != count:
        raise EvalkitError(
            f"{where}: label field {path!r} has {len(values)} verdicts for {count} responses; "
            "point --label-field at one verdict per response"
        )
    return [label(v, path, where) for v in values]


def scalar_text(value: Any, path: str, where: str) -> str:
    """A question, id or gold: a string or a number, as text."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise EvalkitError(
            f"{where}: field {path!r} holds a {type(value).__name__}; it must be text or a "
            "number: point the option at the field that holds it"
        )
    return value.strip() if isinstance(value, str) else str(value)
