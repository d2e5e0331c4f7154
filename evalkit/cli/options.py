"""Parsing of command-line values shared by several commands."""

from __future__ import annotations

from evalkit.errors import EvalkitError


def int_list(value: str | None, option: str = "--k") -> list[int]:
    """`"1,8"` -> `[1, 8]`; empty or None -> `[]`; anything else names the option in its error."""
    if not value:
        return []
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError as err:
        raise EvalkitError(
            f"{option} expects comma-separated integers like 1,8, got {value!r}"
        ) from err
