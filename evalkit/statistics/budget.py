"""Budget curves: the scores a run would have had, had generation stopped at B tokens.

A run with max-tokens B makes, for every sample, the first B tokens of what a run with a larger
budget makes (per-sample seeds: the same random stream whatever the budget). So the score at
budget B is the grade of each stored sample cut at B tokens:

* a sample that ended (stop token) within B tokens is unchanged: its grade stands;
* every other sample is cut: its first B tokens are decoded (once per sample and budget) and
  graded as a completion that hit the length limit, exactly as a run with max-tokens B would
  grade it (the grade stage, :mod:`evalkit.stages.grade`, does this; verdicts come from the
  grader's cache when the cut text extracts an answer already judged).

Nothing is assumed about where the final answer is written: a text such as
``\\boxed{12} ... \\boxed{15}; no: \\boxed{12}`` extracts 15 at budgets that cut it after the
second box, and is graded so. The curve is exact for the stored samples; results.json says how
each point was made (``method``). This module turns those verdicts into the curve.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evalkit.errors import EvalkitError
from evalkit.results.schema import BudgetPoint
from evalkit.statistics.estimators import score_task

LENGTH_QUANTILES = (10, 25, 50, 75, 90)
CURVE_METHOD = "regraded"  # every sample cut at the budget decoded and graded again


def budget_curve(
    correct: dict[int, list[list[bool]]], num_tokens: Sequence[Sequence[int]],
    finish_reasons: Sequence[Sequence[str]], ks: Sequence[int],
) -> list[BudgetPoint]:
    """results.json's ``budget_curve``: per budget, avg@n and pass@k with intervals, the share
    of samples cut (longer than the budget, or as long and without a stop token), and how the
    point was made."""
    lengths = np.array([t for row in num_tokens for t in row])
    stopped = np.array([r == "stop" for row in finish_reasons for r in row])
    return [
        BudgetPoint(
            budget=budget,
            truncation_rate=float(np.mean((lengths > budget) | (lengths == budget) & ~stopped)),
            metrics=score_task(verdicts, ks),
            method=CURVE_METHOD,
        )
        for budget, verdicts in sorted(correct.items())
    ]


def length_summary(num_tokens: Sequence[Sequence[int]]) -> dict[str, float]:
    """Distribution of generated lengths: mean, max and the 10/25/50/75/90th percentiles."""
    lengths = np.array([t for row in num_tokens for t in row], dtype=float)
    if lengths.size == 0:
        return {}
    summary = {"mean": float(lengths.mean()), "max": float(lengths.max())}
    for q, value in zip(LENGTH_QUANTILES, np.percentile(lengths, LENGTH_QUANTILES), strict=True):
        summary[f"p{q}"] = float(value)
    return summary


def check_budgets(budgets: Sequence[int], max_tokens: int) -> list[int]:
    """Sorted distinct budgets, each at most the run's max tokens."""
    budgets = sorted(set(budgets))
    if any(b < 1 for b in budgets):
        raise EvalkitError("--budgets must be positive token counts")
    if budgets and budgets[-1] > max_tokens:
        raise EvalkitError(
            f"budget {budgets[-1]} exceeds the run's max tokens {max_tokens}: a budget curve "
            f"only cuts samples shorter; rerun with --max-tokens {budgets[-1]} or drop that budget"
        )
    return budgets
