"""The GRPO rewards: evalkit's grader verdict (correct 1, anything else 0) and a format term.

Correctness goes through :class:`evalkit.grading.Grader`, the same extraction cascade and
math-verify judge as `evalkit run`, in its killable worker pool: a completion whose judgement
hangs becomes a ``timeout`` grade (reward 0) after ``timeout_s``, never a stalled training step.
The format term is 1 when the final answer is written as the prompt asks (``\\boxed{}``: the
grader's ``boxed`` extraction rule), else 0. TRL weights the two with ``reward_weights``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalkit.grading import Grader, GradeRequest, extract_answer


def completion_text(completion: Any) -> str:
    """A TRL completion as text: a string, or conversational messages (assistant turns)."""
    if isinstance(completion, str):
        return completion
    return "".join(message["content"] for message in completion)


class GraderRewards:
    """Reward functions for TRL's GRPOTrainer over one open Grader."""

    def __init__(self, grader: Grader) -> None:
        self.grader = grader

    def correct(self, completions: Sequence[Any], gold: Sequence[str],
                answer_kind: Sequence[str], **_: Any) -> list[float]:
        """1.0 for a completion evalkit's grader marks correct, else 0.0."""
        grades = self.grader.grade([
            GradeRequest(completion_text(c), g, kind)
            for c, g, kind in zip(completions, gold, answer_kind, strict=True)
        ])
        return [1.0 if grade.status == "correct" else 0.0 for grade in grades]

    def boxed_format(self, completions: Sequence[Any], **_: Any) -> list[float]:
        """1.0 when the final answer is in \\boxed{}, as the prompt asks, else 0.0."""
        policy = self.grader.config.think_policy
        return [1.0 if extract_answer(completion_text(c), "math", policy)[1] == "boxed" else 0.0
                for c in completions]
