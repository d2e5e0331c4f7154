"""The answer extraction of two reference evaluators, written from reading their code.

``reasonlite``   ReasonLite's ``eval/eval.py`` (its AIME/AMC path): the last ``\\boxed{...}``
                 of the whole response (braces required and closed), then "The answer is: X"
                 on the last line; a third check, math-verify over the whole response, is a
                 judgement and lives in :mod:`~evalkit.grading.reference_grading`.
``qwen25-math``  the Qwen2.5-Math toolkit's ``extract_answer``: text from the first stop string
                 on is cut; then the Minerva "final answer is $X$. I hope" form, else the last
                 ``boxed`` (braces optional, an unclosed box gives what follows it), else the
                 text after the last "he answer is", else after the last "final answer is",
                 else after the first "答案是", else the last number; a choice task takes the
                 choice letters A-E standing alone (:func:`choice_letter`).

Neither evaluator cuts a ``<think>`` block: the whole response is searched. The upstream files,
commits and lines, and fixtures with the outcome of each path, are in
``tests/fixtures/parity/README.md``. Not reproduced: the toolkit's ``strip_string`` is applied
only in part (whitespace, line breaks, trailing full stops, dollar signs, ``\\(`` ``\\)``); its
other rewrites (unit words, ``x=``, ``\\text``, fractions) are left to evalkit's judge, which
normalises both sides itself. The toolkit's execution of a trailing Python code block is not
reproduced either (evalkit runs no model code).
"""

from __future__ import annotations

import re

_RL = "AMD-AGI/ReasonLite@c44cb21ae9da87c554066aa17899dcc392775d68"
_QM = "QwenLM/Qwen2.5-Math@a45202bd16f1ec06f433442dc1152d0074773465"
SOURCES = {
    "reasonlite": f"{_RL}:eval/eval.py#L693-L709, eval/utils/openmathinst_utils.py#L553-L597, "
                  "#L641-L663",
    "qwen25-math": f"{_QM}:evaluation/math_eval.py#L296-L371, evaluation/parser.py#L212-L350, "
                   "#L367-L408, #L499-L569",
}

# ReasonLite: re.search without MULTILINE, so "$" only matches at the end of the response.
_RL_ANSWER_IS = re.compile(r"The answer is: (.+)$")
_RL_BOXED = "\\boxed"

# Qwen2.5-Math toolkit
QWEN25_MATH_STOP = ("</s>", "<|im_end|>", "<|endoftext|>")
_QM_STEP_MARK = "\u043a\u0438"  # the step marker of Math-Shepherd data, dropped first
_QM_NUMBER = re.compile(r"-?\d*\.?\d+")
_QM_TRIGGERS = ("choice is", "answer is")
_QM_TRIGGER = re.compile("|".join(_QM_TRIGGERS))
_QM_LETTER = re.compile(r"\b([A-E])\b")
_QM_LINE_BREAK = re.compile(r"\n\s*")
_QM_DOLLARS = re.compile(r"\\\$|\$|\\\(|\\\)")


def reasonlite_boxed(text: str) -> str | None:
    """ReasonLite's first check: what the braces of the last ``\\boxed`` hold; None without a
    ``\\boxed``, when no ``{`` follows it directly, or when its braces never close."""
    start = text.rfind(_RL_BOXED)
    if start == -1:
        return None
    brace = start + len(_RL_BOXED)
    if text[brace : brace + 1] != "{":
        return None
    depth = 0
    for index in range(brace, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[brace + 1 : index]
    return None


def reasonlite_answer_is(text: str) -> str | None:
    """ReasonLite's second check: X of "The answer is: X" when that is the response's last
    line; else None."""
    match = _RL_ANSWER_IS.search(text)
    return match[1] if match else None


def reasonlite_answers(text: str) -> list[tuple[str, str]]:
    """The (rule, answer) pairs ReasonLite's first two checks compare with the gold, in order
    (``boxed``, ``answer_is``); a check that finds nothing is left out."""
    found = (("boxed", reasonlite_boxed(text)), ("answer_is", reasonlite_answer_is(text)))
    return [(rule, answer) for rule, answer in found if answer is not None]


def cut_at_stop(text: str, stop: tuple[str, ...] = QWEN25_MATH_STOP) -> str:
    """The toolkit's output: right-stripped, then cut before its first stop string."""
    text = text.rstrip()
    ends = [at for at in (text.find(s) for s in stop) if at != -1]
    return text[: min(ends)] if ends else text


def choice_letter(text: str) -> str:
    """The toolkit's choice answer: the text after a "choice is" / "answer is" trigger (the
    first paragraph alone when a trigger occurs twice), upper-cased, and of its letters A-E
    standing alone the first after a trigger, else the last; without such a letter the text
    itself, tidied."""
    text = text.strip("\n")
    if any(text.count(trigger) > 1 for trigger in _QM_TRIGGERS):
        text = text.split("\n\n")[0]
    parts = _QM_TRIGGER.split(text)
    after_trigger = len(parts) > 1
    text = parts[-1].strip("\n").rstrip(".").rstrip("/").strip(" ").lstrip(":")
    letters = _QM_LETTER.findall(text.upper())
    if letters:
        answer = letters[0] if after_trigger else letters[-1]
    else:
        answer = text.strip().strip(".")
    return answer.rstrip(".").rstrip("/")


def qwen25_math_answer(text: str, answer_kind: str = "math", gold: str = "") -> str:
    """The toolkit's prediction for a response ("" when nothing is found); a choice task, or a
    gold that is a letter A-E with a prediction that is not, takes :func:`choice_letter`."""
    text = cut_at_stop(text).replace(_QM_STEP_MARK, "")
    if answer_kind == "choice":
        return choice_letter(text)
    answer = _qwen25_math_tidy(_qwen25_math_raw(text))
    if gold in ("A", "B", "C", "D", "E") and answer not in ("A", "B", "C", "D", "E"):
        return choice_letter(text)
    return answer


def _qwen25_math_raw(text: str) -> str:
    """The first form of the module docstring's cascade that the response holds."""
    if "final answer is $" in text and "$. I hope" in text:
        return text.split("final answer is $", 1)[1].split("$. I hope", 1)[0].strip()
    if "boxed" in text:
        return _qwen25_math_box(text.rsplit("boxed", 1)[1])
    for phrase in ("he answer is", "final answer is"):
        if phrase in text:
            return text.rsplit(phrase, 1)[1].strip()
    if "答案是" in text:
        return text.split("答案是")[1].strip().split("\n\n")[0].strip()
    numbers = _QM_NUMBER.findall(text.replace(",", ""))
    return numbers[-1] if numbers else ""


def _qwen25_math_box(after: str) -> str:
    """What follows the last "boxed": the content of its braces (to the end of the text when
    they never close), or without braces the text up to the next ``$``."""
    if not after.startswith("{"):
        return after.split("$")[0].strip()
    depth = 1
    for index in range(1, len(after)):
        if after[index] == "{":
            depth += 1
        elif after[index] == "}":
            depth -= 1
            if depth == 0:
                return after[1:index]
    return after[1:]


def _qwen25_math_tidy(answer: str) -> str:
    """The toolkit's clean-up of a prediction: line breaks with the indentation after them,
    one leading colon, one trailing full stop and slash; then the part of ``strip_string`` that
    evalkit reproduces (see the module docstring)."""
    answer = _QM_LINE_BREAK.sub("", answer)
    if answer.startswith(":"):
        answer = answer[1:]
    if answer.endswith("."):
        answer = answer[:-1]
    if answer.endswith("/"):
        answer = answer[:-1]
    answer = answer.strip().replace("\n", "").rstrip(".")
    return _QM_DOLLARS.sub("", answer).strip()
