"""The one entry point of training: (pipeline, recipe, overrides, work folder) -> checkpoint.

Callers outside the training package (the release chain) use only :func:`train_checkpoint` and
:func:`training_settings`; which modules a pipeline runs is this module's business.

=============  ========================================================  =====================
pipeline       what runs                                                 checkpoint
=============  ========================================================  =====================
distill        ReasonLite: generate, vote, filter, split, SFT 1, SFT 2   WORK/stage2
               (or split, SFT 1, SFT 2 on released ``sft_data``)
lightr         LightReasoner: sample, LoRA KL fine-tune, merge           WORK/merged
lightr-sft     LightReasoner "+ SFT": rejection sampling, LoRA SFT,      WORK/merged
               merge
grpo           GRPO rewarded by evalkit's grader                         WORK/model
=============  ========================================================  =====================

Every pipeline resumes what it finished in WORK. The checkpoint folder gets
``training_data.json``: the pipeline, the recipe and the datasets the run read (Hub id,
revision or source, split), which the model card lists.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.training.recipe_yaml import find_recipe

PIPELINES = ("distill", "lightr", "lightr-sft", "grpo")
TRAINING_DATA_FILE = "training_data.json"
_HUB_IDS = {"gsm8k": "openai/gsm8k"}  # bundled task -> the Hub dataset it is a copy of


def _check(pipeline: str) -> None:
    if pipeline not in PIPELINES:
        raise EvalkitError(f"unknown training pipeline {pipeline!r}: one of {', '.join(PIPELINES)}")


def _load(pipeline: str, recipe: str | Path, overrides: Sequence[str]) -> Any:
    _check(pipeline)
    path = find_recipe(recipe)
    if pipeline == "distill":
        from evalkit.training.distill.recipe import load_recipe

        return load_recipe(path, overrides)
    if pipeline == "lightr":
        from evalkit.training.lightr.recipe import load_recipe as load_lightr

        return load_lightr(path, overrides)
    if pipeline == "lightr-sft":
        from evalkit.training.lightr.sft_recipe import load_sft_recipe

        return load_sft_recipe(path, overrides)
    from evalkit.training.grpo.recipe import load_grpo_recipe

    return load_grpo_recipe(path, overrides)


def training_settings(pipeline: str, recipe: str | Path, overrides: Sequence[str] = ()
                      ) -> dict[str, Any]:
    """The resolved recipe as JSON data, without where its files go."""
    loaded = _load(pipeline, recipe, overrides)
    if pipeline == "distill":
        return {f.name: loaded.section(f.name) for f in dataclasses.fields(loaded)
                if f.name != "work_dir"}
    return json.loads(json.dumps(loaded.to_json(), default=str))


def train_checkpoint(pipeline: str, recipe: str | Path, overrides: Sequence[str],
                     work_dir: Path, echo: Callable[[str], None] = print) -> Path:
    """Run `pipeline` with `recipe` (+ overrides) in `work_dir`; return the checkpoint folder."""
    if pipeline == "distill":
        loaded = _load(pipeline, recipe, [*overrides, f"work_dir={work_dir}"])
        checkpoint, counts = _distill(loaded, echo)
    else:
        loaded = _load(pipeline, recipe, overrides)
        run = {"lightr": _lightr, "lightr-sft": _lightr_sft, "grpo": _grpo}[pipeline]
        checkpoint, counts = run(loaded, work_dir, echo)
    record = {"pipeline": pipeline, "recipe": str(find_recipe(recipe)),
              "overrides": list(overrides), "datasets": datasets_used(pipeline, loaded),
              "counts": counts}
    (checkpoint / TRAINING_DATA_FILE).write_text(json.dumps(record, indent=1, default=str))
    return checkpoint


def _distill(recipe: Any, echo: Callable[[str], None]) -> tuple[Path, dict[str, Any]]:
    from evalkit.training.distill.pipeline import Pipeline

    pipeline = Pipeline(recipe)
    counts = {}
    for step in pipeline.steps:
        result = pipeline.step(step)
        echo(f"  distill {step}: {'skipped (complete)' if result.skipped else 'done'}")
        counts[step] = result.counts
    return pipeline.work.stage_dir("stage2"), counts


def _lightr(recipe: Any, work: Path, echo: Callable[[str], None]) -> tuple[Path, dict[str, Any]]:
    from evalkit.training.lightr.finetune import run_finetune
    from evalkit.training.lightr.merge import merge_adapter
    from evalkit.training.lightr.sampler import run_sampling

    sampled = run_sampling(recipe, recipe.expert, recipe.amateur, work / "sampling")
    echo(f"  lightr sample: {sampled['totals']['kept']} steps kept")
    tuned = run_finetune(recipe, recipe.expert, work / "sampling" / "samples.jsonl",
                         work / "adapter", echo=lambda line: echo(f"  {line}"))
    echo(f"  lightr finetune: mean loss {tuned['train_loss']:.4f}")
    merge_adapter(recipe.expert, work / "adapter", work / "merged", recipe.merge.dtype)
    echo("  lightr merge: done")
    return work / "merged", {"sample": sampled["totals"], "examples": tuned["examples"],
                             "train_loss": tuned["train_loss"]}


def _lightr_sft(recipe: Any, work: Path, echo: Callable[[str], None]
                ) -> tuple[Path, dict[str, Any]]:
    from evalkit.training.lightr.sft import run_sft_baseline

    counts = run_sft_baseline(recipe, recipe.expert, work, echo=lambda line: echo(f"  {line}"))
    return work / "merged", counts


def _grpo(recipe: Any, work: Path, echo: Callable[[str], None]) -> tuple[Path, dict[str, Any]]:
    from evalkit.training.grpo.train import run_grpo

    summary = run_grpo(recipe, work, echo=lambda line: echo(f"  {line}"))
    return work / "model", {"prompts": summary["prompts"], "steps": summary["steps"],
                            "train_loss": summary["train_loss"]}


def datasets_used(pipeline: str, recipe: Any) -> list[dict[str, Any]]:
    """The datasets a run of `recipe` reads: Hub id (if any), revision or source, split."""
    if pipeline != "distill":
        return [_task_dataset(recipe.task, recipe.split)]
    if recipe.sft_data is not None:
        return [_published(recipe.datasets[recipe.sft_data.dataset], split)
                for split in (recipe.sft_data.short_split, recipe.sft_data.long_split)]
    if recipe.problems.pools:
        return [_published(recipe.datasets[pool], recipe.datasets[pool].split)
                for pool in recipe.problems.pools]
    return [_task_dataset(recipe.problems.task, recipe.problems.split)]


def _task_dataset(name: str, split: str) -> dict[str, Any]:
    from evalkit.tasks import get_task

    task = get_task(name, split)
    return {"hub_id": _HUB_IDS.get(task.name), "source": task.source, "split": task.split,
            "sha256": task.sha256()}


def _published(source: Any, split: str) -> dict[str, Any]:
    if source.data_files is not None:
        return {"hub_id": None, "source": str(source.data_files), "split": split}
    return {"hub_id": source.repo_id, "revision": source.revision, "config": source.config,
            "split": split}
