"""`evalkit train distill generate|vote|filter|split|sft|run RECIPE`: the ReasonLite pipeline.

Every step reads and writes files under the recipe's work_dir and is skipped when its marker
says it is complete with the same settings, so a step can be rerun or replaced alone and `run`
resumes a chain. Multi-GPU / multi-node SFT goes through accelerate, e.g.
``accelerate launch --config_file training/accelerate/zero1.yaml -m evalkit train distill sft
RECIPE --stage 1``. Heavy libraries load inside the commands only.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

_SET_HELP = "Override a recipe value, e.g. --set teacher.n=4 (repeatable; values are YAML)."


def _recipe_command(function):
    """Add the RECIPE argument and the --work-dir / --set options."""
    function = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                            help=_SET_HELP)(function)
    function = click.option("--work-dir", type=click.Path(path_type=Path), default=None,
                            help="Folder of the run's files (default: the recipe's work_dir).")(
        function)
    return click.argument("recipe")(function)


def _pipeline(recipe: str, work_dir: Path | None, overrides: tuple[str, ...]):
    from evalkit.training.distill.pipeline import Pipeline
    from evalkit.training.distill.recipe import load_recipe

    extra = [f"work_dir={work_dir}"] if work_dir is not None else []
    return Pipeline(load_recipe(recipe, [*overrides, *extra]))


def _report(result) -> None:
    state = "skipped (complete)" if result.skipped else "done"
    click.echo(f"{result.step}: {state}")
    click.echo(json.dumps(result.counts, indent=1))


@click.group()
def distill() -> None:
    """ReasonLite distillation: teacher solutions -> vote -> filter -> split -> 2-stage SFT.

    RECIPE is a YAML file or a bundled recipe name (reasonlite, reasonlite-tiny).
    """


@distill.command()
@_recipe_command
def generate(recipe: str, work_dir: Path | None, overrides: tuple[str, ...]) -> None:
    """Sample n teacher solutions per problem in each reasoning mode (resumable)."""
    _report(_pipeline(recipe, work_dir, overrides).step("generate"))


@distill.command()
@_recipe_command
def vote(recipe: str, work_dir: Path | None, overrides: tuple[str, ...]) -> None:
    """Majority-vote the final answers; replace labels the vote is sure about."""
    _report(_pipeline(recipe, work_dir, overrides).step("vote"))


@distill.command("filter")
@_recipe_command
def filter_command(recipe: str, work_dir: Path | None, overrides: tuple[str, ...]) -> None:
    """Keep solutions that agree with their label; count what each rule drops."""
    _report(_pipeline(recipe, work_dir, overrides).step("filter"))


@distill.command()
@_recipe_command
def split(recipe: str, work_dir: Path | None, overrides: tuple[str, ...]) -> None:
    """Write the short-CoT (stage 1) and long-CoT (stage 2) chat datasets."""
    _report(_pipeline(recipe, work_dir, overrides).step("split"))


@distill.command()
@_recipe_command
@click.option("--stage", type=click.Choice(["1", "2"]), required=True,
              help="1: short CoT from the student; 2: long CoT from stage 1's output.")
def sft(recipe: str, work_dir: Path | None, overrides: tuple[str, ...], stage: str) -> None:
    """Fine-tune one SFT stage with TRL (run it under `accelerate launch` for many GPUs)."""
    _report(_pipeline(recipe, work_dir, overrides).step(f"stage{stage}"))


@distill.command()
@_recipe_command
def run(recipe: str, work_dir: Path | None, overrides: tuple[str, ...]) -> None:
    """Run every step in order, skipping the complete ones (single process)."""
    pipeline = _pipeline(recipe, work_dir, overrides)
    for step in pipeline.steps:
        _report(pipeline.step(step))
    click.echo(f"checkpoint: {pipeline.work.stage_dir('stage2')}")
