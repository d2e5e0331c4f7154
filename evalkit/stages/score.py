"""The score stage: pure statistics over a task's graded samples (no grader, no tokenizer).

avg@n, pass@k, maj@k and cons@n with their intervals (:mod:`evalkit.statistics.estimators`),
the budget curve from the verdicts the grade stage made at each budget
(:mod:`evalkit.statistics.budget`), and the counts a results table shows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from evalkit.records import GRADE_STATUSES
from evalkit.results.schema import BudgetPoint, MetricValue
from evalkit.stages.grade import GradedTask
from evalkit.statistics.budget import budget_curve, length_summary
from evalkit.statistics.estimators import score_task as estimate


@dataclass(frozen=True)
class TaskScores:
    """What the score stage makes of one task."""

    metrics: list[MetricValue]
    budget_curve: list[BudgetPoint]
    status_counts: dict[str, int]
    truncation_rate: float
    mean_tokens: float | None  # None where token counts are unknown (some imports)
    lengths: dict[str, float] | None


def score_task(graded: GradedTask, ks: Sequence[int], tokens_known: bool = True) -> TaskScores:
    """Every figure of one task."""
    flat = [row for problem in graded.rows for row in problem]
    num_tokens = [[row.num_tokens for row in problem] for problem in graded.rows]
    finish = [[row.finish_reason for row in problem] for problem in graded.rows]
    statuses = Counter(row.status for row in flat)
    curve = []
    if graded.at_budget:
        curve = budget_curve(graded.at_budget, num_tokens, finish, ks)
    return TaskScores(
        metrics=estimate(graded.correct, ks, graded.classes),
        budget_curve=curve,
        status_counts={status: statuses.get(status, 0) for status in GRADE_STATUSES},
        truncation_rate=sum(row.finish_reason == "length" for row in flat) / max(len(flat), 1),
        mean_tokens=(sum(row.num_tokens for row in flat) / max(len(flat), 1)
                     if tokens_known else None),
        lengths=length_summary(num_tokens) or None if tokens_known else None,
    )
