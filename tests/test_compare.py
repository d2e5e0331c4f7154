"""`compare_runs` on constructed runs whose difference is known."""

import itertools

import numpy as np
import pytest
from stats_runs import verdict_rows, write_run

from evalkit.errors import EvalkitError
from evalkit.statistics.compare import compare_runs, paired_difference


def test_uniform_gain_is_exact_and_called_better(tmp_path):
    counts = [i % 7 for i in range(40)]
    a = write_run(tmp_path / "a", {"aime24": verdict_rows(counts, 8)})
    b = write_run(tmp_path / "b", {"aime24": verdict_rows([c + 1 for c in counts], 8)})
    (result,) = compare_runs(a, b)
    assert result.task == "aime24" and result.metric == "avg@8" and result.problems == 40
    assert result.diff == pytest.approx(1 / 8)
    assert result.b - result.a == pytest.approx(result.diff)
    assert result.ci95 == pytest.approx((1 / 8, 1 / 8))
    assert result.p_value < 0.001
    assert result.verdict().startswith(
        "B better than A on aime24 avg@8 by +12.5 pts, 95% CI [+12.5, +12.5]"
    )
    (reverse,) = compare_runs(b, a)
    assert reverse.verdict("new", "old").startswith("old worse than new on aime24 avg@8 by -12.5")


def test_identical_runs_show_no_difference(tmp_path):
    rows = {"gsm8k": verdict_rows([0, 3, 5, 8, 2, 2], 8)}
    (result,) = compare_runs(write_run(tmp_path / "a", rows), write_run(tmp_path / "b", rows))
    assert result.diff == 0 and result.ci95 == (0.0, 0.0) and result.p_value == 1.0
    assert result.verdict().startswith("no clear difference between A and B on gsm8k avg@8: +0.0")


def test_p_value_matches_enumerating_every_swap(tmp_path):
    a_counts, b_counts = [1, 2, 0, 4, 3, 1], [3, 2, 2, 4, 4, 0]
    a = write_run(tmp_path / "a", {"t": verdict_rows(a_counts, 4)})
    b = write_run(tmp_path / "b", {"t": verdict_rows(b_counts, 4)})
    (result,) = compare_runs(a, b)
    diffs = (np.array(b_counts) - np.array(a_counts)) / 4
    observed = abs(diffs.mean())
    flips = [abs((diffs * signs).mean()) for signs in itertools.product([1, -1], repeat=6)]
    exact = np.mean([f >= observed - 1e-12 for f in flips])
    assert result.p_value == pytest.approx(exact)
    assert result.diff == pytest.approx(diffs.mean())


def test_noisy_runs_from_one_model_mostly_agree_and_a_real_gap_is_found(tmp_path):
    rng = np.random.default_rng(1)
    p = rng.beta(1, 1, size=60)
    draw = lambda probs: [int(rng.binomial(16, q)) for q in probs]  # noqa: E731
    base = write_run(tmp_path / "a", {"t": verdict_rows(draw(p), 16)})
    same = write_run(tmp_path / "b", {"t": verdict_rows(draw(p), 16)})
    better = write_run(tmp_path / "c", {"t": verdict_rows(draw(np.minimum(p + 0.15, 1)), 16)})
    (null,) = compare_runs(base, same)
    (gap,) = compare_runs(base, better)
    assert null.ci95[0] < 0 < null.ci95[1] and null.p_value > 0.05
    assert gap.direction == 1 and gap.p_value < 0.01
    true_gap = float(np.mean(np.minimum(p + 0.15, 1) - p))
    assert gap.ci95[0] < true_gap < gap.ci95[1]
    assert compare_runs(base, better, seed=5)[0].ci95 != gap.ci95
    assert compare_runs(base, better)[0] == gap  # seeded: reproducible


def test_pass_maj_and_cons_use_their_own_per_problem_values(tmp_path):
    a = write_run(tmp_path / "a", {"t": {
        "p0": [True, "1", "1", None], "p1": [True, True, "2", "3"], "p2": ["4", "4", "4", True],
    }})
    b = write_run(tmp_path / "b", {"t": {
        "p0": [True, True, True, "1"], "p1": [True, True, True, True], "p2": [True, "4", "4", "5"],
    }})
    (maj,) = compare_runs(a, b, metric="maj", k=3)
    (cons,) = compare_runs(a, b, metric="cons")
    (pass2,) = compare_runs(a, b, metric="pass", k=2)
    assert maj.metric == "maj@3" and cons.metric == "cons@4" and pass2.metric == "pass@2"
    # cons@4 of A: p0 loses 1-2, p1 wins 2-1-1, p2 loses 1-3; of B: wins, wins, loses 1-2
    assert cons.a == pytest.approx(1 / 3) and cons.b == pytest.approx(2 / 3)
    assert pass2.a == pytest.approx((0.5 + 5 / 6 + 0.5) / 3)


def test_settings_and_problem_differences_are_noted(tmp_path):
    a = write_run(tmp_path / "a", {"t": verdict_rows([1, 2, 3, 4], 4)})
    b = write_run(tmp_path / "b", {"t": verdict_rows([1, 2, 3], 4)}, sampling={"temperature": 1.0})
    (result,) = compare_runs(a, b)
    assert result.problems == 3
    assert any("temperature" in note for note in result.notes)
    assert any("1 problems only in A" in note for note in result.notes)


def test_bad_requests_name_the_fix(tmp_path):
    a = write_run(tmp_path / "a", {"t": verdict_rows([1, 2], 2)})
    b = write_run(tmp_path / "b", {"u": verdict_rows([1, 2], 2)})
    with pytest.raises(EvalkitError, match="share no task"):
        compare_runs(a, b)
    with pytest.raises(EvalkitError, match="k <= 2"):
        compare_runs(a, a, metric="pass", k=3)
    with pytest.raises(EvalkitError, match="unknown metric"):
        compare_runs(a, a, metric="best")
    with pytest.raises(ValueError):
        paired_difference(np.array([1.0]), np.array([0.0]))
