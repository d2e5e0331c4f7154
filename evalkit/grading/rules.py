"""Where evalkit's verdict differs from math-verify's, by documented rule (docs/grading.md).

Refusals, checked before math-verify:

* **Unevaluated** (class "restated expression"): against a gold that is a number without
  functions, an answer that still applies trigonometric or logarithmic functions to numbers
  (``\\frac{\\sin 100^\\circ (1 + 4\\cos 100^\\circ)}{\\cos 100^\\circ}`` for ``-\\sqrt{3}``)
  has not computed the answer, even when it is numerically equal.
* **Normal form**: against a gold equation with integer coefficients whose greatest common
  divisor is 1 (``5x - 7y + 11z + 4 = 0``, the form such problems ask for), the same equation
  multiplied by another integer (``20x - 28y + 44z + 16 = 0``) is not the answer.

Acceptances, tried when math-verify says unequal:

* **Choice label**: a gold that is an option label (``\\text{(B)}``) is matched by an answer
  that names the option, with or without the option's text (``\\textbf{(B)}\\ 3(1+r/10)^x=7``).
* **Same values** (class 7, equivalent functions): two expressions with variables that take
  the same value at three fixed points (complex arithmetic, mixed signs) are equal, so
  ``\\frac{1}{2a}(e^{at}-e^{-at})`` is ``\\frac{\\sinh(at)}{a}`` and a rationalised fraction is
  the fraction. Arbitrary constants may be renamed (``C_1``, ``C_2`` swapped), a named answer
  is its right-hand side, and a function defined with another variable is the same function
  (``f(x) = x`` is ``f(z) = z``).
* **Same differential equation** (class 4): two equations in the same highest time derivative
  (``\\dot{v}``, ``\\ddot{\\theta}``) are the same when solving each for it gives the same
  values (``m\\dot{v} + bv = f`` is ``\\dot{v} = f/m - bv/m``).
* **Measured quantities** (class 6, the ``significant-figures`` numeric policy of a task):
  :mod:`evalkit.grading.quantities`.
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal

import sympy
from sympy.core.function import AppliedUndef

from evalkit.grading.evaluation import close, evaluate, values_at
from evalkit.grading.parsing import Forms, is_number, parsed
from evalkit.grading.quantities import TOLERANCE, quantity, same_quantity

_FUNCTION = re.compile(r"\\(?:arcsin|arccos|arctan|sinh|cosh|tanh|sin|cos|tan|cot|sec|csc|log|"
                       r"ln|lg)(?![A-Za-z])")
_LABEL = r"(?:\\(?:text|textbf|mathrm|mathbf)\s*\{\s*)?\(([A-J])\)"
_GOLD_LABEL = re.compile(rf"\s*{_LABEL}\s*\}}?\s*")
_ANSWER_LABEL = re.compile(rf"\s*{_LABEL}")
_DECIMAL = re.compile(r"\d\.\d")
# A constant of integration: C, C_1, C_{2} (latex2sympy writes names in lower case).
_CONSTANT = re.compile(r"c(?:_\{?\d+\}?)?")
# The left side of a named answer: a letter or command, with subscripts, primes, dots or an
# argument list (r, v_0, x(t); \frac{dM}{dt} is not a name).
_NAME = re.compile(r"(?:\\[A-Za-z]+|[A-Za-z])(?:_\{?[\w\\{} ]+\}?)?'*(?:\([\w, \\]*\))?")


def refused(forms: Forms) -> bool:
    """True if the answer is not an answer to this gold whatever its value (module docstring)."""
    if not (forms.gold_parsed and forms.answer_parsed):
        return False
    gold, answer = forms.gold_parsed[0], forms.answer_parsed[0]
    if (
        is_number(gold)
        and _FUNCTION.search(forms.gold) is None
        and _FUNCTION.search(forms.answer) is not None
        and is_number(answer)
    ):
        return True
    try:
        return _integer_multiple(gold, answer)
    except Exception:  # sympy failing on a pair refuses nothing
        return False


def accepted(forms: Forms, numeric: str) -> bool:
    """True if a rule beyond math-verify's makes the answer equal to the gold."""
    label = _GOLD_LABEL.fullmatch(forms.gold)
    if label is not None:
        answer = _ANSWER_LABEL.match(forms.answer)
        return answer is not None and answer[1] == label[1]
    if numeric == "significant-figures" and same_measurement(forms):
        return True
    if not (forms.gold_parsed and forms.answer_parsed):
        return False
    gold, answer = forms.gold_parsed[0], forms.answer_parsed[0]
    try:
        return same_values(gold, answer) or same_differential_equation(gold, answer)
    except Exception:  # sympy failing on a pair is no equality
        return False


def _integer_multiple(gold: object, answer: object) -> bool:
    """The answer equation is the gold's, in lowest integer terms, times an integer k, |k| > 1."""
    if not (isinstance(gold, sympy.Eq) and isinstance(answer, sympy.Eq)):
        return False
    symbols = sorted(gold.free_symbols | answer.free_symbols, key=lambda s: s.name)
    if not symbols:
        return False
    g = sympy.Poly(gold.lhs - gold.rhs, *symbols)
    a = sympy.Poly(answer.lhs - answer.rhs, *symbols)
    if not (g.domain.is_ZZ and a.domain.is_ZZ) or g.monoms() != a.monoms():
        return False
    gold_coefficients, answer_coefficients = g.coeffs(), a.coeffs()
    if sympy.gcd_list(gold_coefficients) != 1:
        return False
    k = sympy.Rational(answer_coefficients[0], gold_coefficients[0])
    return (
        k.is_integer
        and abs(k) > 1
        and all(b == k * c for b, c in zip(answer_coefficients, gold_coefficients, strict=True))
    )


def same_values(gold: object, answer: object) -> bool:
    """Class 7: equal values at the evaluation points (module docstring)."""
    if isinstance(gold, sympy.Eq) and isinstance(answer, sympy.Eq):
        gold, answer = _same_argument(gold, answer)
    elif isinstance(answer, sympy.Eq) and not isinstance(gold, sympy.Eq):
        answer = answer.rhs  # a named answer: x(t) = ..., H(\omega) = ...
    if isinstance(gold, sympy.Eq) or not _plain(gold) or not _plain(answer):
        return False
    if not (gold.free_symbols or answer.free_symbols):
        return False  # numbers: math-verify's comparison and the relative guard decide
    if gold == answer:
        return True
    return any(_equal_at_points(gold, renamed) for renamed in _constants_renamed(gold, answer))


def same_differential_equation(gold: object, answer: object) -> bool:
    """Class 4: both equations solved for their common highest derivative agree."""
    if not (isinstance(gold, sympy.Eq) and isinstance(answer, sympy.Eq)):
        return False
    for prefix in ("ddot{", "dot{"):
        common = sorted(
            {s.name for s in gold.free_symbols if s.name.startswith(prefix)}
            & {s.name for s in answer.free_symbols if s.name.startswith(prefix)}
        )
        if common:
            return _solved_equal(gold, answer, common[0])
    return False


def same_measurement(forms: Forms) -> bool:
    """Class 6 (:mod:`evalkit.grading.quantities`): two decimals agree at the fewer significant
    figures; a number against an exact value agrees at the gold's; an expression with a rounded
    coefficient is within the tolerance of the gold."""
    answer_text = right_side(forms.answer)
    gold_value, answer_value = quantity(forms.gold), quantity(answer_text)
    if gold_value is not None and answer_value is None:
        answer_value = _exact_value(answer_text)
    if gold_value is not None and answer_value is not None:
        return same_quantity(gold_value, answer_value)
    if _DECIMAL.search(forms.gold) is None:
        return False
    answer_parsed = parsed(answer_text)
    return bool(forms.gold_parsed and answer_parsed) and _ratio_near_one(
        forms.gold_parsed[0], answer_parsed[0]
    )


def right_side(text: str) -> str:
    """What follows the ``=`` of a named answer (``r = 3.3 \\times 10^{12}``,
    ``v(t) = ...``); ``text`` itself when it is not one name equal to one value."""
    name, equals, value = text.partition("=")
    if equals and "=" not in value and _NAME.fullmatch(name.strip()):
        return value.strip()
    return text


def _plain(value: object) -> bool:
    """An expression compared by value: not a relation, set, tuple or matrix."""
    return isinstance(value, sympy.Expr) and not isinstance(value, sympy.MatrixBase)


def _equal_at_points(gold: sympy.Expr, answer: sympy.Expr) -> bool:
    rows = values_at((gold, answer))
    return all(row is not None and close(*row) for row in rows)


def _constants_renamed(gold: sympy.Expr, answer: sympy.Expr) -> list[sympy.Expr]:
    """``answer``, and ``answer`` with its constants of integration permuted onto the gold's
    (C_1 and C_2 swapped) when both have the same two or three."""
    gold_constants = sorted(s.name for s in gold.free_symbols if _CONSTANT.fullmatch(s.name))
    answer_symbols = {s.name: s for s in answer.free_symbols if _CONSTANT.fullmatch(s.name)}
    if not 2 <= len(gold_constants) <= 3 or sorted(answer_symbols) != gold_constants:
        return [answer]
    return [
        answer.xreplace({answer_symbols[a]: sympy.Symbol(b) for a, b in
                         zip(gold_constants, order, strict=True)})
        for order in itertools.permutations(gold_constants)
    ]


def _same_argument(gold: sympy.Eq, answer: sympy.Eq) -> tuple[object, object]:
    """Two function definitions ``f(z) = ...`` and ``f(x) = ...``: their right-hand sides,
    the answer's written in the gold's variable; otherwise the equations themselves."""
    if not (isinstance(gold.lhs, AppliedUndef) and isinstance(answer.lhs, AppliedUndef)):
        return gold, answer
    if gold.lhs.func.__name__ != answer.lhs.func.__name__:
        return gold, answer
    if len(gold.lhs.args) != 1 or len(answer.lhs.args) != 1:
        return gold, answer
    g, a = gold.lhs.args[0], answer.lhs.args[0]
    if not (isinstance(g, sympy.Symbol) and isinstance(a, sympy.Symbol)):
        return gold, answer
    return gold.rhs, answer.rhs.xreplace({a: g})


def _solved_equal(gold: sympy.Eq, answer: sympy.Eq, name: str) -> bool:
    solutions = []
    for equation in (gold, answer):
        unknown = next(s for s in equation.free_symbols if s.name == name)
        solved = sympy.solve(equation, unknown, dict=True)
        if len(solved) != 1 or unknown not in solved[0]:
            return False
        solutions.append(solved[0][unknown])
    return _equal_at_points(*solutions)


def _exact_value(text: str) -> tuple[Decimal, int] | None:
    """An exact number's value, as a quantity stated to 15 significant figures."""
    answer = parsed(text)
    if not answer or not is_number(answer[0]):
        return None
    value = evaluate(answer[0], {})
    if value is None or value.imag:
        return None
    return Decimal(repr(value.real)), 15


def _ratio_near_one(gold: object, answer: object) -> bool:
    """Two expressions whose ratio is one constant within the quantities' tolerance."""
    if not (isinstance(gold, sympy.Expr) and isinstance(answer, sympy.Expr)):
        return False
    rows = values_at((gold, answer))
    if any(row is None for row in rows):
        return False
    ratios = [row[1] / row[0] for row in rows if row is not None and row[0] != 0]
    return len(ratios) == 3 and all(close(r, ratios[0]) for r in ratios) and abs(
        ratios[0] - 1
    ) <= float(TOLERANCE)
