"""Gold-answer normalisation: turn each benchmark's upstream answer field into one string.

Each function takes the raw upstream value and returns the gold as the grader should see it.
They raise ValueError when the value does not have the documented form.
"""

from __future__ import annotations

import ast
import re
from decimal import Decimal, InvalidOperation

CHOICE_LETTERS = "ABCDEFGHIJ"


def number_gold(value: float | int | str) -> str:
    """A number without a spurious ".0": 27.0 -> "27", "145.0" -> "145", 0.5 -> "0.5".

    Used for AMC23 (floats) and SVAMP (floats). Exponents are written out ("1e-05" -> "0.00001").
    """
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def aime_gold(value: int | str) -> str:
    """An AIME answer (an integer 0-999) without zero padding: "025" -> "25", 70 -> "70"."""
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"\d+", text):
        raise ValueError(f"not an AIME answer (a non-negative integer): {value!r}")
    return str(int(text))


def gsm8k_gold(answer: str) -> str:
    """The text after the last "#### " of a GSM8K answer, thousands commas removed.

    "... #### 1,450,000" -> "1450000".
    """
    _, marker, tail = answer.rpartition("####")
    if not marker:
        raise ValueError("no '####' final-answer marker")
    gold = tail.strip().replace(",", "")
    if not gold:
        raise ValueError("nothing after the '####' marker")
    return gold


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` or ``\\fbox{...}`` in text, or None.

    Braces are matched with nesting; escaped braces (``\\{``, ``\\}``) are literal characters
    and do not count. An unbalanced last box gives None.
    """
    starts = list(re.finditer(r"\\(?:boxed|fbox)\s*\{", text))
    if not starts:
        return None
    begin = starts[-1].end()
    depth = 1
    index = begin
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[begin:index].strip()
        index += 1
    return None


def boxed_gold(solution: str) -> str:
    """The gold of MATH and Minerva-Math: the last ``\\boxed{}`` of the worked solution."""
    gold = last_boxed(solution)
    if not gold:
        raise ValueError("no \\boxed{...} answer in the solution")
    return gold


# Whitespace and LaTeX spacing commands (\quad, \qquad, \, \; \: and backslash-space) at either end.
_EDGE_SPACING = r"^(?:\s|\\q?quad\b|\\[,;: ])+|(?:\s|\\q?quad\b|\\[,;: ])+$"


def _strip_math_delimiters(text: str) -> str:
    """Drop inline-math dollars and edge spacing: "$69$,$84$" -> "69, 84"; "$x$." -> "x".

    An escaped dollar (``\\$``) is kept.
    """
    text = text.strip()
    text = re.sub(r"(?<!\\)\$\.$", "$", text)  # sentence period after the closing dollar
    text = re.sub(r"(?<!\\)\$\s*,\s*\$", ", ", text)  # "$a$,$b$": a list of answers
    text = re.sub(r"(?<!\\)\$", "", text)
    text = re.sub(_EDGE_SPACING, "", text)  # a leading \quad, \, or \; is layout only
    return re.sub(r"\s+", " ", text).strip()


def olympiadbench_gold(final_answer: list[str] | str) -> str:
    """OlympiadBench ``final_answer`` (a list, or its Python-literal text "['$x$']").

    Math dollars are stripped from each answer and several answers are joined with ", ":
    ["$\\frac{1}{2}$"] -> "\\frac{1}{2}", ["$69$,$84$"] -> "69, 84", ["2", "3"] -> "2, 3".
    Answers in prose keep their words ("$f(x)=ax+b$, where $b$ ..." -> "f(x)=ax+b, where b ...").
    """
    answers = final_answer
    if isinstance(answers, str):
        text = answers.strip()
        if text.startswith("["):
            try:
                answers = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                raise ValueError(f"not a list literal: {text[:60]!r}") from None
        else:
            answers = [text]
    if not isinstance(answers, list) or not all(isinstance(item, str) for item in answers):
        raise ValueError(f"final_answer is not a list of strings: {final_answer!r}")
    parts = [_strip_math_delimiters(item) for item in answers]
    gold = ", ".join(part for part in parts if part)
    if not gold:
        raise ValueError("empty final_answer")
    return gold


def choice_gold(index: int, num_choices: int) -> str:
    """A 0-based choice index as its letter: 0 -> "A" ... 3 -> "D" (MMLU-STEM)."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < num_choices:
        raise ValueError(f"choice index {index!r} is not in 0..{num_choices - 1}")
    return CHOICE_LETTERS[index]


def asdiv_gold(answer: str) -> str:
    """An ASDiv answer without its unit notes in parentheses.

    "9 (apples)" -> "9"; "2 (ones), 3 (tens)" -> "2, 3"; "14  (seats)" -> "14".
    Only parentheses holding letters are units; "-(1/3)" stays. Ratios ("5:3"), clock times
    ("3:30 p.m.") and word answers ("Yes", "Mrs. Hilt") are kept as written.
    """
    gold = re.sub(r"\s*\([^()]*[A-Za-z][^()]*\)", "", answer)
    gold = re.sub(r"\s+", " ", gold).strip()
    if not gold:
        raise ValueError(f"no answer left in {answer!r}")
    return gold
