"""Commands on a finished run folder: `report`, `inspect` and `regrade`."""

from __future__ import annotations

from pathlib import Path

import click

from evalkit.cli.options import FiniteFloat, int_list
from evalkit.grading.config import EXTRACTION_MODES
from evalkit.records import GRADE_STATUSES


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--budgets", default=None,
              help="Compute the budget curve at these token budgets from the stored samples.")
@click.option("--grader-workers", type=click.IntRange(min=1), default=1, show_default=True)
def report(run_dir: Path, budgets: str | None, grader_workers: int) -> None:
    """Print the results table of a finished run (reads only; --budgets rewrites its results)."""
    from rich.console import Console

    from evalkit.reports.table import render_table

    if budgets:
        from evalkit.run.budgets import add_budget_curves

        results = add_budget_curves(run_dir, int_list(budgets, "--budgets"), grader_workers)
    else:
        from evalkit.runfolder.folder import read_results

        results = read_results(run_dir)
    render_table(results, Console())


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--task", default=None, help="Only this task of the run.")
@click.option("--status", type=click.Choice(GRADE_STATUSES), default=None,
              help="Only samples our grader gave this status.")
@click.option("--disagree", is_flag=True,
              help="Only samples where the producer's verdict and ours differ (imported runs).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Show at most this many samples.")
def inspect(run_dir: Path, task: str | None, status: str | None, disagree: bool,
            limit: int) -> None:
    """Show graded samples side by side: problem, gold, verdicts, end of the completion."""
    from rich.console import Console

    from evalkit.importers.summary import agreement_line
    from evalkit.reports.inspect import read_samples, render_samples
    from evalkit.runfolder.folder import read_results

    console = Console(width=160)
    if disagree:
        for name, block in read_results(run_dir).tasks.items():
            if block.agreement is not None and task in (None, name):
                console.print(f"{name}: {agreement_line(block.agreement)}", highlight=False,
                              markup=False)
    views = read_samples(run_dir, task=task, status=status, disagree=disagree, limit=limit)
    if not views:
        console.print("no sample matches")
        return
    render_samples(views, console)


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--grader-config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None,
              help="YAML of grading policies: think_policy, numeric_precision, percent.")
@click.option("--grader-workers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--grader-timeout", type=FiniteFloat(0.1, 86_400), default=10.0,
              show_default=True,
              help="Wall-clock seconds before a grading job is killed (status timeout).")
@click.option("--extraction", type=click.Choice(EXTRACTION_MODES), default=None,
              help="Answer extraction: evalkit's, or a reference evaluator's (default: the mode "
                   "the run recorded).")
def regrade(run_dir: Path, grader_config: Path | None, grader_workers: int,
            grader_timeout: float, extraction: str | None) -> None:
    """Grade a run's stored samples again (no generation): rewrite results.json, keep the
    earlier one in history/, and print what changed."""
    from rich.console import Console

    from evalkit.grading import load_grader_config
    from evalkit.run.regrade import regrade_run, render_diff

    config = load_grader_config(grader_config) if grader_config else None
    diff, kept = regrade_run(run_dir, config, grader_workers, grader_timeout,
                             extraction=extraction)
    render_diff(diff, Console(width=160))
    previous = f" (previous: {kept})" if kept else ""
    click.echo(f"wrote {run_dir / 'results.json'}{previous}")
