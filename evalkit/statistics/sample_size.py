"""Sample-size planner: how many samples per problem give an avg@n interval of a chosen width.

With N problems of accuracies p_i and n samples each, avg@n is the mean of N per-problem
means, and (see :mod:`evalkit.statistics.estimators`)

    Var(avg@n) = (between + within / n) / N,   between = Var_i(p_i),  within = mean_i p_i(1-p_i).

Two intervals follow, both at 95%:

* fixed problem set (the default scope): the benchmark's problems are given (AIME24 is those
  30), only the samples are random. half-width = z * sqrt(within / (n N)): 95% of runs land
  within it of the fixed-set mean, the score these problems would give with unlimited samples.
  It shrinks to 0 as n grows. Two runs with other seeds each carry that noise, so their scores
  differ by up to sqrt(2) times the half-width (95% of pairs).
* population: the problems stand for a population of problems, as the results table's ci95
  does. half-width = t_{N-1} * sqrt((between + within / n) / N); it cannot go below
  t * sqrt(between / N) however many samples are drawn.

From a pilot run (n >= 2), within is estimated without bias by mean_i p^_i(1-p^_i) n/(n-1) and
between by Var_i(p^_i) - mean_i p^_i(1-p^_i)/(n-1) (clipped at 0). From a stated accuracy p
alone, within = p(1-p), the largest value any spread of the p_i around p allows
(p(1-p) is concave), so the planned n is enough whatever the spread; between is unknown then.

A plan is refused, with the reason and what would do, when the target is not a positive finite
number, when it needs more than a million samples per problem or (population scope) more than
any number of samples gives, and when the pilot shows fewer than 2 problems with both right and
wrong samples: the within-problem variance cannot be estimated from it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from evalkit.errors import EvalkitError
from evalkit.statistics.estimators import CONFIDENCE

SCOPES = ("fixed", "population")
MAX_SAMPLES = 1_000_000
MIN_MIXED_PROBLEMS = 2  # pilot problems with both right and wrong samples


@dataclass(frozen=True)
class VarianceComponents:
    """Per-sample variance of one task, split as in the module docstring."""

    accuracy: float
    within: float
    between: float | None  # None: unknown (planning from a stated accuracy)
    problems: int
    source: str  # "pilot run (n=8)" or "stated accuracy"

    @classmethod
    def from_pilot(cls, correct: Sequence[Sequence[bool]]) -> VarianceComponents:
        """Estimate the components from a pilot run's verdicts (at least 2 samples each)."""
        n = np.array([len(row) for row in correct], dtype=float)
        if len(correct) < 2 or n.min() < 2:
            raise EvalkitError(
                "a pilot run needs at least 2 problems and 2 samples per problem (--n 2 or more) "
                "to separate sample noise from problem difficulty; or plan from --accuracy"
            )
        p = np.array([sum(map(bool, row)) for row in correct]) / n
        mixed = int(np.sum((p > 0) & (p < 1)))
        if mixed < MIN_MIXED_PROBLEMS:
            raise EvalkitError(
                f"the pilot has {mixed} of {len(correct)} problems with both right and wrong "
                f"samples; estimating the sample noise needs at least {MIN_MIXED_PROBLEMS}: rerun "
                "the pilot with more samples per problem (--n) or more problems, or plan from "
                "--accuracy"
            )
        spread = p * (1 - p)
        return cls(
            accuracy=float(p.mean()),
            within=float(np.mean(spread * n / (n - 1))),
            between=max(0.0, float(p.var(ddof=1) - np.mean(spread / (n - 1)))),
            problems=len(correct),
            source=f"pilot run (n={int(n.min())})" if n.min() == n.max() else "pilot run",
        )

    @classmethod
    def from_accuracy(cls, accuracy: float, problems: int) -> VarianceComponents:
        """The conservative within-problem variance p(1-p) of a stated accuracy."""
        if not 0 < accuracy < 1:
            raise EvalkitError("--accuracy must be a percentage strictly between 0 and 100")
        return cls(accuracy, accuracy * (1 - accuracy), None, problems, "stated accuracy")


def half_width(parts: VarianceComponents, n: int, problems: int, scope: str) -> float | None:
    """95% half-width of avg@n (a fraction) with n samples on ``problems`` problems."""
    if scope == "fixed":
        return _z() * math.sqrt(parts.within / (n * problems))
    if parts.between is None:
        return None
    return _t(problems) * math.sqrt((parts.between + parts.within / n) / problems)


def samples_needed(
    parts: VarianceComponents, target: float, problems: int, scope: str = "fixed",
) -> int | None:
    """Smallest n whose half-width is at most ``target`` (a fraction); None if none up to
    MAX_SAMPLES is."""
    if scope not in SCOPES:
        raise EvalkitError(f"unknown scope {scope!r}: use {' or '.join(SCOPES)}")
    check_target(target)
    n = _unbounded_samples(parts, target, problems, scope)
    return None if n is None or n > MAX_SAMPLES else n


def check_target(target: float) -> None:
    """A target half-width must be a positive, finite fraction."""
    if not math.isfinite(target) or target <= 0:
        raise EvalkitError(
            "--target-ci must be a positive, finite number of points (the ± half-width)"
        )


def _unbounded_samples(
    parts: VarianceComponents, target: float, problems: int, scope: str,
) -> int | None:
    """Smallest n reaching ``target`` with no cap; None if no n does."""
    if parts.within == 0:
        return 1 if (half_width(parts, 1, problems, scope) or 0) <= target else None
    if scope == "fixed":
        return max(1, math.ceil(_z() ** 2 * parts.within / (problems * target**2) - 1e-9))
    if parts.between is None:
        return None
    room = problems * (target / _t(problems)) ** 2 - parts.between
    return max(1, math.ceil(parts.within / room - 1e-9)) if room > 0 else None


def population_floor(parts: VarianceComponents, problems: int) -> float | None:
    """The population half-width with infinitely many samples (None if between is unknown)."""
    if parts.between is None:
        return None
    return _t(problems) * math.sqrt(parts.between / problems)


@dataclass(frozen=True)
class Plan:
    """The answer of `evalkit plan` for one task (fractions; x100 for points)."""

    task: str
    problems: int
    target: float
    scope: str
    parts: VarianceComponents
    samples: int

    def widths(self, ns: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256)) -> list[tuple]:
        """(n, fixed half-width, population half-width or None) for a ladder of n."""
        return [
            (n, half_width(self.parts, n, self.problems, "fixed"),
             half_width(self.parts, n, self.problems, "population"))
            for n in ns
        ]

    def summary(self) -> str:
        """Plain sentences: the answer and what it means, then what the other scope says."""
        p = self.parts
        head = (f"{self.task}: {self.problems} problems, accuracy {100 * p.accuracy:.1f}% "
                f"({p.source})")
        target = 100 * self.target
        if self.scope == "fixed":
            answer = (f"{self.samples} samples per problem put avg@n within ±{target:.1f} pts of "
                      f"the fixed-set mean (the score these {self.problems} problems give with "
                      f"unlimited samples) in 95% of runs; two runs with other seeds differ by up "
                      f"to ±{math.sqrt(2) * target:.1f} pts (95% of pairs).")
            floor = population_floor(p, self.problems)
            if floor is not None:
                answer += (f" As a sample of a population of problems, the interval cannot go "
                           f"below ±{100 * floor:.1f} pts with {self.problems} problems.")
        else:
            answer = (f"{self.samples} samples per problem give a 95% interval of "
                      f"±{target:.1f} pts around the population mean (the problems as a sample "
                      "of a population of problems, as in the results table).")
        return f"{head}: {answer}"


def problems_needed(parts: VarianceComponents, target: float) -> int | None:
    """Problems needed to reach the target in the population scope with many samples."""
    if parts.between is None or parts.between == 0:
        return None
    count = max(2, math.ceil(_z() ** 2 * parts.between / target**2))  # t > z: start below
    while population_floor(parts, count) > target:
        count += 1
    return count


def make_plan(
    task: str, parts: VarianceComponents, target: float, problems: int | None = None,
    scope: str = "fixed",
) -> Plan:
    """Plan the samples per problem for ``task`` (``target`` the ± half-width, a fraction);
    an EvalkitError naming what would do when the target cannot be reached."""
    problems = problems or parts.problems
    samples = samples_needed(parts, target, problems, scope)
    if samples is None:
        raise EvalkitError(_out_of_reach(task, parts, target, problems, scope))
    return Plan(task, problems, target, scope, parts, samples)


def _out_of_reach(
    task: str, parts: VarianceComponents, target: float, problems: int, scope: str,
) -> str:
    """Why no number of samples up to MAX_SAMPLES reaches ``target``, and what would."""
    wanted = f"{task}: ±{100 * target:.3g} pts"
    if scope == "population" and parts.between is None:
        return (f"{wanted} over a population of problems needs the spread of difficulty "
                "between problems: plan from a pilot run (--pilot RUN_DIR) or use --scope fixed")
    floor = population_floor(parts, problems) if scope == "population" else None
    if floor is not None and floor >= target:
        needed = problems_needed(parts, target)
        more = f"; {needed} problems would reach it" if needed else ""
        return (f"{wanted} is out of reach with {problems} problems: however many samples, "
                f"the population interval stays above ±{100 * floor:.2f} pts{more}")
    n = _unbounded_samples(parts, target, problems, scope)
    best = half_width(parts, MAX_SAMPLES, problems, scope)
    return (f"{wanted} needs {n:,} samples per problem on {problems} problems, more than the "
            f"{MAX_SAMPLES:,} evalkit plans for; ask for ±{100 * best:.2g} pts or more, or "
            "evaluate more problems")


def _z() -> float:
    return float(stats.norm.ppf(0.5 + CONFIDENCE / 2))


def _t(problems: int) -> float:
    return float(stats.t.ppf(0.5 + CONFIDENCE / 2, max(problems - 1, 1)))
