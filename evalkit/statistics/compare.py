"""Paired comparison of two runs, task by task, on the problems both runs graded.

For each task the chosen metric is computed per problem in each run (see
:mod:`evalkit.statistics.estimators`), and d_i = b_i - a_i is taken on the shared problem ids.
Reported:

* ``diff``: the mean of d_i, i.e. score(B) - score(A) on the shared problems;
* ``p_value``: the two-sided paired sign-flip permutation test of "A and B are exchangeable on
  every problem" (exact over all 2^N sign patterns when there are at most ``resamples``, else
  ``resamples`` random ones with the +1 correction; :mod:`evalkit.statistics.paired_test`);
* ``ci95``: the interval that inverts that same test, with the same sign patterns: every shift
  delta for which "d_i - delta is symmetric about 0" is not rejected at 0.05.

The verdict comes from the test: B is better (worse) when p < 0.05 and the mean difference is
positive (negative). Since the interval inverts the same test, 0 lies outside it exactly then:
words, interval and p-value cannot disagree. Since a_i and b_i are estimates from samples, the
spread of d_i carries both the sampling noise of each run and how much the effect varies
between problems. Random patterns come from a numpy generator seeded with ``seed``, so a
comparison is reproducible.

cons@n of runs with different n are different figures (cons@4 and cons@16 of the same model
differ by several points), so they are compared at maj@k with k the smaller n: for the run
with more samples, maj@k is computed exactly over all k-subsets of its stored samples. The
comparison's notes say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.generation.manifest import manifest_differences
from evalkit.results.schema import TaskBlock
from evalkit.runfolder.outcomes import TaskOutcomes, load_run
from evalkit.statistics.estimators import METRIC_KINDS, problem_scores
from evalkit.statistics.paired_test import ALPHA, RESAMPLES, paired_test


@dataclass(frozen=True)
class TaskComparison:
    """Run B against run A on one task; scores are fractions in [0, 1] (x100 for points)."""

    task: str
    metric: str  # e.g. "avg@16", "pass@1", "maj@8", "cons@16"
    problems: int  # shared problems the comparison is paired on
    a: float
    b: float
    diff: float  # b - a
    ci95: tuple[float, float]  # inverts the sign-flip test; see evalkit.statistics.paired_test
    p_value: float
    notes: tuple[str, ...] = field(default=())  # differences between the runs worth knowing
    exact: bool = False  # p-value and interval over all 2^N sign patterns
    bounded: bool = True  # False: too few problems for the test to reject; ci95 is [-1, 1]

    @property
    def direction(self) -> int:
        """+1 if B is better (p < 0.05, B ahead), -1 if worse, 0 if the test does not reject."""
        if self.p_value >= ALPHA or self.diff == 0:
            return 0
        return 1 if self.diff > 0 else -1

    def verdict(self, a_name: str = "A", b_name: str = "B") -> str:
        """One plain line, e.g. "B better than A on aime24 avg@16 by +4.2 pts, 95% CI [...]"."""
        low, high = (100 * x for x in self.ci95)
        figures = f"{100 * self.diff:+.1f} pts, 95% CI [{low:+.1f}, {high:+.1f}]"
        where = f"on {self.task} {self.metric}"
        if self.direction > 0:
            head = f"{b_name} better than {a_name} {where} by"
        elif self.direction < 0:
            head = f"{b_name} worse than {a_name} {where} by"
        else:
            head = f"no clear difference between {a_name} and {b_name} {where}:"
        line = f"{head} {figures} (p = {self.p_value:.2g}, {self.problems} problems)"
        if not self.bounded:
            line += (f"; with {self.problems} problems the sign-flip test cannot reach "
                     f"p < {ALPHA:g}, so the interval spans every possible difference")
        return line

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict(), "interval": "sign-flip inversion"}


def compare_runs(
    run_a: Path, run_b: Path, metric: str = "avg", k: int | None = None,
    tasks: Sequence[str] | None = None, seed: int = 0, resamples: int = RESAMPLES,
) -> list[TaskComparison]:
    """Compare run B with run A on each task both hold (or on ``tasks``), paired by problem id.

    ``metric`` is avg, pass, maj or cons; ``k`` is pass@k's k (default 1) or maj@k's (default
    the smaller n of the two runs). Differences in the runs' settings (reproducibility
    manifest, prompt, sampling, grader:
    :func:`evalkit.generation.manifest.manifest_differences`) and in
    the task's problems are in each ``notes``.
    """
    if metric not in METRIC_KINDS:
        raise EvalkitError(f"unknown metric {metric!r}: use one of {', '.join(METRIC_KINDS)}")
    results_a, outcomes_a = load_run(Path(run_a))
    results_b, outcomes_b = load_run(Path(run_b))
    shared = [t for t in outcomes_a if t in outcomes_b]
    names = list(tasks) if tasks else shared
    absent = [t for t in names if t not in shared]
    if absent or not names:
        problem = f"task {absent[0]!r} is not in both runs" if absent else "the runs share no task"
        raise EvalkitError(f"{problem}; tasks in both: {', '.join(shared) or 'none'}")
    run_notes = tuple(manifest_differences(results_a.to_json(), results_b.to_json()))
    comparisons = []
    for name in names:
        notes = run_notes + tuple(_task_notes(
            results_a.tasks[name], results_b.tasks[name], outcomes_a[name], outcomes_b[name]
        ))
        comparisons.append(_compare_task(
            outcomes_a[name], outcomes_b[name], metric, k, seed, resamples, notes
        ))
    return comparisons


def _task_notes(
    task_a: TaskBlock, task_b: TaskBlock, a: TaskOutcomes, b: TaskOutcomes,
) -> list[str]:
    notes = []
    if task_a.data_sha256 != task_b.data_sha256:
        notes.append(f"{a.task}: the task data differ (sha256); problems are paired by id only")
    only_a = len(set(a.problem_ids) - set(b.problem_ids))
    only_b = len(set(b.problem_ids) - set(a.problem_ids))
    if only_a or only_b:
        notes.append(f"{a.task}: {only_a} problems only in A and {only_b} only in B are left out")
    if a.n != b.n:
        notes.append(f"{a.task}: A has {a.n} samples per problem, B {b.n}")
    return notes


def _compare_task(
    a: TaskOutcomes, b: TaskOutcomes, metric: str, k: int | None, seed: int, resamples: int,
    notes: tuple[str, ...],
) -> TaskComparison:
    ids = [pid for pid in a.problem_ids if pid in set(b.problem_ids)]
    if len(ids) < 2:
        raise EvalkitError(
            f"{a.task}: the runs share {len(ids)} problems; a paired comparison needs at least 2"
        )
    a, b = a.select(ids), b.select(ids)
    k, label = _resolve_k(metric, k, a.n, b.n)
    if metric in ("maj", "cons") and (a.classes is None or b.classes is None):
        raise EvalkitError(
            f"{a.task}: {metric} needs answer classes in the grades files; rerun `evalkit run` "
            "into each run folder (stored samples are regraded, not regenerated)"
        )
    if metric == "cons" and a.n != b.n:
        notes += (f"{a.task}: cons@{a.n} and cons@{b.n} are different figures; both runs are "
                  f"compared at maj@{k}, the smaller n, exactly over all {k}-subsets of each "
                  "run's stored samples",)
        metric = "maj"
    scores_a = problem_scores(metric, k, a.correct, a.classes)
    scores_b = problem_scores(metric, k, b.correct, b.classes)
    test = paired_test(scores_a, scores_b, seed, resamples)
    return TaskComparison(
        task=a.task, metric=label, problems=len(ids), a=float(scores_a.mean()),
        b=float(scores_b.mean()), diff=test.diff, ci95=test.ci95, p_value=test.p_value,
        notes=notes, exact=test.exact, bounded=test.bounded,
    )


def _resolve_k(metric: str, k: int | None, n_a: int, n_b: int) -> tuple[int | None, str]:
    """The k to compute with and the metric's label (cons of runs with different n: maj@k at
    the smaller n)."""
    if metric == "avg":
        return None, f"avg@{n_a}" if n_a == n_b else f"avg@{n_a}|{n_b}"
    if metric == "cons":
        return (None, f"cons@{n_a}") if n_a == n_b else (min(n_a, n_b), f"maj@{min(n_a, n_b)}")
    k = k if k is not None else (1 if metric == "pass" else min(n_a, n_b))
    if not 1 <= k <= min(n_a, n_b):
        raise EvalkitError(
            f"{metric}@{k} needs 1 <= k <= {min(n_a, n_b)} (the smaller n of the two runs)"
        )
    return k, f"{metric}@{k}"
