"""The `evalkit compare` and `evalkit plan` commands (registered on the main group in cli.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from evalkit.cli.options import FiniteFloat
from evalkit.errors import EvalkitError

if TYPE_CHECKING:
    from evalkit.statistics.sample_size import VarianceComponents

# The same names as evalkit.statistics.estimators.METRIC_KINDS and
# evalkit.statistics.sample_size.SCOPES, spelled out so that
# starting the CLI does not import scipy.
METRIC_CHOICES = ("avg", "pass", "maj", "cons")
SCOPE_CHOICES = ("fixed", "population")


@click.command()
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option("--metric", type=click.Choice(METRIC_CHOICES), default="avg", show_default=True,
              help="avg@n, pass@k, maj@k or cons@n.")
@click.option("--k", "k", type=click.IntRange(min=1), default=None,
              help="k of pass@k (default 1) or maj@k (default n).")
@click.option("--tasks", "task_list", default=None,
              help="Comma-separated tasks (default: all shared).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the random sign patterns of the permutation test (used when "
                   "there are more than 9999 patterns).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None,
              help="Also write the comparisons to this JSON file.")
def compare(run_a: Path, run_b: Path, metric: str, k: int | None, task_list: str | None,
            seed: int, json_path: Path | None) -> None:
    """Paired comparison of run B against run A on the problems both graded."""
    from evalkit.statistics.compare import compare_runs

    tasks = [t.strip() for t in task_list.split(",") if t.strip()] if task_list else None
    if json_path is not None and (json_path.is_dir() or not json_path.parent.is_dir()):
        raise EvalkitError(f"--json {json_path}: give a file path in an existing folder")
    comparisons = compare_runs(run_a, run_b, metric=metric, k=k, tasks=tasks, seed=seed)
    console = Console()
    table = Table(title=f"B = {run_b}  vs  A = {run_a}")
    for column in ("task", "metric", "problems", "A %", "B %", "B - A pts", "95% CI", "p"):
        table.add_column(column, justify="left" if column in ("task", "metric") else "right")
    for c in comparisons:
        table.add_row(
            c.task, c.metric, str(c.problems), f"{100 * c.a:.1f}", f"{100 * c.b:.1f}",
            f"{100 * c.diff:+.1f}", f"[{100 * c.ci95[0]:+.1f}, {100 * c.ci95[1]:+.1f}]",
            f"{c.p_value:.3g}",
        )
    console.print(table)
    console.print("p: paired sign-flip permutation test, two-sided; 95% CI: the interval that "
                  "inverts the same test, so it excludes 0 exactly when p < 0.05", highlight=False)
    for c in comparisons:
        console.print(c.verdict(), highlight=False)
    for note in dict.fromkeys(note for c in comparisons for note in c.notes):
        console.print(f"[yellow]note[/]: {note}", highlight=False)
    if json_path is not None:
        from evalkit.runfolder.atomic import atomic_write

        atomic_write(json_path, json.dumps([c.to_json() for c in comparisons], indent=1,
                                           allow_nan=False))


@click.command()
@click.option("--task", "task_list", default=None,
              help="Comma-separated tasks (default: every task of --pilot).")
@click.option("--target-ci", type=FiniteFloat(0, 100, low_open=True), required=True,
              help="Wanted half-width of the 95% interval of avg@n, in points (the ± figure): "
                   "with --scope fixed, the distance from the fixed-set mean.")
@click.option("--pilot", type=click.Path(path_type=Path), default=None,
              help="A finished run (n >= 2) to estimate the variances from.")
@click.option("--accuracy", type=FiniteFloat(0, 100, low_open=True, high_open=True),
              default=None, help="Stated accuracy in percent, instead of a pilot run.")
@click.option("--problems", type=click.IntRange(min=2), default=None,
              help="Problems in the evaluation (default: the task's full size).")
@click.option("--scope", type=click.Choice(SCOPE_CHOICES), default="fixed", show_default=True,
              help="fixed: the problem set is given, only samples vary; population: problems "
                   "stand for a population (as the results table's CI).")
def plan(task_list: str | None, target_ci: float, pilot: Path | None, accuracy: float | None,
         problems: int | None, scope: str) -> None:
    """How many samples per problem give an avg@n interval of the wanted width."""
    from evalkit.statistics.sample_size import VarianceComponents, check_target, make_plan

    check_target(target_ci / 100)
    if (pilot is None) == (accuracy is None):
        raise EvalkitError("give exactly one of --pilot RUN_DIR and --accuracy PERCENT")
    names = [t.strip() for t in task_list.split(",") if t.strip()] if task_list else []
    parts_by_task: dict[str, VarianceComponents] = {}
    if pilot is not None:
        from evalkit.runfolder.outcomes import load_run

        _, outcomes = load_run(pilot)
        missing = [t for t in names if t not in outcomes]
        if missing:
            raise EvalkitError(f"task {missing[0]!r} is not in the pilot run; it has "
                               f"{', '.join(outcomes)}")
        for name in names or list(outcomes):
            parts_by_task[name] = VarianceComponents.from_pilot(outcomes[name].correct)
    else:
        if not names:
            raise EvalkitError("--accuracy needs --task to know the number of problems")
        for name in names:
            count = problems or _task_size(name)
            parts_by_task[name] = VarianceComponents.from_accuracy(accuracy / 100, count)
    plans = [make_plan(name, parts, target_ci / 100, problems or _task_size(name, parts), scope)
             for name, parts in parts_by_task.items()]
    console = Console()
    for result in plans:
        table = Table(title=f"{result.task}: 95% half-width of avg@n (pts)")
        for column in ("n", "± from the fixed-set mean", "two runs differ by", "population ±"):
            table.add_column(column, justify="right")
        for n, fixed, population in result.widths():
            table.add_row(str(n), f"±{100 * fixed:.1f}", f"±{100 * 2**0.5 * fixed:.1f}",
                          "?" if population is None else f"±{100 * population:.1f}")
        console.print(table)
        console.print(result.summary(), highlight=False)


def _task_size(name: str, parts: VarianceComponents | None = None) -> int:
    """Problems in a task's full data; the pilot's count for a task evalkit cannot load."""
    from evalkit.tasks import get_task

    try:
        return len(get_task(name).load())
    except EvalkitError:
        if parts is None:
            raise
        return parts.problems
