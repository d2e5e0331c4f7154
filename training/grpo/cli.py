"""`evalkit train grpo RECIPE --work-dir DIR`: GRPO rewarded by evalkit's grader."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("recipe", default="grpo")
@click.option("--work-dir", type=click.Path(path_type=Path), required=True,
              help="Folder of the run: checkpoints/, model/, grpo.json, decontamination.json.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe value, e.g. --set args.max_steps=50 (values are YAML).")
def grpo(recipe: str, work_dir: Path, overrides: tuple[str, ...]) -> None:
    """GRPO with TRL, rewarded by evalkit's grader (RECIPE: a file, or grpo / grpo-tiny)."""
    from evalkit.training.grpo.recipe import load_grpo_recipe
    from evalkit.training.grpo.train import run_grpo

    run_grpo(load_grpo_recipe(recipe, overrides), work_dir, echo=click.echo)
    click.echo(f"evaluate: evalkit run --model {work_dir / 'model'}")
