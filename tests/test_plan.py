"""The sample-size planner on constructed pilots and known Bernoulli problems."""

import math
import re

import numpy as np
import pytest
from click.testing import CliRunner
from stats_runs import verdict_rows, write_run

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.statistics.sample_size import (
    VarianceComponents,
    half_width,
    make_plan,
    problems_needed,
    samples_needed,
)


def test_pilot_splits_sample_noise_from_difficulty():
    easy_hard_or_even = [[True] * 4] * 5 + [[False] * 4] * 5 + [[True, False] * 2] * 2
    parts = VarianceComponents.from_pilot(easy_hard_or_even)
    p = np.array([1] * 5 + [0] * 5 + [0.5] * 2)
    assert parts.within == pytest.approx(np.mean(p * (1 - p)) * 4 / 3)
    assert parts.between == pytest.approx(np.var(p, ddof=1) - np.mean(p * (1 - p)) / 3)
    coin_flips = [[True, False] * 2] * 10
    parts = VarianceComponents.from_pilot(coin_flips)
    assert parts.accuracy == 0.5 and parts.between == 0
    assert parts.within == pytest.approx(0.25 * 4 / 3)
    with pytest.raises(EvalkitError, match="2 samples per problem"):
        VarianceComponents.from_pilot([[True], [False]])


@pytest.mark.parametrize("pilot", [
    [[False, False]] * 2,  # all wrong: no sample noise to see
    [[True] * 4] * 6 + [[False] * 4] * 6,  # all-or-nothing problems
    [[True] * 4] * 6 + [[True, False, False, False]],  # one mixed problem
])
def test_degenerate_pilots_are_refused_saying_what_they_need(pilot):
    with pytest.raises(EvalkitError, match="both right and wrong samples.*at least 2.*--n"):
        VarianceComponents.from_pilot(pilot)


def test_stated_accuracy_gives_the_closed_form_sample_count():
    parts = VarianceComponents.from_accuracy(0.5, 30)
    n = samples_needed(parts, 0.02, 30)
    assert n == math.ceil(1.959964**2 * 0.25 / (30 * 0.02**2))  # 81
    assert half_width(parts, n, 30, "fixed") <= 0.02 < half_width(parts, n - 1, 30, "fixed")
    assert samples_needed(parts, 0.02, 30, "population") is None  # spread unknown


def test_planned_n_holds_reruns_within_the_target_on_known_problems():
    """Simulate the plan: with the planned n, 95% of runs land within the target of the
    fixed-set mean, and two runs differ by at most sqrt(2) times the target in 95% of pairs."""
    rng = np.random.default_rng(3)
    p = rng.beta(0.7, 1.5, size=40)
    truth = VarianceComponents(float(p.mean()), float(np.mean(p * (1 - p))), float(p.var()), 40,
                               "known")
    plan = make_plan("known", truth, 0.03)
    n = plan.samples
    runs = rng.binomial(n, p, size=(2, 4000, 40)).mean(axis=2) / n
    inside = np.mean(np.abs(runs[0] - p.mean()) <= 0.03)
    assert 0.93 < inside < 0.97
    apart = np.abs(runs[0] - runs[1])
    assert 0.93 < np.mean(apart <= np.sqrt(2) * 0.03) < 0.97
    assert np.mean(apart <= 0.03) < 0.9  # the target alone is not the rerun-to-rerun bound
    quarter = rng.binomial(max(n // 4, 1), p, size=(4000, 40)).mean(axis=1) / max(n // 4, 1)
    assert np.mean(np.abs(quarter - p.mean()) <= 0.03) < 0.8
    assert f"{n} samples per problem" in plan.summary()
    assert "fixed-set mean" in plan.summary() and "differ by up to ±4.2 pts" in plan.summary()


def test_population_scope_has_a_floor_and_says_how_many_problems_reach_it():
    pilot = [[True] * 8] * 10 + [[False] * 8] * 10 + [[True, False] * 4] * 10
    parts = VarianceComponents.from_pilot(pilot)
    needed = problems_needed(parts, 0.05)
    floor = lambda count: half_width(parts, 10**9, count, "population")  # noqa: E731
    assert floor(needed) <= 0.05 < floor(needed - 1)
    with pytest.raises(EvalkitError, match=f"out of reach with 30 problems.*{needed} problems"):
        make_plan("aime24", parts, 0.05, scope="population")
    loose = make_plan("aime24", parts, 0.3, scope="population")
    assert half_width(parts, loose.samples, 30, "population") <= 0.3
    with pytest.raises(EvalkitError, match="needs the spread of difficulty"):
        make_plan("aime24", VarianceComponents.from_accuracy(0.5, 30), 0.3, scope="population")


@pytest.mark.parametrize("target,message", [
    ("1e-7", "samples per problem on 30 problems, more than the 1,000,000 evalkit plans"),
    ("nan", "is not a finite number"),
    ("inf", "is not a finite number"),
])
def test_unreachable_or_meaningless_targets_are_refused_in_one_line(target, message):
    result = CliRunner().invoke(main, ["plan", "--task", "aime24", "--target-ci", target,
                                       "--accuracy", "50"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output
    assert re.search(message, result.output), result.output


def test_all_wrong_two_problem_pilot_is_refused(tmp_path):
    pilot = write_run(tmp_path / "pilot", {"gsm8k": verdict_rows([0, 0], 2)})
    result = CliRunner().invoke(main, ["plan", "--pilot", str(pilot), "--target-ci", "2"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "0 of 2 problems with both right and wrong samples" in result.output
    assert "samples per problem give" not in result.output


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
