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
* Numeric tolerance (math-verify's defaults): when either side is a decimal, both are rounded to
  6 decimal places before comparing (``2.5`` == ``2.5000004``, ``1/3`` == ``0.3333333``,
  ``1/3`` != ``0.3333``); integers, fractions and symbolic expressions compare exactly.

math-verify's own SIGALRM timeouts are switched off here: the caller bounds each judgement
with a wall-clock deadline (see :mod:`evalkit.grading.pool`), which also lets these functions
run off the main thread.

Choice answers compare letters directly.
"""

from __future__ import annotations

import logging
import re

from math_verify import parse, verify

from evalkit.errors import EvalkitError
from evalkit.grading.normalise import canonical_number, unwrap_math

_PERCENT = re.compile(r"\s*\\?%$")
_CHOICE = re.compile(r"\(?([A-Ja-j])\)?")


class _DropTimeoutDisabledWarning(logging.Filter):
    """math-verify warns once per process that its timeouts are off; they are, on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Timeout is disabled")


for _name in ("math_verify.parser", "math_verify.grader"):
    logging.getLogger(_name).addFilter(_DropTimeoutDisabledWarning())


def normalise_answer(text: str) -> str:
    """Apply the delimiter, percent and number policies above to one answer string."""
    text = _PERCENT.sub("", unwrap_math(text))
    return canonical_number(text) or text


def parse_answer(text: str) -> list:
    """Parse one answer with math-verify: as LaTeX math first, then as plain text."""
    text = normalise_answer(text)
    if not text:
        return []
    return parse(f"${text}$", parsing_timeout=None) or parse(text, parsing_timeout=None)


def judge_math(gold: str, answer: str) -> bool:
    """True if ``answer`` is mathematically equal to ``gold``; raises if the gold is unusable."""
    gold_parsed = parse_answer(gold)
    if not gold_parsed:
        raise EvalkitError(f"the gold answer {gold!r} could not be parsed; fix it in the task")
    return verify(gold_parsed, parse_answer(answer), timeout_seconds=None)


def judge_choice(gold: str, answer: str) -> bool:
    """True if both name the same choice letter; raises if the gold is not a letter A-J."""
    match = _CHOICE.fullmatch(gold.strip())
    if match is None:
        raise EvalkitError(f"the gold answer {gold!r} of a choice task is not a letter A-J")
    return match[1].upper() == answer.strip().upper()
