"""Budget curves: the scores a run would have had, had generation stopped at B tokens.

A run with max-tokens B makes, for every sample, the first B tokens of what a run with a larger
budget makes (per-sample seeds: the same random stream whatever the budget). So the score at
budget B is the grade of each stored sample cut at B tokens:

* a sample that ended (stop token) within B tokens is unchanged: its grade stands;
* every other sample is cut: its first B tokens are decoded (once per sample and budget) and
  graded by the grader as a completion that hit the length limit, exactly as a run with
  max-tokens B would grade it. Verdicts come from the grader's cache when the cut text
  extracts an answer already judged, so an unchanged answer costs no judge call.

Nothing is assumed about where the final answer is written: a text such as
``\boxed{12} ... \boxed{15}; no: \boxed{12}`` extracts 15 at budgets that cut it after the
second box, and is graded so. The curve is exact for the stored samples; results.json says how
each point was made (``method``).

``answer_token`` (a grades-file field) is a separate, approximate figure: the token count after
which the text extracts its final answer, found by bisection on the assumption that the
extracted answer does not change once written. The budget curve does not use it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evalkit.errors import EvalkitError
from evalkit.grading import Grader, GradeRequest, extract_answer
from evalkit.metrics import score_task
from evalkit.records import Problem

Decode = Callable[[list[int]], str]
LENGTH_QUANTILES = (10, 25, 50, 75, 90)


def answer_token(
    token_ids: Sequence[int], answer: str | None, answer_kind: str, decode: Decode,
) -> int | None:
    """Generated tokens after which ``answer`` (the final extracted answer) is complete, found
    by galloping back from the end and bisecting (O(log L) decodes). Approximate: it assumes
    the extracted answer does not change after it is first complete (see the module docstring).

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


CURVE_METHOD = "regraded"  # every sample cut at the budget decoded and graded again


@dataclass(frozen=True)
class GradedSample:
    """What the budget curve needs of one sample."""

    num_tokens: int  # generated tokens, the stop token included
    correct: bool
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
                if budget >= sample.num_tokens:
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
    finish_reasons: Sequence[Sequence[str]], ks: Sequence[int],
) -> list[dict[str, Any]]:
    """results.json's ``budget_curve``: per budget, avg@n and pass@k with CIs, the share of
    samples cut (longer than the budget, or as long and without a stop token), and how the
    point was made (``method``)."""
    lengths = np.array([t for row in num_tokens for t in row])
    stopped = np.array([r == "stop" for row in finish_reasons for r in row])
    return [
        {
            "budget": budget,
            "truncation_rate": float(np.mean((lengths > budget) | (lengths == budget) & ~stopped)),
            "metrics": [m.to_json() for m in score_task(verdicts, ks)],
            "method": CURVE_METHOD,
        }
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
