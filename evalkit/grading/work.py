"""What a grading worker does with one job: extract the answer of a completion and judge it,
or judge whether two answers are the same. Both run inside the job's deadline (see
:mod:`evalkit.grading.pool`), so a pathological completion becomes a ``timeout`` sample.

math-verify and sympy are imported on the first judgement, in the process that judges: a
parent that leaves judging to worker processes never loads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

from evalkit.grading.config import GraderConfig
from evalkit.grading.extract import MAX_GRADED_CHARS, answer_section, find_answer
from evalkit.grading.pool import Verdict
from evalkit.grading.reference_grading import grade_qwen25_math, grade_reasonlite

Judge = Callable[[str, str], bool]  # (gold, answer) -> equal; math answers


@dataclass(frozen=True)
class GradeJob:
    """One completion to extract and judge; ``known`` holds cached verdicts for its gold
    (answer -> "correct" / "wrong"), so a known answer is not judged again."""

    text: str
    gold: str
    answer_kind: str = "math"
    finish_reason: str = "stop"
    known: tuple[tuple[str, str], ...] = ()
    numeric: str = "exact"  # the task's numeric policy (config.numeric_policy)


@dataclass(frozen=True)
class PairJob:
    """Whether ``second`` is the same answer as ``first`` (judged with ``first`` as gold)."""

    first: str
    second: str
    answer_kind: str = "math"


@dataclass(frozen=True)
class GradingWork:
    """Extraction (in the mode ``config.extraction`` names) and judging with the policies of
    ``config``; ``judge`` replaces the math-verify judge (tests inject hangs and crashes with
    it)."""

    config: GraderConfig
    judge: Judge | None = None

    def __call__(self, job: Any, progress: dict[str, str]) -> Verdict:
        if isinstance(job, PairJob):
            return self._judge(job.first, job.second, job.answer_kind)
        return self._grade(job, progress)

    def warm_up(self) -> None:
        """Import the judge and fill its parser caches."""
        try:
            self._math_judge("1", "1")
        except Exception:  # a faulty injected judge fails in its job, where it is reported
            pass

    @cached_property
    def _math_judge(self) -> Judge:
        return self._judge_with("exact")

    def _judge_with(self, numeric: str) -> Judge:
        if self.judge is not None:
            return self.judge
        from evalkit.grading.judge import judge_math

        return partial(
            judge_math, precision=self.config.numeric_precision, percent=self.config.percent,
            numeric=numeric,
        )

    def _judge(self, gold: str, answer: str, answer_kind: str, numeric: str = "exact"
               ) -> Verdict:
        if answer_kind == "choice":
            from evalkit.grading.judge import judge_choice

            equal = judge_choice(gold, answer)
        elif numeric == "exact":
            equal = self._math_judge(gold, answer)
        else:
            equal = self._judge_with(numeric)(gold, answer)
        return Verdict("correct" if equal else "wrong")

    def _grade(self, job: GradeJob, progress: dict[str, str]) -> Verdict:
        if self.config.extraction == "evalkit":
            return self._grade_evalkit(job, progress)
        known = dict(job.known)

        def judge(answer: str) -> str:
            status = known.get(answer)
            return status or self._judge(job.gold, answer, job.answer_kind, job.numeric).status

        if self.config.extraction == "reasonlite":
            return grade_reasonlite(job.text, job.gold, job.finish_reason, judge, progress)
        return grade_qwen25_math(job.text, job.gold, job.answer_kind, job.finish_reason, judge,
                                 progress)

    def _grade_evalkit(self, job: GradeJob, progress: dict[str, str]) -> Verdict:
        section = answer_section(job.text, self.config.think_policy)
        if section is None:
            return Verdict("truncated", "the <think> block was never closed")
        note = None
        if len(section) > MAX_GRADED_CHARS:
            note = f"graded on the last {MAX_GRADED_CHARS:,} of {len(section):,} characters"
        answer, rule = find_answer(section[-MAX_GRADED_CHARS:], job.answer_kind)
        if answer is None or rule is None:
            if job.finish_reason == "length":
                return Verdict("truncated", _join("hit the length limit before a final answer",
                                                  note))
            return Verdict("no_answer", _join("no final answer found", note))
        progress.update(extracted=answer, rule=rule)
        status = dict(job.known).get(answer)
        if status is None:
            status = self._judge(job.gold, answer, job.answer_kind, job.numeric).status
        return Verdict(status, note, answer, rule)


def _join(detail: str, note: str | None) -> str:
    return detail if note is None else f"{detail} ({note})"
