"""Small text normalisations shared by answer extraction and judging."""

from __future__ import annotations

import re

# A decimal number without sign: "1450", "3.25", or with thousands separators between groups
# of exactly three digits: "1,450,000", "1 450 000", "1\,450\,000" (LaTeX thin spaces). Used
# inside larger patterns, so it anchors nothing itself.
THOUSANDS_SEPARATOR = r"(?:,|\{,\}|\\[,!: ]|~|[ \u00a0\u2009\u202f])"
NUMBER = rf"(?:[1-9]\d{{0,2}}(?:{THOUSANDS_SEPARATOR}\d{{3}})+(?!\d)|\d+)(?:\.\d+)?"
# A decimal comma after a zero: "0,25" is 0.25 (never the thousands of 25) in running text.
# A whole answer ("\boxed{0,1}", the roots 0 and 1) needs three decimals ("0,111") to be read
# so; other "a,b" stay two numbers: "3,14" may be the list {3, 14}.
DECIMAL_COMMA = r"0,\d+(?![\d,])"
_ANSWER_DECIMAL_COMMA = r"0,\d{3,}(?![\d,])"

# Matched against text whose whitespace runs are single spaces (no backtracking over runs).
_CANONICAL = re.compile(rf"(-?) ?(?:\\?\$)? ?(-?) ?({_ANSWER_DECIMAL_COMMA}|{NUMBER})")
_SEPARATORS = re.compile(THOUSANDS_SEPARATOR)
_MATH_DELIMITERS = (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"))


def canonical_number(text: str) -> str | None:
    """Return ``text`` as a plain number if it is exactly one, else None.

    Currency signs and thousands separators are dropped, nothing else changes:
    ``"1,450,000"`` -> ``"1450000"``, ``"1 000"`` and ``"1\\,000"`` -> ``"1000"``,
    ``"$1450000.00"`` -> ``"1450000.00"``, ``"\\$-3"`` -> ``"-3"``, ``"0,25"`` -> ``"0.25"``;
    ``"1,2"`` and ``"x+1"`` -> None.
    """
    match = _CANONICAL.fullmatch(" ".join(text.split()))
    if match is None or (match[1] and match[2]):
        return None
    return match[1] + match[2] + plain_number(match[3])


def plain_number(number: str) -> str:
    """A match of NUMBER without its thousands separators; DECIMAL_COMMA with a point."""
    if number.lstrip("-").startswith("0,"):
        return number.replace(",", ".", 1)
    return _SEPARATORS.sub("", number)


def unwrap_math(text: str) -> str:
    """Strip one pair of math delimiters around the whole text: ``$x$``, ``\\(x\\)``..."""
    text = text.strip()
    for opening, closing in _MATH_DELIMITERS:
        inner = text[len(opening) : len(text) - len(closing)]
        if (
            len(text) > len(opening) + len(closing)
            and text.startswith(opening)
            and text.endswith(closing)
            and closing not in inner.replace("\\$", "")
        ):
            return inner.strip()
    return text



# \mathrm{e}, \text{e}, \operatorname{i}: Euler's number and the imaginary unit, not units.
_UPRIGHT_CONSTANT = re.compile(
    r"\\(?:mathrm|textrm|text|operatorname)\s*\{\s*([ei])\s*\}(?!\s*_)"  # e_1 is a name
)
_TEXT_COMMANDS = ("\\text", "\\textrm", "\\textnormal", "\\mathrm", "\\mbox", "\\textup")
# What may stand between a quantity and its unit, or between two units.
_UNIT_GLUE = ("\\,", "\\;", "\\:", "\\!", "\\ ", "~", "\\cdot", "\\quad", "/", "*")


def upright_constants(text: str) -> str:
    """``\\mathrm{e}`` -> ``e`` and ``\\mathrm{i}`` -> ``i``: upright e and i are constants."""
    return _UPRIGHT_CONSTANT.sub(r"\1", text)


def strip_text_units(text: str) -> str:
    """Drop the ``\\text{...}`` / ``\\mathrm{...}`` groups (each with an optional superscript)
    that end ``text`` after a quantity: ``24\\text{ cm}^2`` -> ``24``,
    ``60 \\mathrm{~km} / \\mathrm{h}`` -> ``60``. Only whole trailing groups go: a group inside
    the expression (``\\frac{\\mathrm{m}}{2}``) stays, and so does an answer that is only text
    (``\\text{Evelyn}``). Scans from the right in time linear in the length of ``text``."""
    end = len(text)
    while True:
        start = _trailing_text_group(text, end)
        if start is None:
            break
        end = _before_glue(text, start)
    return text[:end] if end < len(text) and text[:end].strip() else text


def _before_space(text: str, end: int) -> int:
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return end


def _before_glue(text: str, end: int) -> int:
    """``end`` moved left past the spacing, dots and slashes that end ``text[:end]``."""
    while True:
        end = _before_space(text, end)
        glue = next((g for g in _UNIT_GLUE if text.endswith(g, 0, end)), None)
        if glue is None:
            return end
        end -= len(glue)


def _trailing_text_group(text: str, end: int) -> int | None:
    """Where the text command of the ``\\text{...}`` (+ superscript) that ends ``text[:end]``
    starts, or None."""
    end = _before_superscript(text, _before_space(text, end))
    if end == 0 or text[end - 1] != "}":
        return None
    opening = _matching_open(text, end - 1)
    if opening is None:
        return None
    head = _before_space(text, opening)
    command = next((c for c in _TEXT_COMMANDS if text.endswith(c, 0, head)), None)
    return None if command is None else head - len(command)


def _before_superscript(text: str, end: int) -> int:
    """``end`` moved before a superscript that ends ``text[:end]`` (``^2``, ``^{-1}``)."""
    if end == 0:
        return end
    if text[end - 1] == "}":
        opening = _matching_open(text, end - 1)
        head = None if opening is None else _before_space(text, opening)
    elif text[end - 1].isdigit():
        head = _before_space(text, end - 1)
    else:
        return end
    return head - 1 if head and text[head - 1] == "^" else end


def _matching_open(text: str, close: int) -> int | None:
    """Index of the ``{`` matching the ``}`` at ``close``, scanning left; None if unbalanced."""
    depth = 0
    for index in range(close, -1, -1):
        char = text[index]
        if char == "}":
            depth += 1
        elif char == "{":
            depth -= 1
            if depth == 0:
                return index
    return None
