"""The ``significant-figures`` numeric policy: measured quantities, as Minerva Math states them.

Minerva Math's answers are physical quantities computed from rounded constants; its golds state
as many significant figures as the reference solution kept ("6630", "3.3e12", "0.53"). Two
quantities are the same answer when they agree at the precision of the less precise of the two
and differ by at most :data:`TOLERANCE` of the gold: 3.275e12 is 3.3e12, 1540 is 1538, 555 is
560, but 1.41e9 is not 1.39e9 and 561 is not 566. Significant figures are counted as written:
trailing zeros of an integer do not count ("6630" has three), those after a decimal point do
("24.310" has five). The tolerance keeps a coarse gold from accepting a far answer (gold "3",
answer "3.4").

Symbolic answers with a rounded coefficient ("2.2 \\tau" against "\\tau \\ln 9") follow the same
tolerance: their ratio must be a constant within :data:`TOLERANCE` of 1.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

TOLERANCE = Decimal("0.01")  # relative, of the gold: Minerva's own numeric_equality threshold

# "-3.275", "3.275\times10^{12}", "4\times 10^{33}", "10^{-5}" (after latexify and canonical
# number normalisation).
_QUANTITY = re.compile(
    r"(-?)(?:(\d+(?:\.\d+)?) ?(?:\\times|\\cdot) ?)?(?:(10) ?\^ ?\{?([+-]?\d+)\}?)?"
)
_PLAIN = re.compile(r"(-?)(\d+(?:\.\d+)?)")


def quantity(text: str) -> tuple[Decimal, int] | None:
    """The value and significant figures of a decimal written as ``text``, or None."""
    text = text.strip()
    plain = _PLAIN.fullmatch(text)
    if plain is not None:
        return _signed(plain[1], Decimal(plain[2])), significant_figures(plain[2])
    match = _QUANTITY.fullmatch(text)
    if match is None or match[3] is None:
        return None
    mantissa = match[2] or "1"
    try:
        value = Decimal(mantissa).scaleb(int(match[4]))
    except InvalidOperation:
        return None
    return _signed(match[1], value), significant_figures(mantissa)


def significant_figures(number: str) -> int:
    """Significant figures of an unsigned decimal as written: "0.0122" 3, "6630" 3, "24.310" 5."""
    if "." in number:
        digits = number.replace(".", "").lstrip("0")
    else:
        digits = number.lstrip("0").rstrip("0")
    return max(len(digits), 1)


def same_quantity(gold: tuple[Decimal, int], answer: tuple[Decimal, int]) -> bool:
    """True if the two agree at the fewer significant figures and within the tolerance."""
    (g, gold_figures), (a, answer_figures) = gold, answer
    if g == a:
        return True
    if g == 0 or abs(a - g) > TOLERANCE * abs(g):
        return False
    figures = min(gold_figures, answer_figures)
    return _round(g, figures) == _round(a, figures)


def _round(value: Decimal, figures: int) -> Decimal:
    exponent = value.adjusted() - figures + 1
    return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)


def _signed(sign: str, value: Decimal) -> Decimal:
    return -value if sign else value
