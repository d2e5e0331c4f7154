"""Read JSON Lines bytes into rows, naming the file and line of anything malformed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError


def iter_rows(data: bytes, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (1-based line number, row object) for each non-blank line of JSONL bytes.

    A UTF-8 byte-order mark at the start is allowed. Raises EvalkitError for an empty file, a
    line that is not UTF-8 or not JSON, or a line that holds something other than an object.
    """
    if not data.strip():
        raise EvalkitError(f"{path} is empty; give a JSONL file with one JSON object per line")
    # Split on "\n" only: JSON text cannot hold a raw newline, while str.splitlines() would also
    # split on form feeds and other separators.
    for line_no, raw in enumerate(data.split(b"\n"), start=1):
        if raw.strip():
            yield line_no, parse_row(raw, path, line_no, "fix that line")


def parse_row(raw: bytes, path: Path, line_no: int, not_json_fix: str) -> dict[str, Any]:
    """One JSONL line as an object; the first line may start with a UTF-8 byte-order mark.

    Raises EvalkitError naming the file and line when the bytes are not UTF-8, not JSON (the
    message ends with `not_json_fix`) or not an object.
    """
    try:
        row = json.loads(raw.decode("utf-8-sig" if line_no == 1 else "utf-8"))
    except UnicodeDecodeError:
        raise EvalkitError(
            f"{path} line {line_no} is not UTF-8; re-save the file as UTF-8"
        ) from None
    except json.JSONDecodeError as err:
        raise EvalkitError(
            f"{path} line {line_no} is not valid JSON ({err.msg}, column {err.colno}); "
            f"{not_json_fix}"
        ) from None
    if not isinstance(row, dict):
        raise EvalkitError(
            f"{path} line {line_no} is a JSON {type(row).__name__}, not an object; "
            "write one JSON object per line"
        )
    return row
