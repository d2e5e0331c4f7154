"""Expressions evaluated where their variables take fixed values (for judging by value).

Variables are matched by name (math-verify may give two symbols of one name different
assumptions), and each takes a fixed value per point; the points mix signs and are not
integers, so a function is rarely at a pole or a special value there. A variable named ``i``
is the imaginary unit (latex2sympy reads ``i`` as a variable).
"""

from __future__ import annotations

import cmath

import sympy

# Per point, the value of the i-th variable (sorted by name) is BASE + STEP * i.
POINTS = ((1.1234567, 0.1234567), (0.7389056, 0.371), (-0.6931472, 0.2718282))
_DIGITS = 30


def values_at(
    expressions: tuple[sympy.Expr, ...], points: tuple[tuple[float, float], ...] = POINTS
) -> list[tuple[complex, ...] | None]:
    """Per point, the values of the expressions there, or None where one of them has no finite
    number for a value (a function without a definition, a pole, an overflow)."""
    names = sorted({symbol.name for e in expressions for symbol in e.free_symbols})
    rows: list[tuple[complex, ...] | None] = []
    for base, step in points:
        values = {name: sympy.Float(base + step * i, _DIGITS) for i, name in enumerate(names)}
        found = [evaluate(expression, values) for expression in expressions]
        row = tuple(value for value in found if value is not None)
        rows.append(row if len(row) == len(found) else None)
    return rows


def evaluate(expression: sympy.Expr, values: dict[str, sympy.Float]) -> complex | None:
    """``expression`` with each variable set to ``values[name]``, as a finite complex
    number, or None."""
    substitution = {
        symbol: sympy.I if symbol.name == "i" else values[symbol.name]
        for symbol in expression.free_symbols
    }
    try:
        value = complex(sympy.N(expression.xreplace(substitution), _DIGITS))
    except (TypeError, ValueError, ArithmeticError, AttributeError):
        return None
    return value if cmath.isfinite(value) else None


def close(a: complex, b: complex, relative: float = 1e-9) -> bool:
    return abs(a - b) <= relative * (1 + abs(a) + abs(b))
