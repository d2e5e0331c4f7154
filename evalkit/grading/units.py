"""Units after a quantity: what is dropped before judging, and what is kept as math.

* Trailing ``\\text{...}`` / ``\\mathrm{...}`` groups (with superscripts) are units whatever the
  gold (:func:`~evalkit.grading.normalise.strip_text_units`).
* math-verify's unit words ("cm", "hours", "feet") are dropped only right after a digit, and
  a one-letter unit only after a space: a letter after a fraction or a variable, or glued to a
  digit, is part of the answer (``\\frac{37}{4} m``, ``b = m``, ``\\frac{1}{m} t``, ``3t``).
* When the gold is a number, a plain-text unit tail after the answer's number is dropped too
  (``6 \\times 10^{-3} m/s^{2}``, ``4120 Å``, ``1.41 \\times 10^9 atoms/m``), as long as every
  word of the tail is a unit (:data:`UNIT`), so ``2\\pi r`` keeps its ``r``.
"""

from __future__ import annotations

import re

from latex2sympy2_extended.math_normalization import units_regex_pattern

from evalkit.grading.normalise import strip_text_units

_UNIT_WORD_AFTER_DIGIT = re.compile(rf"(\d)( ?)((?:{units_regex_pattern})) ?$")

# One unit: an SI or astronomy unit with an optional prefix, or a counted thing.
UNIT = (
    r"(?:(?:[YZEPTGMkhdcmunpfaμ]|da)?(?:m|s|g|J|eV|W|N|Pa|Hz|K|A|V|C|T|L|mol|cal|erg|ergs|pc|"
    r"yr|rad|sr|Å|Ω|F|Wb|ly|AU|au|Jy|bar|atm|M|h|min)"
    r"|years?|yrs|days?|hours?|hrs?|minutes?|mins?|seconds?|sec|radians?|degrees?|deg|"
    r"arcsec(?:onds?)?|arcmin(?:utes?)?|atoms?|photons?|stars?|electrons?|nucleons?|protons?|"
    r"neutrons?|particles?|molecules?|cycles?|counts?|ferrets?|amu|torr|mmHg|dB|ft|mph|"
    r"lbs?|gal|mL|dynes?|gauss|light[ -]?years?|solar masses|Angstroms?|angstroms?|microns?)"
)
_EXPONENT = r"(?:\^\{?-?\d+\}?)"
_UNIT_TAIL = re.compile(
    rf"(?: ?(?:\\,|~|\\ )?)*(?:{UNIT}{_EXPONENT}?)(?: ?(?:/|\\cdot|\*|\^\\circ|\\,|~| ) ?"
    rf"\(?(?:{UNIT}){_EXPONENT}?\)?{_EXPONENT}?)*"
)
# Where the number of "6 \times 10^{-3} m/s^{2}" ends: the first letter that is not part of a
# LaTeX command of a number.
_NUMBER_COMMANDS = ("\\times", "\\cdot", "\\frac", "\\dfrac", "\\tfrac", "\\sqrt", "\\pi",
                    "\\left", "\\right")
_LETTER_OR_COMMAND = re.compile(r"\\[A-Za-z]+|[A-Za-zÅΩμ]")


def strip_units(text: str) -> str:
    """Trailing text groups, then unit words right after a digit (see the module docstring)."""
    text = strip_text_units(text)
    for _ in range(2):
        stripped = _UNIT_WORD_AFTER_DIGIT.sub(_unit_word, text)
        if stripped and stripped != text:
            text = stripped
    return text


def _unit_word(match: re.Match[str]) -> str:
    """The digit alone, unless the "unit" is one letter glued to it: ``3t`` is 3 times t."""
    return match[0] if not match[2] and len(match[3]) == 1 else match[1]


def drop_unit_tail(text: str) -> str:
    """``text`` without a unit tail after its number (``6 \\times 10^{-3} m/s^{2}`` ->
    ``6 \\times 10^{-3}``); ``text`` itself if what follows its number is not all units."""
    for token in _LETTER_OR_COMMAND.finditer(text):
        if token[0] in _NUMBER_COMMANDS:
            continue
        head = text[: token.start()].rstrip(" ~\\,")
        if head and any(char.isdigit() for char in head) and _UNIT_TAIL.fullmatch(
            text, token.start()
        ):
            return head
        return text
    return text
