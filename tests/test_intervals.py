"""The clustered Wilson interval: edge cases against closed forms and an independent quadrature,
and fixed-seed coverage simulations that fail when coverage leaves its band."""

import numpy as np
import pytest
from scipy import optimize, special, stats

from evalkit.statistics.estimators import maj_at_k, pass_at_k, score_task
from evalkit.statistics.intervals import clustered_wilson

BAND = (0.93, 0.97)


def reference(values: np.ndarray, n: int) -> tuple[float, float]:
    """The interval of evalkit.statistics.intervals' docstring by brute force: the ICC integrated in
    logit(rho) over its prior, flat on (-7, 7), on 2001 points; the ends found by root
    finding."""
    values = np.asarray(values, dtype=float)
    count, mean = len(values), values.mean()
    successes = values * n
    low_count = np.floor(successes + 1e-9)
    share, high_count = successes - low_count, np.minimum(low_count + 1, n)
    steps = np.linspace(-7, 7, 2001)
    rho = special.expit(steps)

    def p_value(theta: float) -> float:
        kappa = 1 / rho[:, None] - 1
        a, b = theta * kappa, (1 - theta) * kappa

        def log_p(c):
            return special.betaln(c + a, n - c + b) - special.betaln(a, b)

        log_lik = ((1 - share) * log_p(low_count) + share * log_p(high_count)).sum(axis=1)
        weight = np.exp(log_lik - log_lik.max())
        z = abs(mean - theta) / np.sqrt(theta * (1 - theta) * (rho + (1 - rho) / n) / count)
        return np.trapezoid(weight * special.erfc(z / np.sqrt(2)), steps) / np.trapezoid(
            weight, steps)

    def excess(theta: float) -> float:
        return p_value(theta) - 0.05

    low = 0.0 if mean == 0 else optimize.brentq(excess, 1e-9, mean - 1e-12, xtol=1e-8)
    high = 1.0 if mean == 1 else optimize.brentq(excess, mean + 1e-12, 1 - 1e-9, xtol=1e-8)
    return low, high


def interval(values, n) -> tuple[float, float]:
    low, high = clustered_wilson(np.asarray(values, dtype=float), n)
    return float(low), float(high)


@pytest.mark.parametrize("solved,problems,expected", [
    (0, 30, (0.0, 0.11351)), (1, 30, (0.00591, 0.16670)), (29, 30, (0.83330, 0.99409)),
    (30, 30, (0.88649, 1.0)), (0, 5, (0.0, 0.43448)), (5, 5, (0.56552, 1.0)),
])
def test_one_sample_per_problem_is_the_wilson_interval(solved, problems, expected):
    values = [1.0] * solved + [0.0] * (problems - solved)
    assert interval(values, 1) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("values", [
    [0.0] * 30,  # 0 of 480
    [1.0] * 30,  # 480 of 480
    [0.0] * 29 + [1 / 16],  # one correct sample in 480
    [1.0] * 29 + [15 / 16],  # one wrong sample in 480
    [0.0] * 29 + [1.0],  # one problem always solved: 1/30 of the problems
    [1.0] * 29 + [0.0],  # 29/30
    [0.0] * 25 + [0.5] * 5,
    [(i % 17) / 16 for i in range(30)],
], ids=["0/N", "N/N", "1/480", "479/480", "1/30", "29/30", "five-halves", "spread"])
def test_sixteen_samples_per_problem_match_the_brute_force_interval(values):
    low, high = interval(values, 16)
    assert (low, high) == pytest.approx(reference(np.array(values), 16), abs=5e-4)
    assert low < high and low <= np.mean(values) <= high


def test_all_or_nothing_benchmarks_get_a_wide_but_bounded_interval():
    """0/N and N/N: as wide as one coin per problem (any problem could be always solved),
    never a point; one correct sample narrows nothing much, one solved problem widens."""
    none = interval([0.0] * 30, 16)
    assert none[0] == 0 and 0.09 < none[1] < 0.1136  # below Wilson's 0/30, far above 0
    assert interval([1.0] * 30, 16) == pytest.approx((1 - none[1], 1.0), abs=1e-9)
    assert interval([0.0] * 29 + [1.0], 16)[1] > interval([0.0] * 29 + [1 / 16], 16)[1]


def test_never_zero_width_and_always_around_the_mean():
    rng = np.random.default_rng(0)
    for n in (1, 2, 4, 16, 64):
        for problems in (2, 5, 30):
            values = rng.binomial(n, rng.beta(0.3, 0.3, size=(50, problems))) / n
            values[0], values[1] = 0.0, 1.0
            low, high = clustered_wilson(values, n)
            means = values.mean(axis=1)
            assert np.all(high - low > 1e-3) and np.all((low <= means) & (means <= high))
            assert np.all((low >= 0) & (high <= 1))


def test_metric_values_carry_the_interval_and_its_name():
    correct = [[False] * 16] * 30
    classes = [[None] * 16] * 30
    for metric in score_task(correct, [1, 4, 16], classes):
        assert metric.interval == "clustered-wilson"
        assert metric.value == 0 and metric.ci95[0] == 0 and metric.ci95[1] > 0.05


def _draw(rng, shape, mean, size):
    """Solve rates: Beta with ICC 1/3, or half always/never solved, half Beta(4m, 4(1-m))."""
    if shape == "beta":
        return rng.beta(2 * mean, 2 * (1 - mean), size)
    fixed = rng.random(size) < 0.5
    return np.where(fixed, (rng.random(size) < mean).astype(float),
                    rng.beta(4 * mean, 4 * (1 - mean), size))


def _coverage(values, n, truth):
    low, high = clustered_wilson(values, n)
    return float(np.mean((low <= truth) & (truth <= high)))


@pytest.mark.parametrize("problems,n,shape,mean", [
    (30, 16, "point", 0.05),  # the Student-t interval covers 0.76 here
    (30, 16, "beta", 0.05),
    (30, 4, "point", 0.5),
    (40, 64, "beta", 0.9),
    (500, 16, "point", 0.02),
])
def test_avg_coverage_stays_in_its_band(problems, n, shape, mean):
    rng = np.random.default_rng(5)
    rates = _draw(rng, shape, mean, (1500, problems))
    values = rng.binomial(n, rates) / n
    assert BAND[0] <= _coverage(values, n, mean) <= BAND[1]


def test_pass_at_k_coverage_stays_in_its_band():
    rng = np.random.default_rng(6)
    n, k, a, b = 16, 4, 1.8, 0.2  # Beta with mean 90%, ICC 1/3: Student-t covers 0.65
    truth = 1 - np.exp(special.betaln(a, b + k) - special.betaln(a, b))
    correct = rng.binomial(n, rng.beta(a, b, (1500, 30)))
    table = np.array([pass_at_k(n, c, k) for c in range(n + 1)])
    assert BAND[0] <= _coverage(table[correct], n, truth) <= BAND[1]


def test_maj_at_k_coverage_stays_in_its_band():
    """Gold against a single wrong answer: maj@5 wins with 3 or more gold votes of 5; mean
    accuracy 5%, ICC 1/2: Student-t covers 0.73."""
    rng = np.random.default_rng(7)
    n, k, a, b = 16, 5, 0.1, 1.9
    truth = stats.betabinom(k, a, b).sf(2)
    correct = rng.binomial(n, rng.beta(a, b, (1500, 30)))
    table = np.array([maj_at_k(c, [n - c] if c < n else [], n, [k])[0] for c in range(n + 1)])
    assert BAND[0] <= _coverage(table[correct], n, truth) <= BAND[1]
