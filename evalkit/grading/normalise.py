"""Small text normalisations shared by answer extraction and judging."""

from __future__ import annotations

import re

# A decimal number without sign: "1450", "1,450,000" (thousands groups of exactly three
# digits), "3.25". Used inside larger patterns, so it anchors nothing itself.
NUMBER = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"

_CANONICAL = re.compile(rf"(-?)\s*(?:\\?\$)?\s*(-?)\s*({NUMBER})")
_MATH_DELIMITERS = (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"))


def canonical_number(text: str) -> str | None:
    """Return ``text`` as a plain number if it is exactly one, else None.

    Currency signs and thousands separators are dropped, nothing else changes:
    ``"1,450,000"`` -> ``"1450000"``, ``"$1450000.00"`` -> ``"1450000.00"``,
    ``"\\$-3"`` -> ``"-3"``; ``"1,2"`` and ``"x+1"`` -> None.
    """
    match = _CANONICAL.fullmatch(text.strip().replace("{,}", ","))
    if match is None or (match[1] and match[2]):
        return None
    return match[1] + match[2] + match[3].replace(",", "")


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
