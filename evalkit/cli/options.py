"""Parsing and checking of command-line values shared by several commands."""

from __future__ import annotations

import math
from typing import Any

import click

from evalkit.errors import EvalkitError


def int_list(value: str | None, option: str = "--k") -> list[int]:
    """`"1,8"` -> `[1, 8]`; empty or None -> `[]`; anything else names the option in its error."""
    if not value:
        return []
    try:
        numbers = [int(part) for part in value.split(",") if part.strip()]
    except ValueError as err:
        raise EvalkitError(
            f"{option} expects comma-separated integers like 1,8, got {value!r}"
        ) from err
    if any(number < 1 for number in numbers):
        raise EvalkitError(f"{option} values must be positive, got {value!r}")
    return numbers


class FiniteFloat(click.ParamType):
    """A float that must be finite (no nan, no inf) and inside its range; click's FloatRange
    lets nan through, since every comparison with nan is false."""

    name = "number"

    def __init__(self, low: float | None = None, high: float | None = None, *,
                 low_open: bool = False, high_open: bool = False) -> None:
        self.low, self.high = low, high
        self.low_open, self.high_open = low_open, high_open

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        too_low = self.low is not None and (number < self.low or
                                            (self.low_open and number == self.low))
        too_high = self.high is not None and (number > self.high or
                                              (self.high_open and number == self.high))
        if too_low or too_high:
            self.fail(f"{value!r} is not in {self._range()}", param, ctx)
        return number

    def _range(self) -> str:
        low = "(" if self.low_open else "["
        high = ")" if self.high_open else "]"
        return (f"{low}{'-inf' if self.low is None else f'{self.low:g}'}, "
                f"{'inf' if self.high is None else f'{self.high:g}'}{high}")
