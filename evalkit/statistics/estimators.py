"""Estimators: per-problem scores from graded samples, and their mean over problems with
uncertainty.

Per problem, from n graded samples of which c are correct:

* avg@n   = c / n, the unbiased estimate of the problem's per-sample accuracy p.
* pass@k  = 1 - C(n-c, k) / C(n, k): the chance that a k-subset drawn without replacement from
  the n samples holds a correct one. Unbiased for 1 - (1-p)^k. Chen et al. (2021), "Evaluating
  Large Language Models Trained on Code", eq. 1; computed as a product, stable for large n.
* maj@k   = the expectation, over all C(n, k) k-subsets of the n samples, of the majority vote's
  credit. Samples vote for the equivalence class of their extracted answer (answers that
  math-verify judges equal share a class); samples without an answer do not vote. The gold
  class wins with credit 1 when it has strictly more votes than every other class; a tie for
  the most votes between the gold class and t other classes gives credit 1/(t+1) (the chance
  that a uniformly random tie-break picks gold); no gold vote, or another class ahead, gives 0.
  Computed exactly by counting subsets (see :func:`maj_at_k`), so it does not depend on sample
  order. Unbiased for the majority-of-k accuracy of k fresh samples.
* cons@n  = maj@n: the plurality vote over all n samples, same tie rule.

Over N problems a task's score is the mean of the per-problem values. Its standard error is
s / sqrt(N), s the standard deviation of the per-problem values. Because each per-problem value
is itself an estimate from n samples, its spread across problems holds both parts of the
variance (law of total variance): Var(mean) = (Var_problems(theta_i) + E[Var(estimate_i |
theta_i)]) / N, the between-problem and the within-problem (sampling) variance; see E. Miller
(2024), "Adding Error Bars to Evals", sec. 2-3. The 95% interval of every figure is the
clustered Wilson interval (:mod:`evalkit.statistics.intervals`), chosen because it holds its
coverage on
30-problem benchmarks where the Student-t and bootstrap intervals do not
(``benchmarks/coverage.py``); it never has zero width, 0/N and N/N included.

For avg@n the sampling part alone is also given (``se_sampling``): the standard error if the
problem set were held fixed and only the samples redrawn, sqrt(sum_i p_i(1-p_i)/n) / N,
estimated without bias by p^_i(1-p^_i)/(n-1). It is what separates two runs with other seeds.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import special

from evalkit.records import AnswerClass
from evalkit.results.schema import MetricValue
from evalkit.statistics.intervals import clustered_wilson

CONFIDENCE = 0.95
METRIC_KINDS = ("avg", "pass", "maj", "cons")
MAX_VOTE_SAMPLES = 1000  # maj@k counts subsets in float64: C(n, n/2) overflows past ~1020



def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn without replacement from n is correct."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def vote_counts(correct: Sequence[bool], classes: Sequence[AnswerClass]) -> tuple[int, list[int]]:
    """(votes for the gold answer, vote counts of the other answer classes) of one problem.

    Correct samples vote for gold whatever their class label; the other samples with an answer
    vote for their class.
    """
    if len(correct) != len(classes):
        raise ValueError("need one answer class per sample")
    pairs = zip(correct, classes, strict=True)
    others = Counter(cls for ok, cls in pairs if not ok and cls is not None)
    return sum(map(bool, correct)), sorted(others.values(), reverse=True)


def maj_at_k(gold: int, others: Sequence[int], n: int, ks: Sequence[int]) -> list[float]:
    """Exact maj@k for each k in ``ks``: mean vote credit over all k-subsets of the n samples.

    ``gold`` samples vote for the gold answer, ``others`` are the vote counts of the wrong
    answer classes, and the remaining ``n - gold - sum(others)`` samples have no answer.

    Counting: a subset with j >= 1 gold votes earns credit when every other class has at most j
    votes in it; with t classes at exactly j the credit is 1/(t+1). For each j, a generating
    polynomial over (subset size s, ties t) is built class by class: a class of size c adds
    a < j of its samples in C(c, a) ways, or exactly j in C(c, j) ways and one more tie;
    samples without an answer, and classes smaller than j, add any number freely. Then
    maj@k = sum_j C(gold, j) * sum_t W_j[k - j, t] / (t + 1) / C(n, k).
    """
    free_total = n - gold - sum(others)
    if gold < 0 or free_total < 0 or any(c < 1 for c in others):
        raise ValueError(f"vote counts gold={gold} others={list(others)} do not fit n={n}")
    if any(not 1 <= k <= n for k in ks):
        raise ValueError(f"need 1 <= k <= n={n}, got {list(ks)}")
    by_k = {n: _plurality_credit(gold, others)}
    smaller = sorted({k for k in ks if k < n})
    if smaller:
        by_k.update(zip(smaller, _subset_credit(gold, others, n, smaller), strict=True))
    return [by_k[k] for k in ks]


def _plurality_credit(gold: int, others: Sequence[int]) -> float:
    """The vote credit of all n samples together (the one n-subset)."""
    top = max(others, default=0)
    if gold == 0 or gold < top:
        return 0.0
    return 1.0 / (1 + sum(c == gold for c in others))


def _subset_credit(gold: int, others: Sequence[int], n: int, ks: list[int]) -> list[float]:
    """Mean credit over the k-subsets, k < n, by the count in :func:`maj_at_k`'s docstring.

    Adding a class multiplies the polynomial in s by sum_{a<j} C(c, a) x^a: a lower-triangular
    Toeplitz matrix applied to every tie column at once.
    """
    if n > MAX_VOTE_SAMPLES:
        raise ValueError(f"maj@k is computed for at most {MAX_VOTE_SAMPLES} samples, got n={n}")
    kmax = max(ks)
    binom = _pascal(n)  # binom[c, a] = C(c, a)
    offset = np.subtract.outer(np.arange(kmax + 1), np.arange(kmax + 1))  # row - column
    credit_sum = np.zeros(kmax + 1)  # credit_sum[k]: total credit over all k-subsets
    for j in range(1, min(gold, kmax) + 1):
        size = kmax - j  # other samples a subset of at most kmax can hold
        rivals = [c for c in others if c >= j] if j <= size else []  # else none can reach j
        ways = np.zeros((size + 1, len(rivals) + 1))
        ways[:, 0] = binom[n - gold - sum(rivals), : size + 1]
        if rivals:
            lags = offset[: size + 1, : size + 1]
            lag_index = np.where((lags >= 0) & (lags < j), lags, n + 1)  # C(c, n + 1) = 0
        for c in rivals:
            grown = binom[c, lag_index] @ ways
            grown[j:, 1:] += binom[c, j] * ways[: size + 1 - j, :-1]
            ways = grown
        credit = ways @ (1.0 / np.arange(1, len(rivals) + 2))
        credit_sum[j:] += binom[gold, j] * credit
    return [float(credit_sum[k] / binom[n, k]) for k in ks]


@functools.lru_cache(maxsize=8)
def _pascal(n: int) -> np.ndarray:
    """C(c, a) for 0 <= c <= n and 0 <= a <= n + 1, as floats (0 where a > c)."""
    counts = np.arange(n + 1)[:, None]
    return special.comb(counts, np.arange(n + 2)[None, :])


def cons_at_n(gold: int, others: Sequence[int], n: int) -> float:
    """Plurality vote over all n samples (maj@n), with the tie rule of :func:`maj_at_k`."""
    return maj_at_k(gold, others, n, [n])[0]


def problem_scores(
    kind: str, k: int | None, correct: Sequence[Sequence[bool]],
    classes: Sequence[Sequence[AnswerClass]] | None = None,
) -> np.ndarray:
    """Per-problem values of one metric (``kind`` avg/pass/maj/cons; k for pass and maj)."""
    if kind not in METRIC_KINDS:
        raise ValueError(f"unknown metric {kind!r}; use one of {', '.join(METRIC_KINDS)}")
    if kind in ("pass", "maj") and k is None:
        raise ValueError(f"{kind}@k needs k")
    if kind == "avg":
        return np.array([sum(map(bool, row)) / len(row) for row in correct])
    if kind == "pass":
        return np.array([pass_at_k(len(row), sum(map(bool, row)), k) for row in correct])
    if classes is None:
        raise ValueError(f"{kind} needs the answer class of every sample")
    values = []
    for row, labels in zip(correct, classes, strict=True):
        gold, others = vote_counts(row, labels)
        values.append(maj_at_k(gold, others, len(row), [len(row) if kind == "cons" else k])[0])
    return np.array(values)


def mean_with_ci(
    per_problem: Sequence[float], n: int,
) -> tuple[float, float | None, tuple[float, float] | None]:
    """Mean, standard error over problems (None for one problem) and the clustered Wilson 95%
    interval of per-problem values computed from ``n`` samples each."""
    values = np.asarray(per_problem, dtype=float)
    mean = float(values.mean())
    stderr = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else None
    low, high = clustered_wilson(values, n)
    return mean, stderr, (float(low), float(high))


def sampling_stderr(correct: Sequence[Sequence[bool]]) -> float | None:
    """Standard error of avg@n from sample noise alone, the problem set held fixed.

    sqrt(sum_i p^_i (1 - p^_i) / (n_i - 1)) / N: unbiased for the variance of the mean of the
    per-problem accuracies given the problems. None when some problem has a single sample.
    """
    if any(len(row) < 2 for row in correct):
        return None
    variance = sum(
        (c := sum(map(bool, row))) * (len(row) - c) / (len(row) ** 2 * (len(row) - 1))
        for row in correct
    )
    return math.sqrt(variance) / len(correct)


def score_task(
    correct: Sequence[Sequence[bool]], ks: Sequence[int],
    classes: Sequence[Sequence[AnswerClass]] | None = None,
) -> list[MetricValue]:
    """avg@n, pass@k for each k, and with answer classes maj@k (1 < k < n) and cons@n.

    ``correct`` holds per-problem lists of n verdicts (n equal for all); ``classes`` the answer
    class of each sample (same shape).
    """
    n = len(correct[0])
    if any(len(row) != n for row in correct):
        raise ValueError("every problem needs the same number of samples")
    problems = len(correct)
    avg = mean_with_ci(problem_scores("avg", None, correct), n)
    results = [MetricValue(f"avg@{n}", n, n, problems, *avg, se_sampling=sampling_stderr(correct))]
    for k in ks:  # pass@1 has avg@n's per-problem values, so its interval too
        figure = avg if k == 1 else mean_with_ci(problem_scores("pass", k, correct), n)
        results.append(MetricValue(f"pass@{k}", k, n, problems, *figure))
    if classes is None or n < 2:
        return results
    vote_ks = sorted({k for k in ks if 1 < k < n} | {n})
    per_problem = np.array([
        maj_at_k(*vote_counts(row, labels), n, vote_ks)
        for row, labels in zip(correct, classes, strict=True)
    ])
    for column, k in enumerate(vote_ks):
        name = f"cons@{n}" if k == n else f"maj@{k}"
        results.append(MetricValue(name, k, n, problems, *mean_with_ci(per_problem[:, column], n)))
    return results
