import itertools
import math

import pytest

from evalkit.statistics.estimators import mean_with_ci, pass_at_k, score_task


@pytest.mark.parametrize(
    "n,c,k", [(5, 2, 1), (5, 2, 3), (6, 0, 2), (6, 6, 4), (8, 3, 8), (7, 1, 2)]
)
def test_pass_at_k_matches_enumeration_of_subsets(n, c, k):
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    brute = sum(any(samples[i] for i in s) for s in subsets) / len(subsets)
    assert pass_at_k(n, c, k) == pytest.approx(brute, abs=1e-12)


def test_pass_at_k_is_stable_for_large_n():
    value = pass_at_k(2000, 3, 100)
    exact = 1 - math.comb(1997, 100) / math.comb(2000, 100)
    assert value == pytest.approx(exact, rel=1e-9)


def test_pass_at_k_rejects_k_above_n():
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)


def test_score_task_avg_and_pass_with_standard_error():
    verdicts = [[True, False], [False, False], [True, True], [False, True]]
    by_name = {m.metric: m for m in score_task(verdicts, [1, 2])}
    assert by_name["avg@2"].value == pytest.approx(0.5)
    assert by_name["pass@1"].value == pytest.approx(0.5)
    assert by_name["pass@2"].value == pytest.approx(0.75)
    per_problem = [0.5, 0.0, 1.0, 0.5]
    mean, se, (lo, hi) = mean_with_ci(per_problem, 2)
    assert by_name["avg@2"].stderr == pytest.approx(se)
    assert se == pytest.approx(0.2041241, rel=1e-6)  # sqrt(1/6) / 2
    assert lo < mean < hi and by_name["avg@2"].ci95 == pytest.approx((lo, hi))


def test_single_problem_has_an_interval_but_no_standard_error():
    (avg, p1) = score_task([[True]], [1])
    assert avg.value == 1.0 and avg.stderr is None
    assert avg.ci95 == pytest.approx((0.2065, 1.0), abs=1e-4)  # Wilson's for 1 of 1


def test_ragged_samples_are_rejected():
    with pytest.raises(ValueError):
        score_task([[True], [True, False]], [1])
