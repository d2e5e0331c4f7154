"""`lightr finetune`: LoRA on the expert (peft) trained by a transformers Trainer on soft labels.

The Trainer brings the optimiser, schedule, mixed precision, checkpointing and `accelerate
launch` support; ours is only the loss (soft_labels.py). The adapter and the expert's tokenizer
are saved to the output folder with lightr_finetune.json (settings, data, loss log). Before
anything loads, the expert is checked against the model that sampled the steps (sampling.json).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments

from evalkit.errors import EvalkitError
from evalkit.generation.models import ModelRef, resolve_model
from evalkit.training.checkpoints import CHECKPOINT_SETTINGS, resumable_checkpoint
from evalkit.training.lightr.recipe import LoraSettings, Recipe
from evalkit.training.lightr.soft_labels import LeftPadCollator, SoftLabelSteps, soft_label_loss
from evalkit.training.lightr.vocab import label_vocab_size

SUMMARY_FILE = "lightr_finetune.json"


class SoftLabelKLTrainer(Trainer):
    """A Trainer whose loss is the soft-label KL at the last real token."""

    loss_is_scaled_for_ga = False  # a per-batch mean: the Trainer divides by accumulation steps

    def __init__(self, *args: Any, vocab_size: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.vocab_size = vocab_size

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss = soft_label_loss(model, inputs, self.vocab_size)
        return (loss, None) if return_outputs else loss


def lora_model(model: Any, settings: LoraSettings) -> Any:
    """Wrap `model` with the recipe's LoRA adapters (only they train)."""
    config = LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        target_modules=list(settings.target_modules), bias="none",
                        task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def _named(model: dict[str, Any]) -> str:
    revision = model.get("revision")
    return f"{model['source']}@{revision}" if revision else str(model["source"])


def check_sampling_expert(expert: ModelRef, samples: Path, required: bool) -> str:
    """One line naming the expert to fine-tune and the one that sampled `samples`.

    The models are the same when their revisions agree (or, where the sampling record has no
    revision, their sources). A different expert is an error unless `required` is false.
    """
    record = samples.parent / "sampling.json"
    if not record.is_file():
        if required:
            raise EvalkitError(
                f"{record} is missing, so the expert that sampled {samples} is unknown: point "
                "--samples at a folder written by `lightr sample` or `lightr import`"
            )
        return f"expert check: fine-tuning {_named(expert.to_json())}; sampling expert unknown"
    sampled = json.loads(record.read_text())["models"]["expert"]
    mine = expert.to_json()
    same = (mine["revision"] == sampled["revision"] if sampled.get("revision")
            else mine["source"] == sampled["source"])
    line = (f"expert check: fine-tuning {_named(mine)}, steps sampled by {_named(sampled)}: "
            f"{'same model' if same else 'DIFFERENT models'}")
    if not same and required:
        raise EvalkitError(
            f"{line}; LightReasoner fine-tunes the expert that sampled the steps (README "
            f"caveat): pass --expert {sampled['source']}, or set "
            "train.require_sampling_expert=false"
        )
    return line


def checkpoint_settings(expert: dict[str, Any], samples: Path, recipe: Any) -> dict[str, Any]:
    """What a Trainer checkpoint depends on: the expert, the data and the LoRA/train settings
    (`recipe`: a LightReasoner or an SFT baseline recipe)."""
    return {
        "expert": expert,
        "samples_sha256": hashlib.sha256(samples.read_bytes()).hexdigest(),
        "lora": asdict(recipe.lora),
        "train": asdict(recipe.train),
    }


def run_finetune(recipe: Recipe, expert: str, samples: Path, output_dir: Path,
                 echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Train the LoRA adapter on `samples` (samples.jsonl) and save it to `output_dir`.

    A rerun after a kill resumes from the last checkpoint made with the same settings.
    """
    started = time.time()
    settings = recipe.train
    ref = resolve_model(expert)
    check = check_sampling_expert(ref, samples, settings.require_sampling_expert)
    echo(check)
    checkpoints = output_dir / "checkpoints"
    made_with = checkpoint_settings(ref.to_json(), samples, recipe)
    last = resumable_checkpoint(checkpoints, made_with)
    tokenizer = AutoTokenizer.from_pretrained(ref.path)
    vocab_size = label_vocab_size(tokenizer, settings.label_vocab)
    dataset = SoftLabelSteps(samples, settings.max_length, vocab_size)
    dtype = torch.bfloat16 if settings.bf16 else torch.float32
    model = lora_model(AutoModelForCausalLM.from_pretrained(ref.path, dtype=dtype), recipe.lora)
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        pad_id = tokenizer.eos_token_id  # masked out either way
    args = TrainingArguments(
        output_dir=str(checkpoints),
        per_device_train_batch_size=settings.per_device_batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        learning_rate=settings.learning_rate,
        max_steps=settings.max_steps,
        bf16=settings.bf16,
        logging_steps=settings.logging_steps,
        save_steps=settings.save_steps,
        save_total_limit=2,
        seed=settings.seed,
        report_to="none",
        remove_unused_columns=False,
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    trainer = SoftLabelKLTrainer(
        model=model, args=args, train_dataset=dataset, data_collator=LeftPadCollator(pad_id),
        processing_class=tokenizer, vocab_size=vocab_size,
    )
    checkpoints.mkdir(parents=True, exist_ok=True)
    (checkpoints / CHECKPOINT_SETTINGS).write_text(json.dumps(made_with, indent=1))
    result = trainer.train(resume_from_checkpoint=last)
    trainer.save_model(str(output_dir))
    summary = {
        "expert": ref.to_json(),
        "expert_check": check,
        "samples": str(samples),
        "examples": len(dataset),
        "label_vocab": {"rule": settings.label_vocab, "ids": vocab_size},
        "lora": asdict(recipe.lora),
        "train": asdict(settings),
        "resumed_from": last,
        "train_loss": result.training_loss,
        "log_history": trainer.state.log_history,
        "runtime_s": round(time.time() - started, 3),
    }
    (output_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=1))
    return summary
