"""`evalkit train`: the published training recipes (needs the `train` extra)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evalkit.training.distill.cli import distill
from evalkit.training.grpo.cli import grpo
from evalkit.training.lightr.cli import lightr


@click.group()
def train() -> None:
    """Train checkpoints with the published recipes (needs the `train` extra)."""


train.add_command(distill)
train.add_command(lightr)
train.add_command(grpo)


@train.command()
@click.argument("pool")
@click.option("--split", default="train", show_default=True,
              help="Split of a bundled task POOL (gsm8k has train).")
@click.option("--problem-field", default="question", show_default=True,
              help="Field of a file POOL holding the problem.")
@click.option("--solution-field", default=None,
              help="Field of a file POOL holding the solution trained on (also checked).")
@click.option("--id-field", default=None, help="Field of a file POOL holding ids (default: row).")
@click.option("--ngram", type=click.IntRange(min=1), default=13, show_default=True,
              help="Words per n-gram.")
@click.option("--report", type=click.Path(path_type=Path), default=None,
              help="Where to write the JSON report (default: decontamination-<pool>.json).")
def decontaminate(pool: str, split: str, problem_field: str, solution_field: str | None,
                  id_field: str | None, ngram: int, report: Path | None) -> None:
    """Check a training POOL against every bundled evaluation task.

    POOL is a bundled task (e.g. gsm8k with --split train) or a .jsonl/.json/.parquet file.
    Normalised exact match and n-gram overlap of the problem text (and of the solution, if
    any). Exit code 0: no overlap; 1: overlap (see the report); 2: unusable input.
    """
    from rich.console import Console
    from rich.table import Table

    from evalkit.training.decontaminate import check_pool, evaluation_index
    from evalkit.training.pool import file_pool, task_pool

    path = Path(pool)
    if path.suffix:
        items = file_pool(path, problem_field, solution_field, id_field)
        name = path.stem
    else:
        items = task_pool(pool, split)
        name = f"{pool}-{split}"
    result = check_pool(items, evaluation_index(ngram), name)
    out = result.write(report or Path(f"decontamination-{name}.json"))
    table = Table(title=f"{name}: {len(items)} items, {ngram}-grams")
    for column in ("task", "problems", "items overlapping", "exact", "n-gram (problem)",
                   "n-gram (solution)", "task problems hit"):
        table.add_column(column, justify="left" if column == "task" else "right")
    for task, c in result.tasks.items():
        table.add_row(task, *(str(c[k]) for k in ("problems", "items", "exact", "ngram_problem",
                                                   "ngram_solution", "task_problems_hit")))
    Console(width=120).print(table)
    click.echo(f"{result.summary()}; report: {out}")
    if result.contaminated:
        sys.exit(1)
