"""Grading in a reference evaluator's extraction mode: which answers are compared with the gold,
and in what order (the answers themselves come from
:mod:`~evalkit.grading.reference_extraction`).

``reasonlite``   correct when any of ReasonLite's three checks passes: the boxed answer, the
                 "The answer is:" answer (both compared by evalkit's judge), then math-verify's
                 ``verify`` of the gold against its ``parse`` of the whole response, as
                 ReasonLite calls them (:func:`math_verify_whole_response`).
``qwen25-math``  the toolkit's one prediction, compared by evalkit's judge.

The comparisons use evalkit's judge (math-verify and evalkit's rules), not the evaluators' own
``math_equal``: where the two differ a verdict may differ (docs/grading.md lists what is known).
A response with nothing to compare is ``no_answer``, or ``truncated`` when it hit the length
limit. Think tags are ignored, as the evaluators ignore them: an unclosed ``<think>`` is graded
like any other text (the grader's ``think_policy`` applies to the ``evalkit`` mode only).
"""

from __future__ import annotations

from collections.abc import Callable

from evalkit.grading.pool import Verdict
from evalkit.grading.reference_extraction import qwen25_math_answer, reasonlite_answers

# The rule of a verdict from math-verify over the whole response: it judges the response, not
# the answer it reports, so the grader does not cache it under that answer.
WHOLE_RESPONSE_RULE = "math_verify"

JudgeAnswer = Callable[[str], str]  # answer -> "correct" / "wrong" against the job's gold


def grade_reasonlite(text: str, gold: str, finish_reason: str, judge: JudgeAnswer,
                     progress: dict[str, str]) -> Verdict:
    """ReasonLite's verdict: the first check that passes names the answer and rule; when none
    does, the first answer found (boxed, "The answer is:", math-verify's parse) is reported."""
    found = [(rule, answer) for rule, answer in reasonlite_answers(text) if answer.strip()]
    for rule, answer in found:
        progress.update(extracted=answer, rule=rule)
        if judge(answer) == "correct":
            return Verdict("correct", None, answer, rule)
    equal, parsed = math_verify_whole_response(gold, text)
    if equal:
        return Verdict("correct", None, parsed, WHOLE_RESPONSE_RULE)
    if found:
        rule, answer = found[0]
        return Verdict("wrong", None, answer, rule)
    if parsed:
        return Verdict("wrong", None, parsed, WHOLE_RESPONSE_RULE)
    return _unanswered(finish_reason)


def grade_qwen25_math(text: str, gold: str, answer_kind: str, finish_reason: str,
                      judge: JudgeAnswer, progress: dict[str, str]) -> Verdict:
    """The toolkit's verdict on its prediction (an empty prediction is no answer)."""
    answer = qwen25_math_answer(text, answer_kind, gold)
    if not answer:
        return _unanswered(finish_reason)
    progress.update(extracted=answer, rule="qwen25-math")
    return Verdict(judge(answer), None, answer, "qwen25-math")


def math_verify_whole_response(gold: str, text: str) -> tuple[bool, str | None]:
    """ReasonLite's third check: math-verify's ``verify`` of ``parse`` of the gold, written as
    ReasonLite writes it (``\\boxed{$GOLD}$``), against ``parse`` of the whole response, both
    with math-verify's default extraction configs; and the string of what it parsed from the
    response (None when nothing). Timeouts are the grading job's deadline, not math-verify's."""
    from math_verify import parse, verify

    from evalkit.grading import parsing  # noqa: F401  (drops math-verify's "timeout off" warning)

    gold_parsed = parse(f"\\boxed{{${gold}}}$", parsing_timeout=None)
    answer_parsed = parse(text, parsing_timeout=None)
    parsed = str(answer_parsed[-1]) if answer_parsed else None
    return bool(verify(gold_parsed, answer_parsed, timeout_seconds=None)), parsed


def _unanswered(finish_reason: str) -> Verdict:
    if finish_reason == "length":
        return Verdict("truncated", "hit the length limit before a final answer")
    return Verdict("no_answer", "no final answer found")
