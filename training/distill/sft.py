"""SFT step: one stage of supervised fine-tuning with TRL's SFTTrainer.

The split files hold ``{"messages": [user, assistant]}`` examples. With ``sft.loss_on:
full_sequence`` (the default, as ReasonLite trained: open-r1's sft.py hands ``messages`` data to
TRL's SFTTrainer without ``assistant_only_loss`` or ``completion_only_loss``) TRL renders the chat
with the student's template and the loss covers every token. With ``completion_only`` each example
becomes a conversational prompt-completion pair (prompt = the user turn, completion = the
assistant turn) and the loss covers the assistant's tokens only. The recipe's ``args`` go to
``SFTConfig`` unchanged; ``global_batch_size`` sets ``gradient_accumulation_steps`` from the
per-device batch and the number of processes, so one recipe serves 1 GPU or 4 nodes under
``accelerate launch``. A stage resumes from its last checkpoint in its output folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError

from .recipe import StageSettings


def world_size() -> int:
    """Processes in this training run (``accelerate launch`` and torchrun set WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def accumulation_steps(stage: str, settings: StageSettings, processes: int) -> int:
    """Gradient accumulation that makes per-device batch x processes x steps the global batch."""
    if "gradient_accumulation_steps" in settings.args:
        raise EvalkitError(
            f"sft.{stage}.args.gradient_accumulation_steps is derived from global_batch_size: "
            "remove it and set global_batch_size"
        )
    per_device = int(settings.args.get("per_device_train_batch_size", 8))
    steps, rest = divmod(settings.global_batch_size, per_device * processes)
    if rest or steps < 1:
        raise EvalkitError(
            f"sft.{stage}.global_batch_size {settings.global_batch_size} is not a multiple of "
            f"per_device_train_batch_size {per_device} x {processes} processes: change one of them"
        )
    return steps


def to_prompt_completion(example: dict[str, Any]) -> dict[str, Any]:
    """A ``messages`` example as a conversational prompt-completion pair."""
    messages = example["messages"]
    return {"prompt": messages[:-1], "completion": messages[-1:]}


def sft_config(stage: str, settings: StageSettings, output_dir: Path,
               loss_on: str = "full_sequence") -> Any:
    """The stage's TRL SFTConfig: the recipe's args, the derived accumulation, which tokens the
    loss covers, and the stage folder as output."""
    from trl import SFTConfig

    try:
        return SFTConfig(
            output_dir=str(output_dir),
            gradient_accumulation_steps=accumulation_steps(stage, settings, world_size()),
            completion_only_loss=loss_on == "completion_only",
            assistant_only_loss=False,
            **settings.args,
        )
    except (TypeError, ValueError) as err:
        raise EvalkitError(f"sft.{stage}.args: {err}".splitlines()[0]) from err


def build_trainer(stage: str, model_path: str, data: Path, settings: StageSettings,
                  output_dir: Path, loss_on: str = "full_sequence") -> Any:
    """An SFTTrainer for one stage, its dataset tokenized and masked."""
    from datasets import load_dataset
    from transformers import AutoTokenizer
    from trl import SFTTrainer

    dataset = load_dataset("json", data_files=str(data), split="train")
    if len(dataset) == 0:
        raise EvalkitError(
            f"{data} has no examples for {stage}: the filter kept no solution of this part "
            "(see done/filter.json and done/split.json)"
        )
    if loss_on == "completion_only":
        dataset = dataset.map(to_prompt_completion, remove_columns=dataset.column_names)
    else:
        dataset = dataset.select_columns(["messages"])
    config = sft_config(stage, settings, output_dir, loss_on)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    return SFTTrainer(model=model_path, args=config, train_dataset=dataset,
                      processing_class=tokenizer)


def train_stage(
    stage: str, model_path: str, data: Path, settings: StageSettings, output_dir: Path,
    loss_on: str = "full_sequence",
) -> dict[str, Any]:
    """Train one stage from ``model_path`` on ``data``; save the model and tokenizer to
    ``output_dir`` and return a summary (examples, steps, losses, whether this process is
    the main one, which alone should record the stage as done)."""
    from transformers.trainer_utils import get_last_checkpoint

    trainer = build_trainer(stage, model_path, data, settings, output_dir, loss_on)
    resume = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
    result = trainer.train(resume_from_checkpoint=resume)
    trainer.save_model(str(output_dir))
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    main = trainer.is_world_process_zero()
    if main:
        (output_dir / "train_log.json").write_text(
            json.dumps(trainer.state.log_history, indent=1)
        )
    return {
        "examples": len(trainer.train_dataset),
        "steps": trainer.state.global_step,
        "train_loss": result.training_loss,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "main_process": main,
    }
