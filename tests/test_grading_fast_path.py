"""The judge's fast paths (identical strings, plain numbers, the relative guard first) give
exactly math-verify's verdicts: checked against the full path over many generated pairs."""

from __future__ import annotations

import signal
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from evalkit.errors import EvalkitError
from evalkit.grading.judge import _judge_math, plain_numbers_equal

SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class _Undecided(BaseException):
    """sympy took longer than REFERENCE_S on the full path: no reference verdict."""


REFERENCE_S = 5  # the grader's workers give a job 10 s; sympy can loop far longer


def _undecided(*_: object) -> None:
    raise _Undecided


def _verdicts(gold: str, answer: str, precision: int = 6, percent: str = "strip") -> tuple:
    """(fast verdict, full-path verdict); an unusable gold raises on both paths. A pair the
    full path cannot decide in REFERENCE_S (``\\log(xy)`` against 300000000: sympy's simplify
    never ends) has no reference and is left out."""
    out = []
    previous = signal.signal(signal.SIGALRM, _undecided)
    try:
        for fast in (True, False):
            signal.alarm(REFERENCE_S)
            try:
                out.append(_judge_math(gold, answer, precision, percent, fast))
            except EvalkitError:
                out.append("unusable gold")
            except _Undecided:
                assume(False)
            finally:
                signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    return tuple(out)


def _decimal(value: Decimal, places: int) -> str:
    return f"{value:.{places}f}"


integers = st.integers(min_value=-(10**18), max_value=10**18)
magnitudes = st.integers(min_value=-8, max_value=12)
decimals = st.builds(
    lambda mantissa, exponent, places: _decimal(Decimal(mantissa).scaleb(exponent), places),
    st.integers(min_value=-(10**9), max_value=10**9),
    magnitudes,
    st.integers(min_value=0, max_value=12),
)
plain = st.one_of(integers.map(str), decimals)


@SETTINGS
@given(gold=plain, answer=plain)
def test_unrelated_plain_numbers(gold: str, answer: str) -> None:
    fast, full = _verdicts(gold, answer)
    assert fast == full


moderate = st.builds(  # 1e-7 .. 1e3: where rounding to 6 places and the guard both matter
    lambda mantissa, exponent: str(Decimal(mantissa).scaleb(exponent)),
    st.integers(min_value=-(10**7), max_value=10**7),
    st.integers(min_value=-7, max_value=-4),
)


@SETTINGS
@given(
    gold=st.one_of(plain, moderate),
    relative=st.sampled_from([0, 1e-12, 1e-9, 1e-7, 1e-6, 2e-6, 9e-6, 1e-5, 1.2e-5, 1e-4, 1e-2]),
    sign=st.sampled_from([1, -1]),
    places=st.integers(min_value=0, max_value=14),
)
def test_plain_numbers_close_to_each_other(
    gold: str, relative: float, sign: int, places: int
) -> None:
    value = Decimal(gold)
    answer = _decimal(value + sign * Decimal(relative) * (abs(value) or Decimal(1)), places)
    fast, full = _verdicts(gold, answer)
    assert fast == full


@SETTINGS
@given(
    value=st.integers(min_value=0, max_value=10**12),
    form=st.sampled_from(["{:,}", "{:_}", "${:,}", "{}.00", "{}%", "0{}", "{}.0", "{:,}.50"]),
    precision=st.sampled_from([3, 6]),
    percent=st.sampled_from(["strip", "strict"]),
)
def test_the_same_number_in_other_forms(value: int, form: str, precision: int, percent: str):
    answer = form.format(value).replace("_", " ")
    fast, full = _verdicts(str(value), answer, precision, percent)
    assert fast == full


EXPRESSIONS = [
    "\\frac{1}{2}", "0.5", "\\dfrac12", "\\sqrt{2}", "2\\sqrt{2}", "\\sqrt{8}", "x+1", "1+x",
    "(1,2)", "[1,2]", "\\{1,2\\}", "1, 2", "2, 1", "x=5", "5", "5.0", "\\pi", "3.14159265",
    "10\\%", "10", "0.1", "\\text{Evelyn}", "Evelyn", "e", "\\mathrm{e}", "\\infty",
    "-\\infty", "\\frac{0}{0}", "\\frac{1}{0}", "-0", "0", "y \\leq 3", "3 \\geq y",
    "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "(-\\infty, 2]", "1, 2, 3, \\ldots",
    "24\\text{ cm}^2", "24", "1,000", "1000", "\\$1,450", "1450", "\\frac{\\mathrm{e}}{2}",
    "10^{-30}", "10^{-31}", "3\\times10^{8}", "300000000", "2^{10}", "1024", "",
    # Expressions with variables: equal ones that only simplify() sees, and unequal ones.
    "\\sin^2 x + \\cos^2 x", "1", "\\frac{x^2-1}{x-1}", "x - 1", "(x+1)^2", "x^2+2x+1",
    "\\sqrt{x^2}", "|x|", "\\log(xy)", "\\log x + \\log y", "e^{x} e^{y}", "e^{x+y}",
    "\\frac{\\sinh(at)}{a}", "\\frac{1}{2a}(e^{at}-e^{-at})", "2x", "x+x", "xy", "x y",
    "ab", "a b", "f(x)", "f(y)", "\\frac{1}{n+1}", "\\frac{1}{2n+2}", "n^3",
    "\\omega^{3}", "\\frac{1997}{2}", "\\frac{2 - 3\\omega}{2(1 - \\omega)}", "\\ln x",
    "\\log_{10} x", "k\\pi", "\\pi k", "\\tan x", "\\frac{\\sin x}{\\cos x}", "x^{-1}",
]


@SETTINGS
@given(gold=st.sampled_from(EXPRESSIONS), answer=st.sampled_from(EXPRESSIONS))
def test_pairs_of_expressions(gold: str, answer: str) -> None:
    fast, full = _verdicts(gold, answer)
    assert fast == full


@pytest.mark.parametrize("text", [text for text in EXPRESSIONS if text])
def test_identical_strings(text: str) -> None:
    assert _verdicts(text, text) == (True, True)


def test_the_fast_path_decides_what_it_can_and_defers_the_rest() -> None:
    assert plain_numbers_equal("18", "18", 6) is True
    assert plain_numbers_equal("18", "19", 6) is False
    assert plain_numbers_equal("2.5", "2.50", 6) is True
    assert plain_numbers_equal("0.5", "0.6", 6) is False
    assert plain_numbers_equal("0.3333333", "0.3333334", 6) is None  # math-verify's rounding
    assert plain_numbers_equal("x", "18", 6) is None
    assert plain_numbers_equal("12345678901234567.5", "12345678901234567.50", 6) is None
