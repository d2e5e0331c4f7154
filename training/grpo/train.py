"""`evalkit train grpo`: GRPO on a task's problems with TRL's GRPOTrainer and evalkit's grader.

WORK_DIR/decontamination.json  the problems and gold solutions against every evaluation task
WORK_DIR/checkpoints/          the Trainer's checkpoints (resumed only with the same settings)
WORK_DIR/model/                the trained policy (LoRA merged, if the recipe uses LoRA)
WORK_DIR/grpo.json             settings, data, reward and loss log
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.generation.models import resolve_model
from evalkit.grading import Grader
from evalkit.tasks import get_task
from evalkit.training.checkpoints import CHECKPOINT_SETTINGS, resumable_checkpoint
from evalkit.training.decontaminate import guard_pool
from evalkit.training.pool import task_pool

from .recipe import GrpoRecipe
from .reward import GraderRewards

SUMMARY_FILE = "grpo.json"


def prompts(recipe: GrpoRecipe, work_dir: Path) -> list[dict[str, Any]]:
    """The task's problems as conversational GRPO prompts with their gold answers."""
    problems = get_task(recipe.task, recipe.split).load(limit=recipe.limit)
    dropped = guard_pool(task_pool(recipe.task, recipe.split, recipe.limit),
                         recipe.decontamination, work_dir / "decontamination.json",
                         f"{recipe.task}-{recipe.split}")
    return [{"prompt": [{"role": "user", "content": f"{p.question}\n{recipe.instruction}"}],
             "gold": p.gold, "answer_kind": p.answer_kind, "problem_id": p.id}
            for p in problems if p.id not in dropped]


def grpo_config(recipe: GrpoRecipe, output_dir: Path) -> Any:
    from trl import GRPOConfig

    try:
        return GRPOConfig(output_dir=str(output_dir),
                          reward_weights=[recipe.reward.correct, recipe.reward.format],
                          **recipe.args)
    except (TypeError, ValueError) as err:
        raise EvalkitError(f"grpo args: {err}".splitlines()[0]) from err


def run_grpo(recipe: GrpoRecipe, work_dir: Path,
             echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Train the recipe's policy; the checkpoint goes to WORK_DIR/model. Returns grpo.json."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoTokenizer
    from trl import GRPOTrainer

    started = time.time()
    work_dir.mkdir(parents=True, exist_ok=True)
    rows = prompts(recipe, work_dir)
    if not rows:
        raise EvalkitError(f"no problems left to train on in {recipe.task} ({recipe.split})")
    ref = resolve_model(recipe.model)
    checkpoints = work_dir / "checkpoints"
    made_with = {"model": ref.to_json(), "recipe": {k: v for k, v in recipe.to_json().items()
                                                    if k != "sources"},
                 "data_sha256": hashlib.sha256(json.dumps(rows).encode()).hexdigest()}
    last = resumable_checkpoint(checkpoints, made_with)
    config = grpo_config(recipe, checkpoints)
    tokenizer = AutoTokenizer.from_pretrained(ref.path)
    tokenizer.padding_side = "left"
    lora = recipe.lora
    peft_config = None if lora is None else LoraConfig(
        r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules), bias="none", task_type="CAUSAL_LM")
    echo(f"grpo: {len(rows)} prompts x {config.num_generations} completions, "
         f"rewards {recipe.reward.correct} x correct + {recipe.reward.format} x boxed format")
    with Grader(recipe.reward.grader_workers, recipe.reward.grader_timeout) as grader:
        rewards = GraderRewards(grader)
        trainer = GRPOTrainer(model=ref.path, reward_funcs=[rewards.correct, rewards.boxed_format],
                              args=config, train_dataset=Dataset.from_list(rows),
                              processing_class=tokenizer, peft_config=peft_config)
        checkpoints.mkdir(parents=True, exist_ok=True)
        (checkpoints / CHECKPOINT_SETTINGS).write_text(json.dumps(made_with, indent=1))
        result = trainer.train(resume_from_checkpoint=last)
    model_dir = work_dir / "model"
    model = trainer.model.merge_and_unload() if lora is not None else trainer.model
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    summary = {"model": ref.to_json(), "task": recipe.task, "split": recipe.split,
               "prompts": len(rows), "reward": recipe.to_json()["reward"],
               "resumed_from": last, "train_loss": result.training_loss,
               "steps": trainer.state.global_step, "log_history": trainer.state.log_history,
               "grader": grader.info(), "runtime_s": round(time.time() - started, 3)}
    (work_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=1, default=str))
    echo(f"grpo: {trainer.state.global_step} steps -> {model_dir}")
    return summary
