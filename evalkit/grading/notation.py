"""Notations that mean the same thing, written one way before judging (both sides).

* Time derivatives: ``\\frac{dx}{dt}``, ``\\frac{d x}{d t}``, ``x'``, ``x^{\\prime}`` and
  ``\\dot{x}`` are all ``\\dot{x}``; ``\\frac{d^2\\theta}{dt^2}``, ``\\theta''`` and
  ``\\ddot{\\theta}`` are ``\\ddot{\\theta}``. (math-verify reads ``x'`` as ``x`` and
  ``x^{\\prime}`` as ``x`` to the power ``prime``.)
* A quantity written as a function of time is the quantity: ``x(t)`` is ``x``, and its value
  at time zero ``x(0)`` is ``x_{0}``.
* A variable right before a half-open interval is a membership: ``t(0,4]`` is ``t \\in (0,4]``.
* A named answer list ``a = -2, b = -2`` or ``Rayna: 7, Qing: 14, Paolo: 18`` is the list of
  its values when the gold names nothing (:func:`list_values`).
"""

from __future__ import annotations

import re

_GREEK = (
    "alpha|beta|gamma|delta|epsilon|varepsilon|zeta|eta|theta|vartheta|iota|kappa|lambda|mu|"
    "nu|xi|pi|rho|sigma|tau|upsilon|phi|varphi|chi|psi|omega|Gamma|Delta|Theta|Lambda|Xi|Pi|"
    "Sigma|Phi|Psi|Omega"
)
_SYMBOL = rf"(?:\\(?:{_GREEK})(?![A-Za-z])|[A-Za-z])"
_SECOND = re.compile(rf"\\frac\{{ ?d\^\{{?2\}}? ?({_SYMBOL}) ?\}}\{{ ?d ?t\^\{{?2\}}? ?\}}")
_FIRST = re.compile(rf"\\frac\{{ ?d ?({_SYMBOL}) ?\}}\{{ ?d ?t ?\}}")
_PRIMES = re.compile(rf"(?<![\\A-Za-z])({_SYMBOL})(?:\^\{{\\prime\\prime\}}|'')")
_PRIME = re.compile(rf"(?<![\\A-Za-z])({_SYMBOL})(?:\^\{{\\prime\}}|')")
# x(t), \theta(t), \dot{x}(t), and the x of kx(t) (letters side by side multiply); not the
# argument of a command (\sin(t), \exp(t)).
_OF_TIME = re.compile(
    rf"(?<!\\)(\\(?:{_GREEK})|(?:\\d?dot\{{{_SYMBOL}\}})|[A-Za-z]) ?\(t\)"
)
_AT_ZERO = re.compile(rf"(\\(?:{_GREEK})|[A-Za-z]) ?\(0\)")
_COMMAND_TAIL = re.compile(r"\\[A-Za-z]*$")
_DEFINED = re.compile(r" ?=(?!=)")
# A variable written right before a half-open interval: "t(0,4]" is t in (0, 4] (a function's
# argument list never mixes a parenthesis and a bracket).
_MEMBER_OF_INTERVAL = re.compile(r"^([A-Za-z]) ?(?=(?:\([^()\[\]]*\]|\[[^()\[\]]*\))$)")
# One item of a named list: "a = -2", "x_1=3", "Rayna: 7".
_NAMED_ITEM = re.compile(r"\s*(?:[A-Za-z][\w{}\\]*|\\[A-Za-z]+(?:_\{?\w+\}?)?)\s*(?:=|:)\s*(.+)")


def unify_notation(text: str) -> str:
    """``text`` with the notations above written one way."""
    if "d" in text:
        text = _SECOND.sub(r"\\ddot{\1}", text)
        text = _FIRST.sub(r"\\dot{\1}", text)
    if "'" in text or "prime" in text:
        text = _PRIMES.sub(r"\\ddot{\1}", text)
        text = _PRIME.sub(r"\\dot{\1}", text)
    if "(t)" in text:
        text = _OF_TIME.sub(lambda m: _unless_command(text, m, m[1]), text)
    if "(0)" in text:
        text = _AT_ZERO.sub(lambda m: _unless_command(text, m, m[1] + "_{0}"), text)
    return _MEMBER_OF_INTERVAL.sub(r"\1 \\in ", text)


def _unless_command(text: str, match: re.Match[str], replacement: str) -> str:
    """``replacement``, unless the matched letter ends a command name (the ``n`` of
    ``\\sin``) or names a function being defined (``f(t) = 2t``)."""
    if len(match[1]) == 1 and _COMMAND_TAIL.search(text, 0, match.start() + 1):
        return match[0]
    if len(match[1]) == 1 and _DEFINED.match(text, match.end()):
        return match[0]
    return replacement


def list_values(text: str) -> str:
    """``a = -2, b = -2`` -> ``-2, -2``; ``Rayna: 7, Qing: 14`` -> ``7, 14``; other text as
    is. Only lists of two or more named items, split at top-level commas."""
    items = _top_level_split(text)
    if len(items) < 2:
        return text
    values = [_NAMED_ITEM.fullmatch(item) for item in items]
    if any(value is None or "=" in value[1] for value in values):
        return text
    return ", ".join(value[1].strip() for value in values if value is not None)


def _top_level_split(text: str) -> list[str]:
    items, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:index])
            start = index + 1
    items.append(text[start:])
    return items


# A subscripted name in a gold: "\\omega_{d}", "V_0", "E_{12}" (base, subscript).
_GOLD_SUBSCRIPT = re.compile(
    r"(\\[A-Za-z]+|(?<![\\A-Za-z])[A-Za-z])_(?:\{([A-Za-z0-9]{1,3})\}|([A-Za-z0-9]))")


def gold_subscripts(answer: str, gold: str) -> str:
    """``answer`` with the subscripted names of ``gold`` read as such where it runs them
    together: against a gold with ``\\omega_{d}``, ``ωd`` (LaTeX ``\\omega d``) is
    ``\\omega_{d}``; against ``V_{0}``, ``V0`` is ``V_{0}``. Only names the gold subscripts."""
    for base, braced, bare in set(_GOLD_SUBSCRIPT.findall(gold)):
        sub = braced or bare
        gap = r"\s*" if base.startswith("\\") else ""
        before = "" if base.startswith("\\") else r"(?<![\\A-Za-z])"
        pattern = before + re.escape(base) + gap + re.escape(sub) + r"(?![A-Za-z0-9])"
        answer = re.sub(pattern, lambda _, b=base, s=sub: f"{b}_{{{s}}}", answer)
    return answer
