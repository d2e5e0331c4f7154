"""The paired sign-flip permutation test of two runs, and the interval that inverts it.

Per shared problem i, d_i = b_i - a_i (a_i, b_i the per-problem values of run A and run B).
If A and B are exchangeable on every problem, each d_i is as likely to be -d_i: the test
flips the sign of each d_i independently and asks how often the mean of the flipped differences
is at least as far from 0 as the observed mean (two-sided). All 2^N sign patterns are counted
when 2^N <= ``resamples`` (the exact p-value); otherwise ``resamples`` random patterns (numpy
generator seeded with ``seed``), with the observed pattern counted once more:
p = (1 + #{patterns at least as extreme}) / (resamples + 1) (Phipson & Smyth 2010).

The interval inverts the same test with the same patterns: delta is in the 95% interval when
the test of "d_i - delta is symmetric about 0" does not reject at 0.05 (Hartigan 1969). For each
pattern s the set of delta where it counts as extreme is a half-line ending at a point computed
in closed form (``_thresholds``), so the interval is exact for the patterns used, and 0 is
inside it exactly when p >= 0.05: the verdict, the interval and the p-value cannot disagree.

With N <= 5 problems no pattern set can reach p < 0.05 (the smallest exact p is 2 / 2^N); the
interval then spans every possible difference, [-1, 1], and ``bounded`` is False.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
RESAMPLES = 9999
_DECIMALS = 9  # thresholds are rounded to 1e-9, so that rounding in sums cannot break ties
_BLOCK = 1024  # sign patterns turned into floats at a time (memory: patterns x problems)


@dataclass(frozen=True)
class PairedTest:
    """The test of one pair of runs: mean difference b - a, its interval and p-value."""

    diff: float
    ci95: tuple[float, float]
    p_value: float
    exact: bool  # all 2^N sign patterns counted
    bounded: bool  # False: with this few problems the test cannot reject; ci95 is [-1, 1]


def paired_test(
    a: np.ndarray, b: np.ndarray, seed: int = 0, resamples: int = RESAMPLES,
) -> PairedTest:
    """The sign-flip test of b - a and its inverted 95% interval (see the module docstring)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError("a paired comparison needs the same problems in both, at least two")
    p_values, lows, highs, exact = sign_flip(b[None, :] - a[None, :], seed, resamples)
    low, high = float(lows[0]), float(highs[0])
    bounded = math.isfinite(low) and math.isfinite(high)
    ci = (max(low, -1.0), min(high, 1.0)) if bounded else (-1.0, 1.0)
    return PairedTest(float((b - a).mean()), ci, float(p_values[0]), exact, bounded)


def sign_flip(
    diffs: np.ndarray, seed: int = 0, resamples: int = RESAMPLES, alpha: float = ALPHA,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """(p-values, interval lows, interval highs, exact) for each row of ``diffs`` (rows x N).

    An end is -inf / +inf where the test cannot reject on that side.
    """
    diffs = np.asarray(diffs, dtype=float)
    count = diffs.shape[1]
    signs, exact = _patterns(count, seed, resamples)
    # the p-value counts patterns at least as extreme; an interval end is where that count
    # falls below `needed` (exact: all patterns, observed included; else 1 + random ones)
    needed = math.ceil(alpha * len(signs) - 1e-9) if exact else math.ceil(
        alpha * (resamples + 1) - 1 - 1e-9)
    denominator = len(signs) if exact else resamples + 1
    extra = 0 if exact else 1
    p_values, lows, highs = [], [], []
    for start in range(0, len(diffs), 128):
        rows = diffs[start:start + 128]
        below, above = (np.round(t, _DECIMALS) for t in _thresholds(rows, signs))
        mean = rows.mean(axis=1)
        counted = np.where(mean > 0, (below <= 0).sum(axis=0), (above >= 0).sum(axis=0))
        p = np.where(mean == 0, 1.0, (extra + counted) / denominator)
        p_values.append(np.minimum(p, 1.0))
        lows.append(_ranked(below, needed, smallest=True))
        highs.append(_ranked(above, needed, smallest=False))
    low, high = np.concatenate(lows), np.concatenate(highs)
    mean = diffs.mean(axis=1)
    return np.concatenate(p_values), np.minimum(low, mean), np.maximum(high, mean), exact


def _patterns(count: int, seed: int, resamples: int) -> tuple[np.ndarray, bool]:
    """Sign patterns (patterns x N, int8): all of them if there are at most ``resamples``."""
    if count < 63 and 2**count <= resamples:
        return np.array(list(itertools.product((1, -1), repeat=count)), dtype=np.int8), True
    rng = np.random.default_rng(seed)
    return (2 * rng.integers(0, 2, size=(resamples, count), dtype=np.int8) - 1), False


def _thresholds(diffs: np.ndarray, signs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pattern s and row: below the mean, s counts as extreme for delta >= below[s];
    above it, for delta <= above[s] (patterns x rows).

    With D = sum d, S = sum s d, K = sum s, pattern s is extreme at delta when
    |S - delta K| >= |D - N delta|; for delta < mean that holds from min((D - S) / (N - K),
    (D + S) / (N + K)) up, for delta > mean up to max of the same two. The all-plus and
    all-minus patterns are always extreme.
    """
    count = diffs.shape[1]
    total = diffs.sum(axis=1)[None, :]
    flipped = np.concatenate([signs[start:start + _BLOCK].astype(float) @ diffs.T
                              for start in range(0, len(signs), _BLOCK)])
    plus = signs.sum(axis=1, dtype=np.int64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        first = (total - flipped) / (count - plus)
        second = (total + flipped) / (count + plus)
    always = np.abs(plus[:, 0]) == count
    below, above = np.fmin(first, second), np.fmax(first, second)
    below[always], above[always] = -np.inf, np.inf
    return below, above


def _ranked(values: np.ndarray, rank: int, smallest: bool) -> np.ndarray:
    """The rank-th smallest (or largest) value of each column; -inf / +inf for rank < 1."""
    if rank < 1:
        return np.full(values.shape[1], -np.inf if smallest else np.inf)
    if smallest:
        return np.partition(values, rank - 1, axis=0)[rank - 1]
    return -np.partition(-values, rank - 1, axis=0)[rank - 1]
