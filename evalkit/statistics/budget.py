"""Budget curves: the scores a run would have had, had generation stopped at B tokens.

A run with max-tokens B makes, for every sample, the first B tokens of what a run with a larger
budget makes (per-sample seeds: the same random stream whatever the budget). So the score at
budget B is the grade of each stored sample cut at B tokens:

* a sample that ended (stop token) within B tokens is unchanged: its grade stands;
* a sample whose final answer was complete by token B (``answer_token`` <= B) keeps its grade
  too: the prefix already yields the same extracted answer;
* any other sample is cut: its first B tokens are decoded and graded as a truncated completion
  (usually no answer: ``truncated``).

``answer_token`` is recorded per sample at grading time: the number of generated tokens from
which on every prefix yields the sample's final extracted answer. It is found from the end,
galloping back then bisecting, so it costs O(log L) decodes; this assumes that once the answer
is written, no longer prefix extracts something else before the end (true when nothing that
looks like an answer follows it). Only the cut samples are regraded, once per budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from evalkit.errors import EvalkitError
from evalkit.grading import Grader, GradeRequest, extract_answer
from evalkit.records import Problem
from evalkit.results.schema import BudgetPoint
from evalkit.statistics.estimators import score_task

Decode = Callable[[list[int]], str]
LENGTH_QUANTILES = (10, 25, 50, 75, 90)


def answer_token(
    token_ids: Sequence[int], answer: str | None, answer_kind: str, decode: Decode,
) -> int | None:
    """Generated tokens needed for ``answer`` (the final extracted answer) to be complete.

    None when there is no answer or the full decoded ids do not yield it.
    """
    if answer is None:
        return None

    def holds(t: int) -> bool:
        return t > 0 and extract_answer(decode(list(token_ids[:t])), answer_kind)[0] == answer

    good = len(token_ids)
    if not holds(good):
        return None
    step, bad = 1, 0
    while good - step > 0:  # gallop back from the end until a prefix lacks the answer
        if not holds(good - step):
            bad = good - step
            break
        good -= step
        step *= 2
    while good - bad > 1:
        middle = (good + bad) // 2
        if holds(middle):
            good = middle
        else:
            bad = middle
    return good


@dataclass(frozen=True)
class GradedSample:
    """What the budget curve needs of one sample."""

    num_tokens: int  # generated tokens, the stop token included
    correct: bool
    answer_token: int | None
    token_ids: list[int] | None  # without the stop token


def correct_at_budgets(
    problems: Sequence[Problem], rows: Sequence[Sequence[GradedSample]], budgets: Sequence[int],
    decode: Decode, grader: Grader,
) -> dict[int, list[list[bool]]]:
    """Per budget, the verdict of every sample cut at that many tokens (rows of problems)."""
    table = {b: [[s.correct for s in row] for row in rows] for b in budgets}
    requests, places = [], []
    for budget in budgets:
        for i, (problem, row) in enumerate(zip(problems, rows, strict=True)):
            for j, sample in enumerate(row):
                if budget >= sample.num_tokens or (
                    sample.answer_token is not None and budget >= sample.answer_token
                ):
                    continue
                if sample.token_ids is None:
                    raise EvalkitError(
                        "budget curves need the generated token ids, and this engine did not "
                        "store them; rerun with --engine hf or without --budgets"
                    )
                text = decode(sample.token_ids[:budget])
                requests.append(GradeRequest(text, problem.gold, problem.answer_kind, "length"))
                places.append((budget, i, j))
    for (budget, i, j), grade in zip(places, grader.grade(requests), strict=True):
        table[budget][i][j] = grade.correct
    return table


def budget_curve(
    correct: dict[int, list[list[bool]]], num_tokens: Sequence[Sequence[int]],
    finish_reasons: Sequence[Sequence[str]], ks: Sequence[int], seed: int = 0,
) -> list[BudgetPoint]:
    """results.json's ``budget_curve``: per budget, avg@n and pass@k with CIs, and the share of
    samples cut (longer than the budget, or as long and without a stop token)."""
    lengths = np.array([t for row in num_tokens for t in row])
    stopped = np.array([r == "stop" for row in finish_reasons for r in row])
    return [
        BudgetPoint(
            budget=budget,
            truncation_rate=float(np.mean((lengths > budget) | (lengths == budget) & ~stopped)),
            metrics=score_task(verdicts, ks, seed=seed),
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
