"""The sample-size planner on constructed pilots and known Bernoulli problems."""

import math

import numpy as np
import pytest
from click.testing import CliRunner
from stats_runs import verdict_rows, write_run

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.statistics.sample_size import VarianceComponents, half_width, make_plan, samples_needed


def test_pilot_splits_sample_noise_from_difficulty():
    easy_or_hard = [[True] * 4] * 5 + [[False] * 4] * 5
    parts = VarianceComponents.from_pilot(easy_or_hard)
    assert parts.within == 0 and parts.between == pytest.approx(np.var([1] * 5 + [0] * 5, ddof=1))
    coin_flips = [[True, False] * 2] * 10
    parts = VarianceComponents.from_pilot(coin_flips)
    assert parts.accuracy == 0.5 and parts.between == 0
    assert parts.within == pytest.approx(0.25 * 4 / 3)
    with pytest.raises(EvalkitError, match="2 samples per problem"):
        VarianceComponents.from_pilot([[True], [False]])


def test_stated_accuracy_gives_the_closed_form_sample_count():
    parts = VarianceComponents.from_accuracy(0.5, 30)
    n = samples_needed(parts, 0.02, 30)
    assert n == math.ceil(1.959964**2 * 0.25 / (30 * 0.02**2))  # 81
    assert half_width(parts, n, 30, "fixed") <= 0.02 < half_width(parts, n - 1, 30, "fixed")
    assert samples_needed(parts, 0.02, 30, "population") is None  # spread unknown


def test_planned_n_holds_reruns_within_the_target_on_known_problems():
    rng = np.random.default_rng(3)
    p = rng.beta(0.7, 1.5, size=40)
    truth = VarianceComponents(float(p.mean()), float(np.mean(p * (1 - p))), float(p.var()), 40,
                               "known")
    n = samples_needed(truth, 0.03, 40)
    scores = rng.binomial(n, p, size=(4000, 40)).mean(axis=1) / n
    inside = np.mean(np.abs(scores - p.mean()) <= 0.03)
    assert 0.93 < inside < 0.97
    quarter = rng.binomial(max(n // 4, 1), p, size=(4000, 40)).mean(axis=1) / max(n // 4, 1)
    assert np.mean(np.abs(quarter - p.mean()) <= 0.03) < 0.8


def test_population_scope_has_a_floor_and_says_how_many_problems_reach_it():
    pilot = [[True] * 8] * 10 + [[False] * 8] * 10 + [[True, False] * 4] * 10
    parts = VarianceComponents.from_pilot(pilot)
    plan = make_plan("aime24", parts, 0.05, scope="population")
    assert plan.samples is None
    needed = plan.problems_needed()
    floor = lambda count: half_width(parts, 10**9, count, "population")  # noqa: E731
    assert floor(needed) <= 0.05 < floor(needed - 1)
    assert "no number of samples" in plan.summary() and f"{needed} problems" in plan.summary()
    loose = make_plan("aime24", parts, 0.3, scope="population")
    assert loose.samples is not None
    assert half_width(parts, loose.samples, 30, "population") <= 0.3


def test_plan_command_from_a_pilot_and_from_an_accuracy(tmp_path):
    pilot = write_run(tmp_path / "pilot", {"mytask": verdict_rows([2, 3, 4, 1, 0, 4], 4)})
    result = CliRunner().invoke(main, ["plan", "--pilot", str(pilot), "--target-ci", "5"])
    assert result.exit_code == 0, result.output
    rows = [[True] * c + [False] * (4 - c) for c in [2, 3, 4, 1, 0, 4]]
    parts = VarianceComponents.from_pilot(rows)
    assert f"{samples_needed(parts, 0.05, 6)} samples per problem" in result.output
    stated = CliRunner().invoke(main, ["plan", "--task", "aime24", "--target-ci", "2",
                                       "--accuracy", "50"])
    assert stated.exit_code == 0, stated.output
    assert "aime24: 30 problems" in stated.output and "81 samples per problem" in stated.output
    neither = CliRunner().invoke(main, ["plan", "--task", "aime24", "--target-ci", "2"])
    assert neither.exit_code == 2 and "exactly one of --pilot" in neither.output
