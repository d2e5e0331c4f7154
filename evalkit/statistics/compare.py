"""Paired comparison of two runs, task by task, on the problems both runs graded.

For each task the chosen metric is computed per problem in each run (see
:mod:`evalkit.statistics.estimators`), and d_i = b_i - a_i is taken on the shared problem ids.
Reported:

* ``diff``: the mean of d_i, i.e. score(B) - score(A) on the shared problems;
* ``ci95``: a paired bootstrap interval: problems are resampled with replacement, keeping each
  problem's (a_i, b_i) pair, BCa interval of the mean difference. Since a_i and b_i are
  estimates from samples, the spread of d_i carries both the sampling noise of each run and how
  much the effect varies between problems;
* ``p_value``: a two-sided paired permutation test of "A and B are exchangeable on every
  problem": the labels A/B are swapped independently per problem (all 2^N swaps when that is
  at most ``resamples``, else ``resamples`` random ones) and the mean difference recomputed.

Both use numpy generators seeded with ``seed``, so a comparison is reproducible. The verdict
calls B better (worse) when the whole interval lies above (below) zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from evalkit.errors import EvalkitError
from evalkit.generation.manifest import manifest_differences
from evalkit.results.schema import TaskBlock
from evalkit.runfolder.outcomes import TaskOutcomes, load_run
from evalkit.statistics.estimators import METRIC_KINDS, bootstrap_mean_ci, problem_scores

RESAMPLES = 9999


@dataclass(frozen=True)
class TaskComparison:
    """Run B against run A on one task; scores are fractions in [0, 1] (x100 for points)."""

    task: str
    metric: str  # e.g. "avg@16", "pass@1", "maj@8", "cons@16"
    problems: int  # shared problems the comparison is paired on
    a: float
    b: float
    diff: float  # b - a
    ci95: tuple[float, float]
    p_value: float
    notes: tuple[str, ...] = field(default=())  # differences between the runs worth knowing

    @property
    def direction(self) -> int:
        """+1 if B is better (the interval lies above 0), -1 if worse, 0 if unclear."""
        if self.ci95[0] > 0:
            return 1
        if self.ci95[1] < 0:
            return -1
        return 0

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
        return f"{head} {figures} (p = {self.p_value:.2g}, {self.problems} problems)"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict()}


def paired_difference(
    a: np.ndarray, b: np.ndarray, seed: int = 0, resamples: int = RESAMPLES,
) -> tuple[float, tuple[float, float], float]:
    """(mean of b - a, paired bootstrap 95% CI, paired permutation two-sided p-value)."""
    if len(a) != len(b) or len(a) < 2:
        raise ValueError("a paired comparison needs the same problems in both, at least two")
    diffs = b - a
    if np.all(diffs == 0):
        return 0.0, (0.0, 0.0), 1.0
    ci = bootstrap_mean_ci(diffs, seed, resamples)
    test = stats.permutation_test(
        (a, b), lambda x, y, axis: np.mean(y - x, axis=axis), permutation_type="samples",
        vectorized=True, n_resamples=resamples, alternative="two-sided",
        rng=np.random.default_rng(seed),
    )
    return float(diffs.mean()), ci, float(test.pvalue)


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
    scores_a = problem_scores(metric, k, a.correct, a.classes)
    scores_b = problem_scores(metric, k, b.correct, b.classes)
    diff, ci, p_value = paired_difference(scores_a, scores_b, seed, resamples)
    return TaskComparison(
        task=a.task, metric=label, problems=len(ids), a=float(scores_a.mean()),
        b=float(scores_b.mean()), diff=diff, ci95=ci, p_value=p_value, notes=notes,
    )


def _resolve_k(metric: str, k: int | None, n_a: int, n_b: int) -> tuple[int | None, str]:
    """The k to compute with and the metric's label."""
    if metric in ("avg", "cons"):
        return None, f"{metric}@{n_a}" if n_a == n_b else f"{metric}@{n_a}|{n_b}"
    k = k if k is not None else (1 if metric == "pass" else min(n_a, n_b))
    if not 1 <= k <= min(n_a, n_b):
        raise EvalkitError(
            f"{metric}@{k} needs 1 <= k <= {min(n_a, n_b)} (the smaller n of the two runs)"
        )
    return k, f"{metric}@{k}"
