"""The 95% interval of a task's score: the clustered Wilson interval.

A task's score is the mean over N problems of per-problem values v_i in [0, 1], each computed
from the same n samples of problem i (avg@n: c_i / n for c_i correct samples; pass@k, maj@k,
cons@n: see :mod:`evalkit.statistics.estimators`). The interval is for the population value
theta, the mean
of that figure over the population of problems the benchmark stands for; it must hold its
coverage on 30-problem benchmarks, where problems are often all-solved or never-solved and the
Student-t interval over problems covers 0.87 instead of 0.95 (measured:
``benchmarks/coverage.py``, tables in docs/statistics.md).

Model. Problems have solve rates p_i drawn from a Beta distribution with mean theta and
intra-class correlation rho (concentration 1/rho - 1), and c_i is binomial(n, p_i): c_i is
beta-binomial, as in the clustered model of Bowyer, Aitchison & Ivanova (2025), "Don't use the
CLT in LLM evals with fewer than a few hundred datapoints", arXiv:2503.01747. Then

    Var(mean of v_i) = theta (1 - theta) (rho + (1 - rho) / n) / N,

the binomial variance of N n samples times the design effect 1 + (n - 1) rho (Kish), i.e. an
effective sample size N n / (1 + (n - 1) rho) (Korn & Graubard 1998). For pass@k, maj@k and
cons@n the per-problem values are used as quasi-proportions of n (v_i n "successes"), the same
variance family: rho near 1 is the binary case (every problem all-or-nothing), rho = 0 the
binomial one.

Test and interval. For a candidate theta0 and a given rho the score statistic is
z = (v_bar - theta0) / sqrt(Var(theta0, rho)), the Wilson (1927) score test on the effective
sample size. rho is unknown, and data from a few problems say little about it, so the test's
p-value is averaged over rho's posterior *given theta0* (beta-binomial likelihood of the
observed values; prior uniform in log(concentration) = -logit(rho) on [-7, 7], i.e. the
concentration between 1e-3 and 1e3; benchmarks/coverage.py measured it against a prior
uniform in rho, which over-covers at N = 30 when problems are alike):

    p(theta0) = integral of 2 Phi(-|z(theta0, rho)|) d pi(rho | data, theta = theta0),

and the interval is {theta0 : p(theta0) >= 0.05}. Conditioning on theta0 is what keeps small
benchmarks honest: 29 problems never solved and one solved once in 16 samples are unlikely
under theta0 = 0.05 unless the solved problems are rare and solved often (large rho), and with
that rho the test does not reject 0.05; a plug-in design effect would (coverage 0.80 on such
benchmarks). For n = 1 the design effect is 1 whatever rho, and the interval is exactly
Wilson's. The interval always contains the observed mean and never has zero width; 0/N gives
[0, u] with u > 0.

Numerics: theta0 on a grid uniform in arcsin(sqrt(theta)) (finer near 0 and 1), rho on 32
nodes uniform in logit(rho) over the prior's range. p is found on every 8th grid node, then on
the nodes between the last rejected one and the next toward the mean, and the crossing
p = 0.05 is interpolated linearly there; agreement with a fine quadrature is within 1e-4
(tests/test_intervals.py). Everything is vectorised over benchmarks (leading axes), so the
coverage benchmark runs exactly this code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import special

ALPHA = 0.05
METHOD = "clustered-wilson"
COARSE_STRIDE = 8  # the p-value is first found on every 8th node, then refined


@dataclass(frozen=True)
class Grid:
    """The quadrature nodes of theta (``points``) and of rho (``rhos``)."""

    points: int = 601
    rhos: int = 32
    logit_rho_range: float = 7.0

    @cached_property
    def theta(self) -> np.ndarray:
        """Candidate values, strictly inside (0, 1), spaced evenly in arcsin(sqrt(theta))."""
        u = (np.arange(self.points) + 0.5) * (np.pi / 2) / self.points
        return np.sin(u) ** 2

    @cached_property
    def rho(self) -> np.ndarray:
        return special.expit(np.linspace(-self.logit_rho_range, self.logit_rho_range, self.rhos))

    @cached_property
    def log_prior(self) -> np.ndarray:
        """log prior weight of each rho node: flat in logit(rho) = -log(concentration)."""
        return np.zeros(self.rhos)


DEFAULT_GRID = Grid()


def clustered_wilson(
    values: np.ndarray, n: int, alpha: float = ALPHA, grid: Grid = DEFAULT_GRID,
    chunk: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of the clustered Wilson interval for each benchmark in ``values``.

    ``values`` has shape (..., N): per-problem values in [0, 1], each from ``n`` samples.
    Returns two arrays of shape (...). ``chunk`` bounds memory (benchmarks done at once).
    """
    values = np.asarray(values, dtype=float)
    if values.ndim < 1 or values.shape[-1] < 1:
        raise ValueError("need at least one problem")
    if not np.all(np.isfinite(values)) or np.any((values < -1e-9) | (values > 1 + 1e-9)):
        raise ValueError("per-problem values must lie in [0, 1]")
    values = np.clip(values, 0.0, 1.0)  # estimators computed in floating point may overshoot
    if n < 1:
        raise ValueError(f"need n >= 1 samples per problem, got {n}")
    lead, problems = values.shape[:-1], values.shape[-1]
    flat = values.reshape(-1, problems)
    means = flat.mean(axis=1)
    levels, counts = _level_counts(flat, n)
    theta = _window(grid.theta, means, problems)
    table = _level_table(levels, n, theta, grid.rho)
    rho = grid.rho[None, :]
    spread = np.sqrt(theta[:, None] * (1 - theta[:, None]) * (rho + (1 - rho) / n) / problems)
    scale = 1 / (np.sqrt(2) * spread)  # erfc(|mean - theta| * scale) is the score p-value
    table = table.reshape(len(levels), len(theta), len(grid.rho))
    coarse = np.unique(np.r_[np.arange(0, len(theta), COARSE_STRIDE), len(theta) - 1])
    low, high = np.empty(len(flat)), np.empty(len(flat))
    for start in range(0, len(flat), chunk):
        rows = slice(start, start + chunk)
        p_coarse = _p_values(means[rows], counts[rows], table, scale, theta, coarse,
                             grid.log_prior)
        coarse_theta = np.broadcast_to(theta[coarse], p_coarse.shape)
        ends = []
        for side in (-1, 1):
            found, index = _innermost_rejection(p_coarse, coarse_theta, means[rows], alpha, side)
            fine = _fine_nodes(coarse, index, side, theta, means[rows])
            p_fine = _p_values(means[rows], counts[rows], table, scale, theta, fine,
                               grid.log_prior)
            hit, where = _innermost_rejection(p_fine, theta[fine], means[rows], alpha, side)
            end = _end(p_fine, theta[fine], means[rows], where, side, alpha)
            ends.append(np.where(found & hit, end, 0.0 if side < 0 else 1.0))
        low[rows], high[rows] = ends
    return low.reshape(lead), high.reshape(lead)


def _level_counts(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The success counts present and, per benchmark, how many problems sit at each.

    A value v is v n successes of n; a fractional count (pass@k, maj@k) is shared between the
    two counts around it in proportion to its distance from each, so its log likelihood is
    interpolated linearly between theirs.
    """
    successes = values * n
    below = np.clip(np.floor(successes + 1e-9), 0, n)
    share = np.clip(successes - below, 0.0, 1.0)
    above = np.minimum(below + 1, n)
    levels, where = np.unique(np.concatenate([below, above], axis=1), return_inverse=True)
    where = where.reshape(len(values), -1)
    weights = np.concatenate([1 - share, share], axis=1)
    counts = np.zeros((len(values), len(levels)))
    np.add.at(counts, (np.arange(len(values))[:, None], where), weights)
    return levels, counts


def _window(theta: np.ndarray, means: np.ndarray, problems: int) -> np.ndarray:
    """The grid nodes that can hold an interval end: within 2.5 / sqrt(N) radians of some mean
    in arcsin(sqrt(.)) scale. The score p-value grows with the variance, which is largest at
    rho = 1, so the interval lies inside Wilson's interval for N trials, whose ends are within
    about 1.96 / sqrt(N) radians of the mean in that scale."""
    angle = np.arcsin(np.sqrt(theta))
    reach = 2.5 / np.sqrt(problems)
    means_angle = np.arcsin(np.sqrt(means))
    keep = (angle >= means_angle.min() - reach) & (angle <= means_angle.max() + reach)
    return theta[keep]


def _level_table(levels: np.ndarray, n: int, theta: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """log P(c | theta, rho) of the beta-binomial at each level c, without log C(n, c) (a
    function of the data alone): shape (levels, points * rhos)."""
    concentration = 1 / rho[None, :] - 1
    a, b = theta[:, None] * concentration, (1 - theta[:, None]) * concentration
    norm = special.betaln(a, b)
    return np.stack([(special.betaln(c + a, n - c + b) - norm).ravel() for c in levels])


def _p_values(
    means: np.ndarray, counts: np.ndarray, table: np.ndarray, scale: np.ndarray,
    theta: np.ndarray, nodes: np.ndarray, log_prior: np.ndarray,
) -> np.ndarray:
    """p(theta0) at grid nodes ``nodes`` for each benchmark: the same k nodes for all (1-d) or
    k nodes per benchmark (benchmarks x k)."""
    if nodes.ndim == 1:
        log_lik = (counts @ table[:, nodes].reshape(len(table), -1)).reshape(
            len(means), len(nodes), -1)
        nodes = np.broadcast_to(nodes, (len(means), len(nodes)))
    else:
        log_lik = np.einsum("bl,lbkr->bkr", counts, table[:, nodes])
    log_lik += log_prior
    log_lik -= log_lik.max(axis=2, keepdims=True)
    weight = np.exp(log_lik)
    distance = np.abs(means[:, None] - theta[nodes])
    p_value = special.erfc(distance[:, :, None] * scale[nodes])
    return np.einsum("bkr,bkr->bk", weight, p_value) / weight.sum(axis=2)


def _innermost_rejection(
    p_value: np.ndarray, theta: np.ndarray, means: np.ndarray, alpha: float, side: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per benchmark: whether some node on ``side`` of the mean (-1 below, +1 above) is
    rejected, and the position (column) of the rejected one nearest the mean."""
    outside = theta < means[:, None] if side < 0 else theta > means[:, None]
    hit = (p_value < alpha) & outside
    columns = hit.shape[1]
    index = columns - 1 - np.argmax(hit[:, ::-1], axis=1) if side < 0 else np.argmax(hit, axis=1)
    return hit.any(axis=1), index


def _fine_nodes(
    coarse: np.ndarray, index: np.ndarray, side: int, theta: np.ndarray, means: np.ndarray,
) -> np.ndarray:
    """The full-grid nodes from the innermost rejected coarse node to the next coarse node
    toward the mean (clipped to the mean's side), ascending, one row per benchmark."""
    start = coarse[index]
    steps = np.arange(COARSE_STRIDE + 1) - (0 if side < 0 else COARSE_STRIDE)
    nodes = np.clip(start[:, None] + steps[None, :], 0, len(theta) - 1)
    limit = np.searchsorted(theta, means, side="left" if side < 0 else "right")
    if side < 0:
        return np.minimum(nodes, np.maximum(limit - 1, 0)[:, None])
    return np.maximum(nodes, np.minimum(limit, len(theta) - 1)[:, None])


def _end(
    p_value: np.ndarray, theta: np.ndarray, means: np.ndarray, index: np.ndarray, side: int,
    alpha: float,
) -> np.ndarray:
    """The interval end between the innermost rejected node ``index`` and the next node toward
    the mean (or the mean itself, where p = 1), by linear interpolation of p."""
    rows = np.arange(len(means))
    inner = index + (1 if side < 0 else -1)
    inner = np.clip(inner, 0, theta.shape[1] - 1)
    t0, p0 = theta[rows, index], p_value[rows, index]
    t_in, p_in = theta[rows, inner], p_value[rows, inner]
    toward = (t_in > t0) if side < 0 else (t_in < t0)
    usable = toward & ((t_in < means) if side < 0 else (t_in > means))
    t1, p1 = np.where(usable, t_in, means), np.where(usable, p_in, 1.0)
    share = np.clip((alpha - p0) / np.maximum(p1 - p0, 1e-300), 0.0, 1.0)
    return t0 + share * (t1 - t0)
