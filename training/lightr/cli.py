"""`evalkit train lightr sample|import|finetune|merge|run`: the LightReasoner pipeline.

Each step reads and writes folders, so any step can be rerun alone; `run` chains them into
OUTPUT/sampling, OUTPUT/adapter and OUTPUT/merged (`--released NAME` imports the authors'
samples instead of sampling). `sft` is the "+ SFT" baseline of the same tables (sft.py).
torch, transformers and peft load inside the commands only.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from evalkit.errors import EvalkitError
from evalkit.training.lightr.recipe import Recipe, load_recipe

_PATH = click.Path(path_type=Path)


def _recipe_options(command):
    command = click.option(
        "--set", "overrides", multiple=True, metavar="KEY=VALUE",
        help="Override a recipe value, e.g. --set sampling.beta=0.5 --set train.max_steps=50.",
    )(command)
    return click.option("--recipe", "recipe_path", type=_PATH, default=None,
                        help="Recipe YAML (default: the bundled lightreasoner.yaml).")(command)


def _load(recipe_path: Path | None, overrides: tuple[str, ...], limit: int | None = None) -> Recipe:
    extra = [f"limit={limit}"] if limit is not None else []
    return load_recipe(recipe_path, [*overrides, *extra])


def _model_name(model: dict) -> str:
    """How to name a recorded model again: its Hub id (which resolves to the same snapshot and
    passes the expert check), else its local folder."""
    return model["source"] if model.get("kind") == "hub" else model["path"]


def _saved_expert(folder: Path, filename: str, hint: str) -> str:
    """The expert as recorded by an earlier step."""
    record = folder / filename
    if not record.is_file():
        raise EvalkitError(f"{record} is missing: pass --expert, or {hint}")
    data = json.loads(record.read_text())
    return _model_name(data["models"]["expert"] if "models" in data else data["expert"])


def _sample(recipe: Recipe, expert: str, amateur: str, output_dir: Path) -> None:
    from evalkit.training.lightr.sampler import run_sampling

    meta = run_sampling(recipe, expert, amateur, output_dir)
    totals = meta["totals"]
    click.echo(f"sampled {totals['questions']} questions: {totals['kept']} of {totals['steps']} "
               f"steps kept (KL >= {recipe.sampling.beta}) -> {output_dir / 'samples.jsonl'}")


def _finetune(recipe: Recipe, expert: str, samples: Path, output_dir: Path) -> None:
    from evalkit.training.lightr.finetune import run_finetune

    summary = run_finetune(recipe, expert, samples, output_dir, echo=click.echo)
    click.echo(f"trained LoRA on {summary['examples']} steps, mean loss "
               f"{summary['train_loss']:.4f} -> {output_dir}")


def _merge(expert: str, adapter: Path, output_dir: Path, dtype: str) -> None:
    from evalkit.training.lightr.merge import merge_adapter

    merge_adapter(expert, adapter, output_dir, dtype)
    click.echo(f"merged checkpoint -> {output_dir} (evaluate: evalkit run --model {output_dir})")


@click.group()
def lightr() -> None:
    """LightReasoner: expert/amateur contrast sampling, LoRA KL fine-tune, merge."""


@lightr.command()
@click.option("--expert", default=None, help="Expert model (default: the recipe's).")
@click.option("--amateur", default=None, help="Amateur model of the same tokenizer.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Number of questions (default: the recipe's).")
@click.option("--output-dir", type=_PATH, required=True,
              help="Sampling folder; rerunning the same command resumes it.")
@_recipe_options
def sample(expert: str | None, amateur: str | None, limit: int | None, output_dir: Path,
           recipe_path: Path | None, overrides: tuple[str, ...]) -> None:
    """Expert rollouts, one-pass expert/amateur scoring, kept steps with soft labels."""
    recipe = _load(recipe_path, overrides, limit)
    _sample(recipe, expert or recipe.expert, amateur or recipe.amateur, output_dir)


def _import(recipe: Recipe, name: str, output_dir: Path) -> str:
    from evalkit.training.lightr.released import import_released

    meta = import_released(recipe, name, output_dir)
    totals = meta["totals"]
    click.echo(f"imported {name}: {totals['kept']} steps of {totals['questions']} questions "
               f"-> {output_dir / 'samples.jsonl'}")
    return _model_name(meta["models"]["expert"])


@lightr.command("import")
@click.argument("name")
@click.option("--output-dir", type=_PATH, required=True, help="Sampling folder to write.")
@_recipe_options
def import_command(name: str, output_dir: Path, recipe_path: Path | None,
                   overrides: tuple[str, ...]) -> None:
    """The authors' released samples NAME (e.g. LR_Qwen7_gsm8k) as a sampling folder."""
    _import(_load(recipe_path, overrides), name, output_dir)


@lightr.command()
@click.option("--samples", type=_PATH, required=True,
              help="Folder written by `lightr sample` or `lightr import`.")
@click.option("--expert", default=None, help="Model to train (default: the sampling expert).")
@click.option("--output-dir", type=_PATH, required=True, help="Adapter folder.")
@_recipe_options
def finetune(samples: Path, expert: str | None, output_dir: Path, recipe_path: Path | None,
             overrides: tuple[str, ...]) -> None:
    """LoRA fine-tune of the expert on the soft labels (KL at the last real token)."""
    from evalkit.training.lightr.sampler import META_FILE

    expert = expert or _saved_expert(samples, META_FILE, "point --samples at a sampling folder")
    _finetune(_load(recipe_path, overrides), expert, samples / "samples.jsonl", output_dir)


@lightr.command()
@click.option("--adapter", type=_PATH, required=True, help="Folder written by `lightr finetune`.")
@click.option("--expert", default=None, help="Base model (default: the one the adapter trained).")
@click.option("--output-dir", type=_PATH, required=True, help="Merged checkpoint folder.")
@click.option("--dtype", type=click.Choice(["bfloat16", "float16", "float32"]), default=None,
              help="Dtype of the merged weights (default: the recipe's merge.dtype).")
@_recipe_options
def merge(adapter: Path, expert: str | None, output_dir: Path, dtype: str | None,
          recipe_path: Path | None, overrides: tuple[str, ...]) -> None:
    """Merge the adapter into the expert: a standalone checkpoint for `evalkit run`."""
    from evalkit.training.lightr.finetune import SUMMARY_FILE

    expert = expert or _saved_expert(adapter, SUMMARY_FILE, "point --adapter at an adapter folder")
    _merge(expert, adapter, output_dir, dtype or _load(recipe_path, overrides).merge.dtype)


@lightr.command("run")
@click.option("--expert", default=None, help="Expert model (default: the recipe's).")
@click.option("--amateur", default=None, help="Amateur model of the same tokenizer.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Number of questions (default: the recipe's).")
@click.option("--released", default=None, metavar="NAME",
              help="Start from the authors' released samples NAME instead of sampling.")
@click.option("--output-dir", type=_PATH, required=True,
              help="Writes sampling/, adapter/ and merged/ here; a rerun resumes sampling.")
@_recipe_options
def run_all(expert: str | None, amateur: str | None, limit: int | None, released: str | None,
            output_dir: Path, recipe_path: Path | None, overrides: tuple[str, ...]) -> None:
    """sample (or import) -> finetune -> merge in one command."""
    recipe = _load(recipe_path, overrides, limit)
    if released is not None:
        expert = expert or _import(recipe, released, output_dir / "sampling")
    else:
        expert = expert or recipe.expert
        _sample(recipe, expert, amateur or recipe.amateur, output_dir / "sampling")
    _finetune(recipe, expert, output_dir / "sampling" / "samples.jsonl", output_dir / "adapter")
    _merge(expert, output_dir / "adapter", output_dir / "merged", recipe.merge.dtype)


@lightr.command()
@click.option("--expert", default=None, help="Expert model (default: the recipe's).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Number of problems (default: the recipe's, all GSM8K train problems).")
@click.option("--output-dir", type=_PATH, required=True,
              help="Writes rejection/, adapter/ and merged/ here; a rerun resumes sampling.")
@click.option("--recipe", "recipe_path", type=_PATH, default=None,
              help="Recipe YAML (default: the bundled lightreasoner-sft.yaml).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe value, e.g. --set rejection.samples=4.")
def sft(expert: str | None, limit: int | None, output_dir: Path, recipe_path: Path | None,
        overrides: tuple[str, ...]) -> None:
    """The "+ SFT" baseline: the expert's correct solutions -> LoRA SFT -> merge."""
    from evalkit.training.lightr.sft import run_sft_baseline
    from evalkit.training.lightr.sft_recipe import load_sft_recipe

    extra = [f"limit={limit}"] if limit is not None else []
    recipe = load_sft_recipe(recipe_path, [*overrides, *extra])
    run_sft_baseline(recipe, expert or recipe.expert, output_dir, echo=click.echo)
    click.echo(f"evaluate: evalkit run --model {output_dir / 'merged'}")
