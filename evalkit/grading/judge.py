"""Decide whether an extracted answer equals the gold answer.

Math answers are judged by math-verify (``parse`` + ``verify`` with its default comparison
settings) after a light normalisation of both sides:

* Delimiters: a string is parsed as LaTeX math (``$...$``), and as plain text only if that
  finds nothing, so a bare gold like ``2\\sqrt{2}`` is never read as just ``2``.
* Numbers: currency signs and thousands separators are dropped, so a gold ``1450000`` matches
  ``1,450,000``, ``$1,450,000`` and ``1450000.00``.
* Percent policy: a trailing ``%`` / ``\\%`` is dropped on both sides, so ``9%`` == ``9`` and
  ``12.5%`` == ``12.5``, while ``9%`` != ``0.09``. (math-verify alone treats ``9%`` as equal to
  both ``9`` and ``0.09`` but ``12.5%`` as unequal to ``12.5``; benchmarks state percentages as
  the number before the sign, which this policy follows consistently.)
  With ``percent="strict"`` a trailing percent means "divided by 100" on both sides instead:
  ``9%`` == ``0.09`` and ``9%`` != ``9``.
* Numeric tolerance (``precision``, default 6): when either side is a decimal, math-verify
  rounds both to ``precision`` decimal places before comparing (``2.5`` == ``2.5000004``,
  ``1/3`` == ``0.3333333``, ``1/3`` != ``0.3333``); integers, fractions and symbolic
  expressions compare exactly. Rounding to decimal places makes all tiny numbers equal
  (math-verify alone says ``1/2004!`` == ``1/2006!``, ``10^{-30}`` == ``10^{-31}``,
  ``0.0000001`` == ``0.0000002``), so an equality of two numbers is kept only if they also
  agree to a relative ``10**(1 - precision)`` (:func:`numbers_agree`).

math-verify's own SIGALRM timeouts are switched off here: the caller bounds each judgement
with a wall-clock deadline (see :mod:`evalkit.grading.pool`), which also lets these functions
run off the main thread.

Choice answers compare letters directly.
"""

from __future__ import annotations

import cmath
import logging
import re
from fractions import Fraction
from functools import lru_cache

import sympy
from latex2sympy2_extended.math_normalization import units_regex
from math_verify import (
    ExprExtractionConfig,
    LatexExtractionConfig,
    LatexNormalizationConfig,
    parse,
    verify,
)
from sympy.matrices.expressions import MatrixExpr

from evalkit.errors import EvalkitError
from evalkit.grading.normalise import (
    canonical_number,
    strip_text_units,
    unwrap_math,
    upright_constants,
)

_PERCENT = re.compile(r"\s*\\?%$")
DEFAULT_PRECISION = 6
CACHE_SIZE = 8192  # parsed texts and verdicts kept per process
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_CHOICE = re.compile(r"\(?([A-Ja-j])\)?")
# math-verify's default LaTeX normalisation without its unit removal, which reads any answer
# that ends in "}" after a \text{...} or \mathrm{...} as a unit and cuts it there
# (\frac{\mathrm{e}}{2} -> "\frac{"); evalkit removes units itself (normalise_answer).
_LATEX = LatexExtractionConfig(
    normalization_config=LatexNormalizationConfig(
        basic_latex=True, units=False, malformed_operators=True, nits=True, boxed="all",
        equations=False,
    )
)
_TARGETS = (_LATEX, ExprExtractionConfig())
# An ellipsis standing as an item of a list: "1, 2, 3, \ldots", "\dots, -1, 0".
_LIST_ELLIPSIS = re.compile(
    r"(?:^|,)\s*(?:\\[lc]?dots[bcmio]?|\.\.\.|…)\s*(?=,|$)"
)


class _DropTimeoutDisabledWarning(logging.Filter):
    """math-verify warns once per process that its timeouts are off; they are, on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Timeout is disabled")


for _name in ("math_verify.parser", "math_verify.grader"):
    logging.getLogger(_name).addFilter(_DropTimeoutDisabledWarning())


@lru_cache(maxsize=CACHE_SIZE)
def normalise_answer(text: str, percent: str = "strip") -> str:
    """Apply the delimiter, percent and number policies above to one answer string."""
    text = strip_units(upright_constants(" ".join(unwrap_math(text).split())))
    stripped = _PERCENT.sub("", text)
    if percent == "strict" and stripped != text:
        return f"\\frac{{{canonical_number(stripped) or stripped}}}{{100}}"
    return canonical_number(stripped) or stripped


def strip_units(text: str) -> str:
    """Units after a quantity: trailing ``\\text{}`` / ``\\mathrm{}`` groups
    (:func:`~evalkit.grading.normalise.strip_text_units`), then math-verify's unit words
    ("5 cm", "3 hours"), as math-verify's own unit step removes them."""
    text = strip_text_units(text)
    for _ in range(2):
        stripped = units_regex.sub(r"\1", text)
        if stripped and stripped != text:
            text = stripped
    return text


def parse_answer(text: str, percent: str = "strip") -> list:
    """Parse one answer with math-verify: as LaTeX math first, then as plain text. Each text
    is parsed once per process (a gold is shared by every sample of its problem)."""
    return list(_parsed(normalise_answer(text, percent)))


@lru_cache(maxsize=CACHE_SIZE)
def _parsed(text: str) -> tuple:
    if not text:
        return ()
    return tuple(
        parse(f"${text}$", _TARGETS, parsing_timeout=None)
        or parse(text, _TARGETS, parsing_timeout=None)
    )


def split_list_ellipsis(text: str) -> tuple[str, bool]:
    """``text`` without the ellipsis items of a list, and whether it had one: an endless list
    (``1, 2, 3, \\ldots``) is not the finite list of its first items, and math-verify's
    normalisation would drop the ellipsis silently."""
    inner = unwrap_math(text)
    stripped = _LIST_ELLIPSIS.sub("", inner)
    return (stripped.lstrip(" ,"), True) if stripped != inner else (text, False)


def numbers_agree(gold: object, answer: object, precision: int = DEFAULT_PRECISION) -> bool:
    """False only if both are numbers whose relative difference exceeds
    ``10**(1 - precision)``; anything that is not a pair of numbers agrees."""
    if not (isinstance(gold, sympy.Expr) and isinstance(answer, sympy.Expr)):
        return True
    if not (gold.is_number and answer.is_number):
        return True
    a, b = sympy.N(gold, 30), sympy.N(answer, 30)
    if not (a.is_finite and b.is_finite):
        return True
    scale = max(abs(a), abs(b))
    return bool(scale == 0 or abs(a - b) <= sympy.Float(10) ** (1 - precision) * scale)


@lru_cache(maxsize=CACHE_SIZE)
def judge_math(
    gold: str, answer: str, precision: int = DEFAULT_PRECISION, percent: str = "strip"
) -> bool:
    """True if ``answer`` is mathematically equal to ``gold``; raises if the gold is unusable.

    Fast paths give math-verify's verdict without it: identical normalised strings are equal,
    and two plain numbers are compared by :func:`plain_numbers_equal` when that decides. Each
    (gold, answer) is judged once per process."""
    return _judge_math(gold, answer, precision, percent, fast=True)


def _judge_math(gold: str, answer: str, precision: int, percent: str, fast: bool) -> bool:
    """:func:`judge_math`; ``fast=False`` takes math-verify's path for every pair (the
    reference the fast paths are tested against)."""
    gold, gold_goes_on = split_list_ellipsis(gold)
    answer, answer_goes_on = split_list_ellipsis(answer)
    gold_text = normalise_answer(gold, percent)
    gold_parsed = list(_parsed(gold_text))
    if not gold_parsed:
        raise EvalkitError(f"the gold answer {gold!r} could not be parsed; fix it in the task")
    if gold_goes_on != answer_goes_on:
        return False
    answer_text = normalise_answer(answer, percent)
    if fast:
        if gold_text == answer_text:
            return True
        decided = plain_numbers_equal(gold_text, answer_text, precision)
        if decided is not None:
            return decided
    answer_parsed = list(_parsed(answer_text))
    if fast and not _agree(gold_parsed, answer_parsed, precision):
        return False  # the guard below would refuse whatever math-verify says
    if fast and answer_parsed and _different_functions(gold_parsed[0], answer_parsed[0]):
        return _same_strings(gold_parsed, answer_parsed)
    if not verify(gold_parsed, answer_parsed, float_rounding=precision, timeout_seconds=None):
        return False
    return numbers_agree(gold_parsed[0], answer_parsed[0], precision)


def plain_numbers_equal(gold: str, answer: str, precision: int) -> bool | None:
    """The verdict on two plain decimal numbers ("-12", "3.250"), or None when math-verify must
    decide (not both plain numbers, or too close to call without its rounding).

    Integers compare exactly, as math-verify compares them. Numbers of at most 15 significant
    digits that are exactly equal are equal (math-verify's floats hold 15 digits). Numbers whose
    relative difference is clearly beyond ``10**(1 - precision)`` are unequal: the relative
    guard (:func:`numbers_agree`) refuses them whatever math-verify says."""
    if max(len(gold), len(answer)) > 1000:  # beyond Python's int() limits: let sympy read it
        return None
    if _PLAIN_NUMBER.fullmatch(gold) is None or _PLAIN_NUMBER.fullmatch(answer) is None:
        return None
    if "." not in gold and "." not in answer:
        return int(gold) == int(answer)
    a, b = Fraction(gold), Fraction(answer)
    if a == b:
        return True if max(_digits(gold), _digits(answer)) <= 15 else None
    if abs(a - b) > Fraction(101, 100) * Fraction(10) ** (1 - precision) * max(abs(a), abs(b)):
        return False
    return None


def _digits(number: str) -> int:
    """Significant digits of a plain decimal number."""
    return len(number.lstrip("-").replace(".", "").lstrip("0")) or 1


def _different_functions(gold: object, answer: object) -> bool:
    """True if two plain expressions, one with variables, differ in value where their variables
    are set to two fixed positive values: math-verify would compare them by ``simplify(gold -
    answer) == 0`` (its slowest step), which cannot hold then. Symbols alone, relations, sets,
    tuples and matrices are compared by other rules of math-verify: False for them."""
    if not (isinstance(gold, sympy.Expr) and isinstance(answer, sympy.Expr)):
        return False
    if any(isinstance(side, (sympy.Symbol, MatrixExpr)) for side in (gold, answer)):
        return False
    names = sorted({symbol.name for symbol in gold.free_symbols | answer.free_symbols})
    if not names:
        return False
    for point in (0, 1):
        values = {name: sympy.Float(1 + 0.1234567 * (i + 1) + 0.371 * point, 30)
                  for i, name in enumerate(names)}
        try:
            a, b = (complex(sympy.N(e.xreplace(_by_name(e, values)), 30)) for e in (gold, answer))
        except (TypeError, ValueError, ArithmeticError):
            return False  # not a number there (a function without a value, a pole)
        if not all(map(cmath.isfinite, (a, b))) or abs(a - b) <= 1e-9 * (1 + abs(a) + abs(b)):
            return False
    return True


def _by_name(expr: sympy.Expr, values: dict[str, sympy.Float]) -> dict:
    return {symbol: values[symbol.name] for symbol in expr.free_symbols}


def _same_strings(gold_parsed: list, answer_parsed: list) -> bool:
    """math-verify's verdict on two parses whose expressions differ: equal when their
    normalised strings (the parses' fallbacks) are equal."""
    return any(
        isinstance(g, str) and isinstance(a, str) and g.strip() != "" and g.strip() == a.strip()
        for g in gold_parsed
        for a in answer_parsed
    )


def _agree(gold_parsed: list, answer_parsed: list, precision: int) -> bool:
    """:func:`numbers_agree` of the first parses, True if it cannot be computed."""
    if not (gold_parsed and answer_parsed):
        return True
    try:
        return numbers_agree(gold_parsed[0], answer_parsed[0], precision)
    except Exception:
        return True


def judge_choice(gold: str, answer: str) -> bool:
    """True if both name the same choice letter; raises if the gold is not a letter A-J."""
    match = _CHOICE.fullmatch(gold.strip())
    if match is None:
        raise EvalkitError(f"the gold answer {gold!r} of a choice task is not a letter A-J")
    return match[1].upper() == answer.strip().upper()
