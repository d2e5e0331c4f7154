"""Find the final answer in a model completion: a cascade of pure, ordered rules.

Reasoning traces are cut first (``think_policy="after_close"``, the default): only the text
after the last ``</think>`` is searched (the whole text if nothing follows it); a ``<think>``
that is never closed means the model stopped while thinking, and nothing is extracted (see
:func:`unclosed_think`). ``think_policy="whole_text"`` ignores think tags and searches it all.
Of that section only the last ``MAX_GRADED_CHARS`` (32,000) characters are read, so a runaway
completion costs no more than a long one; every rule runs in time linear in what it reads.

Math answers (first rule that fires wins; each names itself in the returned rule):

``boxed``        the last complete ``\\boxed{...}`` / ``\\fbox{...}`` (nested braces), or
                 ``\\boxed 5`` without braces; boxes listed together at the end
                 (``\\boxed{3}, \\boxed{5}``, ``$x=\\boxed{2}$ or $x=\\boxed{-2}$``, the same
                 in ``\\(...\\)`` or ``\\[...\\]``) are joined, a box repeated in a row once
                 into one answer set ``3, 5`` (OlympiadBench multi-answer problems)
``answer_is``    the last "the answer is X", "final answer is: X", "Answer: X", "**Answer:** X";
                 where X is a sentence ("Final Answer: The largest $n$ is 34."), what follows
                 its last "is" / "are" / "equals" when that holds math, else its last math span
``bold``         the last ``**X**`` on the last non-empty line, when X looks like math
``gsm8k_hash``   ``#### N``
``A:``           a line ``A: N`` (OpenAI GSM8K solutions)
``last_math``    the last math span (``$...$``, ``\\(...\\)``, ``\\[...\\]``) that looks like math
                 (a digit or a command, no words), with the spans listed just before it
                 ("$x=3$ and $x=5$"), unless a number follows it outside math
``last_number``  the last number in the text ("1,450" -> "1450"), not a heading's or list item's
                 marker
(``last_math`` and ``last_number`` read the text without its closing remarks, and nothing of a
text whose last lines say the work is unfinished.)

A made-up continuation is cut first: after a box, a line starting a new "Problem", "Question"
or "Exercise" ends the answer (runaway answers; a box repeated in a row counts once).

Choice answers (a letter A-J): ``boxed`` and ``answer_is`` when their content is a letter,
then ``letter_line`` (a line holding only a letter, like "(C)" or "**C**"), then
``choice_letter`` (the last "(C)" anywhere).

Captured text is tidied: math delimiters and markdown bold are stripped, a trailing full stop is
dropped, a plain number loses currency signs and thousands separators, and a number followed only
by words ("18 dollars") keeps just the number (with a percent sign, if any).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from evalkit.grading.normalise import (
    DECIMAL_COMMA,
    NUMBER,
    canonical_number,
    plain_number,
    unwrap_math,
)

Rule = Callable[[str], str | None]

# A longer section is searched only in its last MAX_GRADED_CHARS characters (the final answer
# is at the end); every rule runs in time linear in what it reads.
MAX_GRADED_CHARS = 32_000

_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"

_BOX_COMMAND = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BOX_BARE = re.compile(r"\s+([^\s$]+)")
_BRACE = re.compile(r"[{}]")
_BOX_SEPARATOR = re.compile(
    r"(?:\\quad|\\text\{\s*(?:and|or)\s*\}|\b(?:and|or)\b|\\[()\[\]]|[\s$,;])*"
    r"(?:[A-Za-z](?:_\{?\w+\}?)?\s*=\s*)?"
)
_ANSWER_PHRASE = re.compile(r"(?i:\banswer(?:\s+is\b\s*:?|\s*(?:\*+\s*)?:))")
# What follows an answer phrase: display math (may span lines) or the rest of the line.
_PHRASE_TAIL = re.compile(r"\s*\**(\$\$.*?\$\$|\\\[.*?\\\]|[^\n]*)", re.DOTALL)
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_HASH = re.compile(r"####\s*([^\n]+)")
_A_COLON = re.compile(r"^[ \t]*A:[ \t]*([^\n]+)", re.MULTILINE)
# ASCII word characters only: a number right after a CJK character ("共有99颗") is a number.
# A decimal comma only outside brackets: "(0,5)" is a point.
_LAST_NUMBER = re.compile(
    rf"(?:(?<![\w)\]}}])-)?(?<![\w.])(?:(?<![(\[{{,]){DECIMAL_COMMA}|{NUMBER})(?:/\d+)?", re.ASCII
)
_SENTENCE_END = re.compile(r"\.(?:\s|$)")
# A number, then only words ("18 dollars"); whitespace is collapsed before these are used.
_LEADING_NUMBER = re.compile(
    rf"-?(?:\\?\$)? ?{NUMBER}(?: ?(?:x|\\times|×|\*) ?10 ?\^ ?\{{?-?\d+\}}?)? ?(?:\\?%)?"
)
_WORDS = re.compile(r"[A-Za-z][A-Za-z '’-]*")
_BARE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")
_COPULA = re.compile(r"\b(?:is|are|was|were|equals|be)\b", re.IGNORECASE)
# What a copula's value starts with: math, a number, or words that introduce one.
_VALUE_START = re.compile(r"(?:approximately |about |roughly |equal to |given by )?[-\d\\$(]")
_APPROXIMATELY = re.compile(r"(?:approximately|roughly|about|≈) \$?(-?\d[\d,.]*(?: ?\\?%)?)")
_CLOSING_REMARK = re.compile(
    r"[\s*>_#-]*(?:let me know|i hope|hope this|feel free|if you have|please let|"
    r"do you want|would you like|happy to)", re.IGNORECASE
)
# A sentence that concludes: at the start of the line or after a sentence's end.
_CONCLUSION = re.compile(
    r"(?:^[\s*>_#-]*|[.!?][ \t]+(?:\*\*)?)(?:therefore|thus|hence|in conclusion|finally|so)\b"
    r"[ \t,:*]*",
    re.IGNORECASE,
)
# Before a number that only numbers a heading or an item: "**5.", "### 2)", "Step 3:", and a
# "Subproblem 2" / "Part 3" / "Case 1" anywhere.
_MARKER = re.compile(
    r"(?:[ \t>#*_-]*(?:(?:step|part|case|subproblem|problem|question)[ \t]+)?\d+[.):]"
    r"|.*\b(?:step|part|case|subproblem|problem|question)[ \t]+\d+.?)",
    re.IGNORECASE,
)
_NEW_PROBLEM = re.compile(
    r"^[ \t>#*_]*(?:new |next |another )?(?:problem|question|exercise)\b[ \t\d]*[:.*]",
    re.IGNORECASE | re.MULTILINE,
)
_UNFINISHED = re.compile(
    r"\b(?:would need to|need to (?:find|solve|calculate|compute|determine|check)|"
    r"can(?:not|'t|’t) (?:determine|be determined|find)|without further|might involve|"
    r"remains to be|is left to|left as an exercise)",
    re.IGNORECASE,
)
_BOLD_ITEM = re.compile(r"[ \t]*[*-][ \t]+\*\*(.+?)\*\*[ \t.,;]*")
# Math delimiters, for math_spans: display $$ first, and an escaped \$ (a dollar sign) apart.
_DELIMITER = re.compile(r"\\\$|\$\$|\$|\\[()\[\]]")
# Between two math spans listed together: their delimiters, commas, "and", "or".
_SPAN_SEPARATOR = re.compile(r"(?:\\[()\[\]]|\b(?:and|or)\b|[\s$,;])*")
_CLOSING = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}
_LETTER = re.compile(r"\(?([A-J])\)?(?=[\s.:,)]|$)")
_LETTER_TEXT = re.compile(r"\\(?:text|mathrm|textbf)\{([^{}]*)\}")
_LETTER_LINE = re.compile(r"^[ \t*>_#-]*\(?([A-J])\)?[ \t*.:_]*$", re.MULTILINE)
_PAREN_LETTER = re.compile(r"\(([A-J])\)")


def unclosed_think(text: str) -> bool:
    """True if a ``<think>`` block is opened and never closed (the model stopped thinking)."""
    opened = text.rfind(_THINK_OPEN)
    return opened != -1 and text.rfind(_THINK_CLOSE) < opened


def final_section(text: str) -> str:
    """The text after the last ``</think>``, or the whole text if nothing follows it."""
    _, closed, tail = text.rpartition(_THINK_CLOSE)
    return tail if closed and tail.strip() else text


def extract_answer(
    text: str, answer_kind: str = "math", think_policy: str = "after_close"
) -> tuple[str | None, str | None]:
    """Return ``(answer, rule)`` from the first rule that fires, or ``(None, None)``; only the
    last MAX_GRADED_CHARS characters of the searched section are read."""
    section = answer_section(text, think_policy)
    if section is None:
        return None, None
    return find_answer(section[-MAX_GRADED_CHARS:], answer_kind)


def answer_section(text: str, think_policy: str = "after_close") -> str | None:
    """The text the rules search (see the module docstring); None when a ``<think>`` block is
    never closed under ``after_close``."""
    if think_policy == "whole_text":
        return text.replace(_THINK_OPEN, " ").replace(_THINK_CLOSE, " ")
    if unclosed_think(text):
        return None
    return final_section(text)


def find_answer(section: str, answer_kind: str = "math") -> tuple[str | None, str | None]:
    """``(answer, rule)`` of the first rule that fires on ``section``, or ``(None, None)``."""
    section = before_invented_problem(section)
    rules = CHOICE_RULES if answer_kind == "choice" else MATH_RULES
    for name, rule in rules:
        answer = rule(section)
        if answer:
            return answer, name
    return None, None


def before_invented_problem(text: str) -> str:
    """``text`` up to a new problem the model made up after answering (a "Problem 2:" or
    "Question:" heading after a box): a runaway continuation is not the answer."""
    box = _BOX_COMMAND.search(text)
    if box is None:
        return text
    heading = _NEW_PROBLEM.search(text, box.end())
    return text if heading is None else text[: heading.start()]


def tidy(raw: str) -> str:
    """Clean a captured answer: whitespace runs, delimiters, bold, full stop, currency,
    trailing words."""
    text = " ".join(raw.split())
    text = _SENTENCE_END.split(text, maxsplit=1)[0].strip().strip("*").strip()
    text = unwrap_math(text).rstrip(" .,;:")
    number = _LEADING_NUMBER.match(text)
    if number and text[number.end() - 1 : number.end() + 1].startswith(" "):
        if _WORDS.fullmatch(text, number.end()):
            text = number[0].rstrip()
    return canonical_number(text) or text


def _final_box(text: str) -> str | None:
    """The last box (:func:`_last_box`), unless a conclusion after it states a value by an
    equation ("\\boxed{4\\sqrt{5}}. Therefore, m + n = 4 + 5 = 9."): the later statement."""
    found = _last_box(text)
    if found is None:
        return None
    answer, end = found
    later = _conclusion(text[end:])
    if later is not None and "=" in later:
        return later
    return answer


def _last_box(text: str) -> tuple[str, int] | None:
    """The content of the last complete, non-empty box command, joined with the boxes listed
    just before it (only separators between them: ", ", " and ", "$ or $x="), and where the
    last box ends."""
    end = len(text)
    listed: list[str] = []
    last_end = -1
    after = -1  # where the box after the current one starts (-1: none found yet)
    for command in reversed(list(_BOX_COMMAND.finditer(text))):
        box = _box(text, command.end(), end)
        if box is None:
            end = command.start()  # an earlier box reaching this one cannot close either
            continue
        content, close = box
        if not content.strip():
            continue
        if listed and not _BOX_SEPARATOR.fullmatch(text, close, after):
            break
        if not listed or content.strip() != listed[-1]:  # a runaway repeat counts once
            listed.append(content.strip())
        last_end = max(last_end, close)
        after = end = command.start()
    return (", ".join(reversed(listed)), last_end) if listed else None


def _box(text: str, start: int, end: int) -> tuple[str, int] | None:
    """The argument of a box command whose name ends at ``start`` and where the box ends;
    None if it is not closed by ``end``. ``\\boxed 5`` (no braces) takes the next word."""
    brace = start
    while brace < end and text[brace] == " ":
        brace += 1
    if brace == end or text[brace] != "{":
        bare = _BOX_BARE.match(text, start, end)
        return (bare[1], bare.end()) if bare else None
    depth = 0
    for mark in _BRACE.finditer(text, brace, end):
        depth += 1 if mark[0] == "{" else -1
        if depth == 0:
            return text[brace + 1 : mark.start()], mark.end()
    return None


def _answer_tail(text: str) -> str | None:
    """What follows the last "answer is" / "Answer:"."""
    phrases = list(_ANSWER_PHRASE.finditer(text))
    tail = _PHRASE_TAIL.match(text, phrases[-1].end()) if phrases else None
    return tail[1] if tail else None


def tidy_phrase(raw: str) -> str:
    """:func:`tidy` for what follows an answer phrase; a sentence there is cut to its answer:
    a number after "approximately", else the math after its last copula that is followed by a
    value ("The largest $n$ is 34." -> ``34``), else its last math span with math in it ("we
    get $x=3$" -> ``x=3``), else kept whole ("Evelyn", "yes")."""
    text = tidy(raw)
    if len(text.split()) < 2 or _BARE_WORD.search(text) is None:
        return text
    approximate = _APPROXIMATELY.search(text)
    if approximate:
        return tidy(approximate[1])
    for copula in reversed(list(_COPULA.finditer(text))):
        after = tidy(text[copula.end() :])
        if after and _VALUE_START.match(after):
            return after
    spans = [span for span in math_spans(text) if _looks_like_math(text[slice(*span)])]
    return tidy(text[slice(*spans[-1])]) if spans else text


def answer_body(text: str) -> str:
    """``text`` without the lines that end it but answer nothing: closing remarks ("Let me
    know if ...", "I hope this helps") and a last line that announces an answer it does not
    give ("Therefore, the value of f(2) is:")."""
    lines = text.rstrip().split("\n")
    end = len(lines)
    while end and (
        not lines[end - 1].strip()
        or _CLOSING_REMARK.match(lines[end - 1])
        or lines[end - 1].rstrip(" *_").endswith(":")
    ):
        end -= 1
    return "\n".join(lines[:end])


def _finished_body(text: str) -> str:
    """:func:`answer_body`, or nothing when its last lines say the work is unfinished ("You
    would need to list all the cases", "we can't determine ... without further calculations"):
    a guess from the last numbers of such a text is no answer."""
    body = answer_body(text)
    last_lines = body[-2000:].splitlines()[-4:]
    return "" if any(_UNFINISHED.search(line) for line in last_lines) else body


def _conclusion(text: str) -> str | None:
    """The value stated by a concluding last line ("Therefore, m + n = 9.", "**Thus:** *c =
    I(0)*", "Hence approximately 100% ..."), when it is math, or its words when it holds no
    number at all ("Therefore, there are **infinitely many** values."): the answer then is in
    words, and no earlier number may stand in for it."""
    lines = [line for line in answer_body(text).splitlines() if line.strip()]
    starts = list(_CONCLUSION.finditer(lines[-1])) if lines else []
    if not starts:
        return None
    said = lines[-1][starts[-1].end() :]
    answer = tidy_phrase(said.replace("*", " ").replace("_", " ") if "$" not in said
                         else said.replace("*", " "))
    if answer and (_looks_like_math(answer) or not re.search(r"\d", said)):
        return answer  # math, or a final answer in words ("infinitely many", "no solution")
    return None


def math_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the content of every closed math span: ``$...$``, ``$$...$$``,
    ``\\(...\\)``, ``\\[...\\]``; one left-to-right pass."""
    spans = []
    closing: str | None = None
    start = 0
    for token in _DELIMITER.finditer(text):
        delimiter = token[0]
        if delimiter == "\\$":
            continue
        if closing is None and delimiter in _CLOSING:
            closing, start = _CLOSING[delimiter], token.end()
        elif delimiter == closing:
            if text[start : token.start()].strip():
                spans.append((start, token.start()))
            closing = None
    return spans


def _last_math(text: str) -> str | None:
    """The last math span that looks like an answer (a digit or a LaTeX command, no words),
    joined with the spans listed just before it ("$x=3$ and $x=5$" -> ``x=3, x=5``), unless
    a number follows it outside math: then that later number is the last statement."""
    spans = [span for span in math_spans(text) if _looks_like_math(text[slice(*span)])]
    if not spans:
        return None
    numbers = list(_LAST_NUMBER.finditer(text))
    if numbers and numbers[-1].start() >= spans[-1][1]:
        return None
    listed = [spans.pop()]
    while spans and _SPAN_SEPARATOR.fullmatch(text, spans[-1][1], listed[-1][0]):
        listed.append(spans.pop())
    return ", ".join(text[slice(*span)].strip() for span in reversed(listed))


def _last_bold(text: str) -> str | None:
    """The last ``**X**`` on the last non-empty line (closing remarks aside), if X looks like
    math; bold items on the bullet lines that end the text are joined ("* **(3, 0)**" then
    "* **(-3, 1)**" -> ``(3, 0), (-3, 1)``)."""
    lines = [line for line in answer_body(text).splitlines() if line.strip()]
    items = []
    for line in reversed(lines):
        item = _BOLD_ITEM.fullmatch(line)
        if item is None or not _looks_like_math(tidy(item[1])):
            break
        items.append(tidy(item[1]))
    if len(items) > 1:
        return ", ".join(reversed(items))
    spans = _BOLD.findall(lines[-1]) if lines else []
    return spans[-1] if spans and _looks_like_math(tidy(spans[-1])) else None


def _last_number(text: str) -> str | None:
    """The last number that is not the marker of a heading or a list item ("**5. Finding
    n**", "Step 3:", "Subproblem 2")."""
    for match in reversed(list(_LAST_NUMBER.finditer(text))):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if not _MARKER.fullmatch(text, line_start, match.end() + 1):
            return match[0]
    return None


def _looks_like_math(text: str) -> bool:
    """Has a digit or a LaTeX command, and no plain word of three or more letters."""
    return bool(re.search(r"[\d\\]", text)) and _BARE_WORD.search(text) is None


def _last_match(pattern: re.Pattern[str]) -> Rule:
    """A finder of the (first group of the) last match of ``pattern``."""

    def find(text: str) -> str | None:
        matches = pattern.findall(text)
        return matches[-1] if matches else None

    return find


def _letter(text: str) -> str | None:
    """The choice letter that ``text`` starts with: "C", "(C) 12", "\\text{C}"; else None."""
    inner = _LETTER_TEXT.sub(r"\1", unwrap_math(text.strip().strip("*").strip()))
    match = _LETTER.match(inner.strip().strip("*"))
    return match[1] if match else None


def _then(find: Rule, clean: Rule) -> Rule:
    """A rule: ``clean`` what ``find`` found."""

    def rule(text: str) -> str | None:
        found = find(text)
        return None if found is None else clean(found)

    return rule


MATH_RULES: tuple[tuple[str, Rule], ...] = (
    ("boxed", _then(_final_box, tidy)),
    ("answer_is", _then(_answer_tail, tidy_phrase)),
    ("conclusion", _conclusion),
    ("bold", _then(_last_bold, tidy)),
    ("gsm8k_hash", _then(_last_match(_HASH), tidy)),
    ("A:", _then(_last_match(_A_COLON), tidy)),
    ("last_math", _then(lambda text: _last_math(_finished_body(text)), tidy)),
    ("last_number", _then(lambda text: _last_number(_finished_body(text)), plain_number)),
)

CHOICE_RULES: tuple[tuple[str, Rule], ...] = (
    ("boxed", _then(lambda text: (_last_box(text) or (None,))[0], _letter)),
    ("answer_is", _then(_answer_tail, _letter)),
    ("letter_line", _last_match(_LETTER_LINE)),
    ("choice_letter", _last_match(_PAREN_LETTER)),
)
