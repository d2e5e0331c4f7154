"""Answers as math-verify reads them: normalised text, then a parse (both cached per process).

Normalisation of one answer (gold or extracted), in order:

* math delimiters are unwrapped; plain-text and Unicode math is written as LaTeX
  (:mod:`~evalkit.grading.latexify`); equivalent notations are written one way
  (:mod:`~evalkit.grading.notation`); whitespace runs become one space;
* ``\\mathrm{e}`` / ``\\mathrm{i}`` are the constants; units go
  (:mod:`~evalkit.grading.units`);
* percent policy: a trailing ``%`` is dropped (``strip``) or means ``/100`` (``strict``);
* a plain number loses currency signs and thousands separators.

A pair is prepared with the gold in view (:func:`answer_forms`): a name the gold subscripts
is read as subscripted where the answer runs it together (``ωd`` for ``\\omega_{d}``), a
named answer list (``a = -2, b = -2``) is read as its values when the gold names nothing, and
a unit tail after the answer's number is dropped when the gold is a number.

Parsing is math-verify's ``parse`` of ``$text$`` (then of the bare text if that finds nothing),
its LaTeX parser predicting in two stages (:mod:`~evalkit.grading.two_stage`),
with its unit removal switched off: it reads any answer that ends in ``}`` after a
``\\text{...}`` or ``\\mathrm{...}`` as a unit and cuts it there (``\\frac{\\mathrm{e}}{2}`` ->
``\\frac{``). math-verify's own SIGALRM timeouts are off too: the caller bounds each judgement
with a wall-clock deadline (:mod:`evalkit.grading.pool`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache

import sympy
from math_verify import (
    ExprExtractionConfig,
    LatexExtractionConfig,
    LatexNormalizationConfig,
    parse,
)

from evalkit.grading.latexify import latexify
from evalkit.grading.normalise import canonical_number, unwrap_math, upright_constants
from evalkit.grading.notation import gold_subscripts, list_values, unify_notation
from evalkit.grading.two_stage import install as install_two_stage_parsing
from evalkit.grading.units import drop_unit_tail, strip_units

install_two_stage_parsing()  # SLL then LL: the same parses, about a fifth less grading time

CACHE_SIZE = 8192  # normalised texts, parses and verdicts kept per process
_PERCENT = re.compile(r"\s*\\?%$")
_LATEX = LatexExtractionConfig(
    normalization_config=LatexNormalizationConfig(
        basic_latex=True, units=False, malformed_operators=True, nits=True, boxed="all",
        equations=False,
    )
)
_TARGETS = (_LATEX, ExprExtractionConfig())
# An ellipsis standing as an item of a list: "1, 2, 3, \ldots", "\dots, -1, 0".
_LIST_ELLIPSIS = re.compile(r"(?:^|,)\s*(?:\\[lc]?dots[bcmio]?|\.\.\.|…)\s*(?=,|$)")


class _DropTimeoutDisabledWarning(logging.Filter):
    """math-verify warns once per process that its timeouts are off; they are, on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Timeout is disabled")


for _name in ("math_verify.parser", "math_verify.grader"):
    logging.getLogger(_name).addFilter(_DropTimeoutDisabledWarning())


@lru_cache(maxsize=CACHE_SIZE)
def normalise_answer(text: str, percent: str = "strip") -> str:
    """One answer string with the normalisations of the module docstring."""
    text = " ".join(unify_notation(latexify(unwrap_math(text))).split()).rstrip(" .")
    text = strip_units(upright_constants(text))
    stripped = _PERCENT.sub("", text)
    if percent == "strict" and stripped != text:
        return f"\\frac{{{canonical_number(stripped) or stripped}}}{{100}}"
    return canonical_number(stripped) or stripped


def parse_answer(text: str, percent: str = "strip") -> list:
    """Parse one answer with math-verify: as LaTeX math first, then as plain text. Each text
    is parsed once per process (a gold is shared by every sample of its problem)."""
    return list(parsed(normalise_answer(text, percent)))


@lru_cache(maxsize=CACHE_SIZE)
def parsed(text: str) -> tuple:
    """math-verify's parse of a normalised text: (expression, its string) usually, (string,)
    when it cannot be read, () for an empty text."""
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


@dataclass(frozen=True)
class Forms:
    """A gold and an answer prepared for judging (see :func:`answer_forms`)."""

    gold: str  # normalised text
    answer: str
    gold_parsed: tuple
    gold_goes_on: bool  # an ellipsis item: an endless list
    answer_goes_on: bool

    @property
    def answer_parsed(self) -> tuple:
        return parsed(self.answer)


def answer_forms(gold: str, answer: str, percent: str) -> Forms:
    """Normalise and parse both; the answer is read with the gold in view (module docstring).
    The gold's parse is empty when it cannot be read."""
    gold, gold_goes_on = split_list_ellipsis(gold)
    answer, answer_goes_on = split_list_ellipsis(answer)
    gold_text = normalise_answer(gold, percent)
    gold_parsed = parsed(gold_text)
    answer_text = gold_subscripts(normalise_answer(answer, percent), gold_text)
    if "=" not in gold_text and ":" not in gold_text:
        answer_text = list_values(answer_text)
    if gold_parsed and is_number(gold_parsed[0]):
        answer_text = drop_unit_tail(answer_text)
    return Forms(gold_text, answer_text, gold_parsed, gold_goes_on, answer_goes_on)


def is_number(value: object) -> bool:
    """A sympy expression without variables."""
    return isinstance(value, sympy.Expr) and bool(value.is_number)
