"""Decide whether an extracted answer equals the gold answer.

Math answers are judged by math-verify (``verify`` with its default comparison settings) on
both sides normalised and parsed by :mod:`~evalkit.grading.parsing`; then evalkit's own rules
(:mod:`~evalkit.grading.rules`) refuse an unevaluated answer and accept what math-verify misses
(an option label, equal values of two functions, one differential equation written two ways,
measured quantities under a task's ``significant-figures`` policy).

* Percent policy: a trailing ``%`` / ``\\%`` is dropped on both sides, so ``9%`` == ``9`` and
  ``12.5%`` == ``12.5``, while ``9%`` != ``0.09``; benchmarks state percentages as the number
  before the sign. With ``percent="strict"`` a trailing percent means "divided by 100" on both
  sides instead: ``9%`` == ``0.09`` and ``9%`` != ``9``.
* Numeric tolerance (``precision``, default 6): when either side is a decimal, math-verify
  rounds both to ``precision`` decimal places before comparing (``2.5`` == ``2.5000004``,
  ``1/3`` == ``0.3333333``, ``1/3`` != ``0.3333``); integers, fractions and symbolic
  expressions compare exactly. Rounding to decimal places makes all tiny numbers equal
  (math-verify alone says ``1/2004!`` == ``1/2006!``, ``10^{-30}`` == ``10^{-31}``,
  ``0.0000001`` == ``0.0000002``), so an equality of two numbers is kept only if they also
  agree to a relative ``10**(1 - precision)`` (:func:`numbers_agree`).
* Fast paths give math-verify's verdict without running it (identical strings, plain numbers,
  the relative guard first, a numeric reject before ``simplify``); they are tested against the
  full path.

Choice answers compare letters directly.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

import sympy
from math_verify import verify
from sympy.matrices.expressions import MatrixExpr

from evalkit.errors import EvalkitError
from evalkit.grading.evaluation import close, values_at
from evalkit.grading.parsing import CACHE_SIZE, Forms, answer_forms
from evalkit.grading.rules import accepted, refused

DEFAULT_PRECISION = 6
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_CHOICE = re.compile(r"\(?([A-Ja-j])\)?")


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
    gold: str, answer: str, precision: int = DEFAULT_PRECISION, percent: str = "strip",
    numeric: str = "exact",
) -> bool:
    """True if ``answer`` equals ``gold``; raises if the gold is unusable. ``numeric`` is the
    task's numeric policy ("exact" or "significant-figures"). Each (gold, answer) is judged once
    per process."""
    forms = answer_forms(gold, answer, percent)
    if not forms.gold_parsed:
        raise EvalkitError(f"the gold answer {gold!r} could not be parsed; fix it in the task")
    if forms.gold_goes_on != forms.answer_goes_on or refused(forms):
        return False
    return _verified(forms, precision, fast=True) or accepted(forms, numeric)


def _judge_math(gold: str, answer: str, precision: int, percent: str, fast: bool) -> bool:
    """math-verify's verdict on a pair (no rules of evalkit's own beyond the normalisation);
    ``fast=False`` takes math-verify's path for every pair (the reference the fast paths are
    tested against)."""
    forms = answer_forms(gold, answer, percent)
    if not forms.gold_parsed:
        raise EvalkitError(f"the gold answer {gold!r} could not be parsed; fix it in the task")
    return forms.gold_goes_on == forms.answer_goes_on and _verified(forms, precision, fast)


def _verified(forms: Forms, precision: int, fast: bool) -> bool:
    gold_parsed = list(forms.gold_parsed)
    if fast:
        if forms.gold == forms.answer:
            return True
        decided = plain_numbers_equal(forms.gold, forms.answer, precision)
        if decided is not None:
            return decided
    answer_parsed = list(forms.answer_parsed)
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
    """True if two plain expressions, one with variables, take different values at one of the
    evaluation points (:mod:`~evalkit.grading.evaluation`): math-verify would compare them by
    ``simplify(gold - answer) == 0`` (its slowest step), which cannot hold then. Symbols alone,
    relations, sets, tuples and matrices are compared by other rules of math-verify: False."""
    if not (isinstance(gold, sympy.Expr) and isinstance(answer, sympy.Expr)):
        return False
    if any(isinstance(side, (sympy.Symbol, MatrixExpr)) for side in (gold, answer)):
        return False
    if not (gold.free_symbols or answer.free_symbols):
        return False
    return any(row is not None and not close(*row) for row in values_at((gold, answer)))


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
