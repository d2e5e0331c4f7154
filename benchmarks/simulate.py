"""Synthetic benchmarks for the statistics benchmarks (coverage.py, compare_type1.py).

A setting is N problems, n samples per problem, a mean accuracy m and a shape of problem
difficulty. Each problem gets a solve rate p from the shape; each sample is correct with
probability p; a wrong sample answers one of two wrong answers (shares 0.65 and 0.35), so that
maj@k has something to vote against.

Shapes (all with mean m):

* ``beta-wide``: p ~ Beta(2m, 2(1-m)), intra-class correlation (ICC) 1/3;
* ``beta-narrow``: p ~ Beta(20m, 20(1-m)), ICC 1/21: problems alike;
* ``point-mass``: half the problems are always (probability m) or never solved, the other
  half p ~ Beta(4m, 4(1-m)); ICC 0.6: the AIME shape of small models.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy import special

from evalkit.statistics.estimators import maj_at_k, pass_at_k

SHAPES = ("beta-wide", "beta-narrow", "point-mass")
FULL = {"problems": (5, 30, 40, 500), "samples": (1, 4, 16, 64),
        "means": (0.02, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.98)}
QUICK = {"problems": (5, 30, 500), "samples": (1, 16), "means": (0.02, 0.10, 0.50, 0.90)}
WRONG_SHARES = (0.65, 0.35)
_CONCENTRATION = {"beta-wide": 2.0, "beta-narrow": 20.0, "point-mass": 4.0}


@dataclass(frozen=True)
class Setting:
    problems: int
    samples: int
    mean: float
    shape: str

    def label(self) -> str:
        return f"N={self.problems} n={self.samples} m={100 * self.mean:g}% {self.shape}"


def solve_rates(rng: np.random.Generator, setting: Setting, size: tuple[int, ...]) -> np.ndarray:
    """Problem solve rates p, shape ``size``."""
    m, kappa = setting.mean, _CONCENTRATION[setting.shape]
    rates = rng.beta(m * kappa, (1 - m) * kappa, size)
    if setting.shape == "point-mass":
        fixed = rng.random(size) < 0.5
        rates = np.where(fixed, (rng.random(size) < m).astype(float), rates)
    return rates


def draw_votes(
    rng: np.random.Generator, setting: Setting, rates: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(correct samples, samples on the first wrong answer) per problem; the rest answer the
    second wrong answer."""
    correct = rng.binomial(setting.samples, rates)
    first_wrong = rng.binomial(setting.samples - correct, WRONG_SHARES[0])
    return correct, first_wrong


def per_problem(metric: str, k: int, n: int, correct: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Per-problem values of avg@n ("avg"), pass@k ("pass") or maj@k ("maj") from vote counts,
    with evalkit's own estimators."""
    if metric == "avg":
        return correct / n
    if metric == "pass":
        return _pass_table(n, k)[correct]
    return _maj_table(n, k)[correct, first]


@cache
def _pass_table(n: int, k: int) -> np.ndarray:
    return np.array([pass_at_k(n, c, k) for c in range(n + 1)])


@cache
def _maj_table(n: int, k: int) -> np.ndarray:
    table = np.zeros((n + 1, n + 1))
    for gold in range(n + 1):
        for first in range(n - gold + 1):
            others = sorted((x for x in (first, n - gold - first) if x), reverse=True)
            table[gold, first] = maj_at_k(gold, others, n, [k])[0]
    return table


def true_value(metric: str, k: int, setting: Setting) -> float:
    """The population value of the metric: E over problems of its per-sample target."""
    m, kappa = setting.mean, _CONCENTRATION[setting.shape]
    value = _beta_value(metric, k, m * kappa, (1 - m) * kappa)
    if setting.shape == "point-mass":
        return 0.5 * m + 0.5 * value  # an always-solved problem scores 1 on every metric
    return value


def _beta_value(metric: str, k: int, a: float, b: float) -> float:
    """E f(p) for p ~ Beta(a, b): f(p) = p (avg), 1 - (1-p)^k (pass@k), or the chance that the
    gold answer wins the vote of k fresh samples (maj@k, ties split)."""
    if metric == "avg":
        return a / (a + b)
    if metric == "pass":
        return 1 - float(np.exp(special.betaln(a, b + k) - special.betaln(a, b)))
    total = 0.0
    share_a, share_b = WRONG_SHARES
    for gold in range(1, k + 1):
        for first in range(k - gold + 1):
            second = k - gold - first
            if max(first, second) > gold:
                continue
            credit = 1 / (1 + (first == gold) + (second == gold))
            ways = special.gammaln(k + 1) - special.gammaln(gold + 1) - special.gammaln(
                first + 1) - special.gammaln(second + 1)
            moment = special.betaln(a + gold, b + k - gold) - special.betaln(a, b)
            total += credit * np.exp(ways + moment) * share_a**first * share_b**second
    return float(total)
