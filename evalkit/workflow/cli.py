"""`evalkit release run`: the whole chain train -> evaluate -> gate -> card -> publish."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def release() -> None:
    """Ship a new checkpoint: train -> evaluate -> gate -> card -> publish (docs/release-run.md)."""


_RELEASE_STAGES = click.Choice(["train", "evaluate", "gate", "card", "publish"])


@release.command("run")
@click.argument("recipe", type=click.Path(path_type=Path))
@click.option("--from", "start", type=_RELEASE_STAGES, default=None,
              help="Rerun from this stage on; earlier stages must be complete.")
@click.option("--until", type=_RELEASE_STAGES,
              default="publish", show_default=True, help="Stop after this stage.")
@click.option("--dry-run", is_flag=True, help="Everything but the upload; list what would go.")
@click.option("--run-dir", type=click.Path(path_type=Path), default=None,
              help="Run folder (default: the recipe's run_dir, else release-runs/<name>).")
def release_run(recipe: Path, start: str | None, until: str, dry_run: bool,
                run_dir: Path | None) -> None:
    """Run RECIPE: exit 0 done, 1 gate failed (nothing published), 2 unusable input."""
    from evalkit.workflow.release_recipe import load_release_recipe
    from evalkit.workflow.release_run import ReleaseRun

    outcome = ReleaseRun(load_release_recipe(recipe, run_dir)).run(start, until, dry_run)
    if outcome.stopped:
        click.echo(f"{outcome.stopped}: nothing published", err=True)
        sys.exit(1)
