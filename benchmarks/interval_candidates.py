"""The interval methods that benchmarks/coverage.py weighs against evalkit's, vectorised over
benchmarks: ``values`` has shape (benchmarks, N problems), each value from n samples; each
function returns (low, high) arrays.

* ``t_interval``: Student-t over problems;
* ``bootstrap_interval``: BCa bootstrap over problems (Efron 1987), a point when all values are
  equal;
* ``wilson_kg`` / ``cp_kg``: Wilson / Clopper-Pearson on the Korn & Graubard (1998) effective
  sample size v(1-v)/SE^2 times (z / t_{N-1})^2; N where v is 0 or 1 or the values do not vary;
  at most N n;
* ``beta_binomial``: the equal-tailed posterior interval of the mean under the clustered
  beta-binomial model of Bowyer et al. (2025), uniform priors on the mean and on the
  intra-class correlation (counts of correct samples only: avg@n).
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

Z = float(stats.norm.ppf(0.975))
Interval = tuple[np.ndarray, np.ndarray]


def t_interval(values: np.ndarray, n: int) -> Interval:
    count = values.shape[-1]
    mean, spread = values.mean(-1), values.std(-1, ddof=1) / np.sqrt(count)
    half = stats.t.ppf(0.975, count - 1) * spread
    return np.maximum(mean - half, 0), np.minimum(mean + half, 1)


def bootstrap_interval(
    values: np.ndarray, n: int, resamples: int = 500, seed: int = 0,
) -> Interval:
    """BCa over problems, vectorised over benchmarks."""
    rng = np.random.default_rng(seed)
    reps, count = values.shape
    mean = values.mean(1)
    boot = np.empty((reps, resamples))
    for start in range(0, resamples, 50):
        picks = rng.integers(0, count, size=(50, count))
        boot[:, start:start + 50] = values[:, picks].mean(2)
    boot.sort(axis=1)
    below = (boot < mean[:, None]).mean(1) + 0.5 * (boot == mean[:, None]).mean(1)
    z0 = stats.norm.ppf(np.clip(below, 1e-9, 1 - 1e-9))
    centred = values - mean[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        accel = (centred**3).sum(1) / (6 * ((centred**2).sum(1)) ** 1.5)
    accel = np.nan_to_num(accel)
    ends = []
    for z in (-Z, Z):
        level = stats.norm.cdf(z0 + (z0 + z) / (1 - accel * (z0 + z)))
        index = np.clip(np.round(level * (resamples - 1)).astype(int), 0, resamples - 1)
        ends.append(np.take_along_axis(boot, index[:, None], 1)[:, 0])
    flat = np.ptp(values, axis=1) == 0
    return np.where(flat, mean, ends[0]), np.where(flat, mean, ends[1])


def effective_size(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, Korn-Graubard effective sample size with the degrees-of-freedom factor)."""
    count = values.shape[-1]
    mean, variance = values.mean(-1), values.var(-1, ddof=1) / count
    with np.errstate(divide="ignore", invalid="ignore"):
        size = mean * (1 - mean) / variance
    size = np.where((mean <= 0) | (mean >= 1) | ~np.isfinite(size), count, size)
    size = np.minimum(size, count * n) * (Z / stats.t.ppf(0.975, count - 1)) ** 2
    return mean, size


def wilson_kg(values: np.ndarray, n: int) -> Interval:
    mean, size = effective_size(values, n)
    c = Z * Z / size
    centre = (mean + c / 2) / (1 + c)
    half = Z * np.sqrt(mean * (1 - mean) / size + c / (4 * size)) / (1 + c)
    return np.maximum(centre - half, 0), np.minimum(centre + half, 1)


def cp_kg(values: np.ndarray, n: int) -> Interval:
    mean, size = effective_size(values, n)
    hits = mean * size
    low = np.where(hits > 0, stats.beta.ppf(0.025, np.maximum(hits, 1e-12), size - hits + 1), 0)
    high = np.where(hits < size,
                    stats.beta.ppf(0.975, hits + 1, np.maximum(size - hits, 1e-12)), 1)
    return low, high


_THETA = np.sin((np.arange(600) + 0.5) * np.pi / 1200) ** 2
_RHO = special.expit(np.linspace(-7, 7, 32))


def beta_binomial(values: np.ndarray, n: int) -> Interval:
    """Equal-tailed posterior interval of the mean of the clustered beta-binomial model."""
    counts = np.rint(values * n).astype(int)
    kappa = 1 / _RHO[None, :] - 1
    a, b = _THETA[:, None] * kappa, (1 - _THETA[:, None]) * kappa
    table = stats.betabinom.logpmf(np.arange(n + 1)[:, None, None], n, a, b).reshape(n + 1, -1)
    histogram = np.stack([(counts == c).sum(-1) for c in range(n + 1)], -1).astype(float)
    prior = np.log(_RHO * (1 - _RHO))  # uniform on the ICC, nodes even in logit
    step = np.gradient(_THETA)  # uniform on the mean
    low, high = np.empty(len(values)), np.empty(len(values))
    for start in range(0, len(values), 200):
        rows = slice(start, start + 200)
        log_post = (histogram[rows] @ table).reshape(-1, len(_THETA), len(_RHO)) + prior
        log_post -= log_post.max(axis=(1, 2), keepdims=True)
        marginal = np.exp(log_post).sum(2) * step
        cdf = np.cumsum(marginal, 1)
        cdf /= cdf[:, -1:]
        low[rows] = [np.interp(0.025, row, _THETA) for row in cdf]
        high[rows] = [np.interp(0.975, row, _THETA) for row in cdf]
    return low, high
