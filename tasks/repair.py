"""Repair LaTeX that lost its backslash to a JSON escape ("\\frac" written unescaped in JSON).

In JSON, ``"\\frac"`` typed with one backslash decodes to a form feed followed by "rac", and
``"\\triangle"`` to a tab followed by "riangle". Only the aime25 file has this (rows 18, 19, 27).
"""

from __future__ import annotations

import re

# What follows the tab when a LaTeX command starting with "\t" was decoded as a tab. A tab before
# anything else is real whitespace (asy code, tables) and is left alone.
_T_COMMAND_TAILS = (
    "riangle",
    "imes",
    "ext",
    "extbf",
    "extit",
    "extrm",
    "frac",
    "binom",
    "heta",
    "an",
    "anh",
    "au",
    "ilde",
    "o",
    "op",
    "herefore",
)
_TAB_COMMAND = re.compile(r"\t(?=(?:" + "|".join(_T_COMMAND_TAILS) + r")(?![A-Za-z]))")
# A form feed never occurs in these texts; one before letters is always a lost "\f" (\frac, ...).
_FORM_FEED_COMMAND = re.compile(r"\f(?=[A-Za-z])")


def repair_latex_escapes(text: str) -> str:
    """Restore ``\\f...`` and ``\\t...`` LaTeX commands that JSON decoding turned into control
    characters: form feed + "rac" -> ``\\frac``, tab + "riangle" -> ``\\triangle``."""
    text = _FORM_FEED_COMMAND.sub(r"\\f", text)
    return _TAB_COMMAND.sub(r"\\t", text)
