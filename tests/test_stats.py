"""Estimators against brute-force enumeration, and the sampling standard error against
simulation (the intervals' coverage: tests/test_intervals.py)."""

import itertools
import random
from collections import Counter

import numpy as np
import pytest

from evalkit.statistics.estimators import (
    cons_at_n,
    maj_at_k,
    mean_with_ci,
    pass_at_k,
    problem_scores,
    sampling_stderr,
    score_task,
    vote_counts,
)


def brute_force_maj(labels: list, k: int) -> float:
    """Mean credit over all k-subsets; label "gold" is correct, None has no answer."""
    total, subsets = 0.0, 0
    for subset in itertools.combinations(labels, k):
        subsets += 1
        votes = Counter(label for label in subset if label is not None)
        if votes.get("gold", 0) == 0:
            continue
        top = max(votes.values())
        if votes["gold"] == top:
            total += 1 / sum(1 for v in votes.values() if v == top)
    return total / subsets


@pytest.mark.parametrize("seed", range(40))
def test_maj_at_k_equals_enumerating_every_subset(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 9)
    labels = [rng.choice([None, "gold", "gold", "a", "b", "c"]) for _ in range(n)]
    gold, others = vote_counts([x == "gold" for x in labels], labels)
    got = maj_at_k(gold, others, n, range(1, n + 1))
    assert got == pytest.approx([brute_force_maj(labels, k) for k in range(1, n + 1)], abs=1e-12)
    assert cons_at_n(gold, others, n) == pytest.approx(brute_force_maj(labels, n), abs=1e-12)


def test_maj_tie_rule_and_edge_cases():
    assert cons_at_n(2, [2], 4) == 0.5  # a two-way tie for the most votes: half credit
    assert cons_at_n(1, [1, 1], 3) == pytest.approx(1 / 3)
    assert cons_at_n(0, [3], 4) == 0 and cons_at_n(1, [], 4) == 1  # unanswered do not vote
    assert maj_at_k(3, [], 3, [1, 2, 3]) == [1.0, 1.0, 1.0]
    assert maj_at_k(1, [], 4, [1]) == [0.25]  # maj@1 is the per-sample accuracy
    with pytest.raises(ValueError):
        maj_at_k(3, [2], 4, [1])
    with pytest.raises(ValueError):
        maj_at_k(1, [1], 4, [5])


def test_maj_at_k_does_not_depend_on_sample_order():
    rng = np.random.default_rng(0)
    labels = list(rng.choice(["gold", "x", "y", "z", None], size=24, p=[0.3, 0.3, 0.2, 0.1, 0.1]))
    correct = [x == "gold" for x in labels]
    reference = problem_scores("maj", 5, [correct], [labels])
    for _ in range(5):
        order = rng.permutation(24)
        shuffled = [labels[i] for i in order]
        again = problem_scores("maj", 5, [[x == "gold" for x in shuffled]], [shuffled])
        assert again == pytest.approx(reference, abs=1e-12)


def test_maj_at_k_stays_finite_for_many_samples():
    value = maj_at_k(300, [250, 200, 150, 100], 1000, [1, 64, 1000])
    assert all(0 <= v <= 1 for v in value) and value[0] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="at most"):
        maj_at_k(1, [], 1001, [1])


def test_score_task_names_every_metric_and_reuses_the_estimators():
    correct = [[True, False, True, False], [False] * 4, [True] * 3 + [False]]
    classes = [[0, 1, 0, 2], [1, 1, None, 2], [0, 0, 0, 1]]
    metrics = {m.metric: m for m in score_task(correct, [1, 2, 4], classes)}
    assert list(metrics) == ["avg@4", "pass@1", "pass@2", "pass@4", "maj@2", "cons@4"]
    assert metrics["avg@4"].value == pytest.approx(5 / 12)
    expected_pass2 = np.mean([pass_at_k(4, c, 2) for c in (2, 0, 3)])
    assert metrics["pass@2"].value == pytest.approx(expected_pass2)
    assert metrics["cons@4"].value == pytest.approx((1 + 0 + 1) / 3)
    assert {m.interval for m in metrics.values()} == {"clustered-wilson"}
    assert metrics["avg@4"].se_sampling == pytest.approx(sampling_stderr(correct))
    assert [m.metric for m in score_task(correct, [1])] == ["avg@4", "pass@1"]  # no classes


def _coverage(draw_problems, target, scorer, reps=300, seed=0):
    rng = np.random.default_rng(seed)
    hits = 0
    for rep in range(reps):
        low, high = scorer(draw_problems(rng), rep)
        hits += low <= target <= high
    return hits / reps


def test_sampling_interval_covers_a_fixed_problem_set_when_only_samples_are_redrawn():
    p = np.random.default_rng(7).beta(0.6, 1.2, size=40)

    def draw(rng):
        return rng.random((40, 8)) < p[:, None]

    def interval(c, _):
        mean, half = c.mean(), 1.96 * sampling_stderr(c.tolist())
        return mean - half, mean + half

    assert 0.91 <= _coverage(draw, p.mean(), interval, reps=400) <= 0.985
    # the population interval is wider: it also holds the spread of difficulty between problems
    c = draw(np.random.default_rng(1))
    assert mean_with_ci(c.mean(axis=1), 8)[1] > sampling_stderr(c.tolist())
