"""Sample-size planner: how many samples per problem give an avg@n interval of a chosen width.

With N problems of accuracies p_i and n samples each, avg@n is the mean of N per-problem
means, and (see :mod:`evalkit.statistics.estimators`)

    Var(avg@n) = (between + within / n) / N,   between = Var_i(p_i),  within = mean_i p_i(1-p_i).

Two intervals follow, both at 95%:

* fixed problem set (the default scope): the benchmark's problems are given (AIME24 is those
  30), only the samples are random. half-width = z * sqrt(within / (n N)). It shrinks to 0 as n
  grows, and is how far a rerun with other seeds can move the score.
* population: the problems stand for a population of problems, as the results table's ci95
  does. half-width = t_{N-1} * sqrt((between + within / n) / N); it cannot go below
  t * sqrt(between / N) however many samples are drawn.

From a pilot run (n >= 2), within is estimated without bias by mean_i p^_i(1-p^_i) n/(n-1) and
between by Var_i(p^_i) - mean_i p^_i(1-p^_i)/(n-1) (clipped at 0). From a stated accuracy p
alone, within = p(1-p), the largest value any spread of the p_i around p allows
(p(1-p) is concave), so the planned n is enough whatever the spread; between is unknown then.
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
    critical = float(stats.t.ppf(0.5 + CONFIDENCE / 2, max(problems - 1, 1)))
    return critical * math.sqrt((parts.between + parts.within / n) / problems)


def samples_needed(
    parts: VarianceComponents, target: float, problems: int, scope: str = "fixed",
) -> int | None:
    """Smallest n whose half-width is at most ``target`` (a fraction); None if none is."""
    if scope not in SCOPES:
        raise EvalkitError(f"unknown scope {scope!r}: use {' or '.join(SCOPES)}")
    if target <= 0:
        raise EvalkitError("--target-ci must be positive (the ± half-width in points)")
    if parts.within == 0:
        return 1 if (half_width(parts, 1, problems, scope) or 0) <= target else None
    if scope == "fixed":
        n = math.ceil(_z() ** 2 * parts.within / (problems * target**2) - 1e-9)
    else:
        if parts.between is None:
            return None
        critical = float(stats.t.ppf(0.5 + CONFIDENCE / 2, max(problems - 1, 1)))
        room = problems * (target / critical) ** 2 - parts.between
        if room <= 0:
            return None
        n = math.ceil(parts.within / room - 1e-9)
    n = max(n, 1)
    return n if n <= MAX_SAMPLES else None


def population_floor(parts: VarianceComponents, problems: int) -> float | None:
    """The population half-width with infinitely many samples (None if between is unknown)."""
    if parts.between is None:
        return None
    critical = float(stats.t.ppf(0.5 + CONFIDENCE / 2, max(problems - 1, 1)))
    return critical * math.sqrt(parts.between / problems)


@dataclass(frozen=True)
class Plan:
    """The answer of `evalkit plan` for one task (fractions; x100 for points)."""

    task: str
    problems: int
    target: float
    scope: str
    parts: VarianceComponents
    samples: int | None  # None: the target cannot be reached in this scope

    def widths(self, ns: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256)) -> list[tuple]:
        """(n, fixed half-width, population half-width or None) for a ladder of n."""
        return [
            (n, half_width(self.parts, n, self.problems, "fixed"),
             half_width(self.parts, n, self.problems, "population"))
            for n in ns
        ]

    def summary(self) -> str:
        """Plain sentences: the answer, then what the other scope says."""
        p = self.parts
        head = (f"{self.task}: {self.problems} problems, accuracy {100 * p.accuracy:.1f}% "
                f"({p.source})")
        target = f"±{100 * self.target:.1f} pts (interval width {200 * self.target:.1f})"
        scope = ("fixed problem set: seed-to-seed noise" if self.scope == "fixed"
                 else "problems as a sample of a population")
        if self.samples is not None:
            answer = f"{self.samples} samples per problem give {target} ({scope})."
        elif self.scope == "population" and p.between is None:
            answer = ("the population interval needs the spread of difficulty between problems: "
                      "plan from a pilot run (--pilot RUN_DIR).")
        else:
            floor = population_floor(p, self.problems)
            answer = (f"no number of samples gives {target} ({scope}): with {self.problems} "
                      f"problems the interval stays above ±{100 * floor:.1f} pts; "
                      f"{self.problems_needed()} problems would be needed.")
        floor = population_floor(p, self.problems)
        if self.scope == "fixed" and floor is not None:
            answer += (f" Over a population of problems the interval cannot go below "
                       f"±{100 * floor:.1f} pts with {self.problems} problems.")
        return f"{head}: {answer}"

    def problems_needed(self) -> int | None:
        """Problems needed to reach the target in the population scope with many samples."""
        if self.parts.between is None or self.parts.between == 0:
            return None
        count = max(2, math.ceil(_z() ** 2 * self.parts.between / self.target**2))  # t > z
        while population_floor(self.parts, count) > self.target:
            count += 1
        return count


def make_plan(
    task: str, parts: VarianceComponents, target: float, problems: int | None = None,
    scope: str = "fixed",
) -> Plan:
    """Plan the samples per problem for ``task`` (``target`` the ± half-width, a fraction)."""
    problems = problems or parts.problems
    return Plan(task, problems, target, scope, parts,
                samples_needed(parts, target, problems, scope))


def _z() -> float:
    return float(stats.norm.ppf(0.5 + CONFIDENCE / 2))
