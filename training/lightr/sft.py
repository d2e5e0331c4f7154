"""`lightr sft`: LightReasoner's "+ SFT" baseline, rejection sampling -> LoRA SFT -> merge.

The authors' SFT baseline fine-tunes each expert on its own correct solutions to GSM8K training
problems, with LightReasoner's LoRA configuration and budget (README "Efficiency Study").

``rejection/``  the expert's solutions (rollouts.jsonl, a SampleStore: a rerun generates only
                what is missing), graded by evalkit's grader against the gold answers; the
                correct ones as prompt-completion chats (sft.jsonl) and the counts
                (selection.json); decontamination.json for the problems and gold solutions
``adapter/``    the LoRA adapter trained by TRL's SFTTrainer on the completions only
``merged/``     the standalone checkpoint (merge.py)
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.generation.engines import GenerationRequest, sample_seed
from evalkit.generation.models import resolve_model
from evalkit.generation.prompts import Prompter
from evalkit.grading import Grader, GradeRequest
from evalkit.records import SampleRecord
from evalkit.runfolder.store import SampleStore
from evalkit.tasks import get_task
from evalkit.training.checkpoints import CHECKPOINT_SETTINGS, resumable_checkpoint
from evalkit.training.decontaminate import guard_pool
from evalkit.training.pool import task_pool

from .finetune import checkpoint_settings
from .merge import merge_adapter
from .rollout import expert_sampling, generate_rollouts, recipe_sampling
from .sampler import DECONTAMINATION_FILE, lightr_preset
from .sft_recipe import SftRecipe

SELECTION_FILE = "selection.json"
SUMMARY_FILE = "lightr_sft.json"


def _key(recipe: SftRecipe, expert: dict[str, Any]) -> dict[str, Any]:
    return {"expert": {"source": expert["source"], "revision": expert["revision"]},
            "task": recipe.task, "split": recipe.split,
            "rejection": {k: v for k, v in asdict(recipe.rejection).items()
                          if k not in ("batch_size", "grader_workers")}}


def run_rejection(recipe: SftRecipe, expert: str, output_dir: Path,
                  echo: Callable[[str], None] = print) -> dict[str, Any]:
    """The expert's correct solutions as output_dir/sft.jsonl; returns selection.json."""
    settings = recipe.rejection
    output_dir.mkdir(parents=True, exist_ok=True)
    problems = get_task(recipe.task, recipe.split).load(limit=recipe.limit)
    dropped = guard_pool(task_pool(recipe.task, recipe.split, recipe.limit),
                         recipe.decontamination, output_dir / DECONTAMINATION_FILE,
                         f"{recipe.task}-{recipe.split}")
    problems = [p for p in problems if p.id not in dropped]
    ref = resolve_model(expert)
    key = _key(recipe, ref.to_json())
    meta_path = output_dir / SELECTION_FILE
    if meta_path.is_file() and json.loads(meta_path.read_text())["key"] != key:
        raise EvalkitError(f"{output_dir} holds solutions made with another expert or settings "
                           f"(see {meta_path}): pass a new --output-dir")
    meta_path.write_text(json.dumps({"key": key}, indent=1))
    store = SampleStore(output_dir / "rollouts.jsonl", writable=True)
    wanted = [(p, i) for p in problems for i in range(settings.samples)]
    missing = [(p, i) for p, i in wanted if (p.id, i) not in store]
    if missing:
        _generate(recipe, ref.path, missing, store, echo)
    records = [store.get(p.id, i) for p, i in wanted]
    with Grader(settings.grader_workers, settings.grader_timeout) as grader:
        grades = grader.grade([GradeRequest(r.text, p.gold, p.answer_kind, r.finish_reason)
                               for (p, _), r in zip(wanted, records, strict=True)])
    kept = 0
    with open(output_dir / "sft.jsonl", "w", encoding="utf-8") as handle:
        for (problem, index), record, grade in zip(wanted, records, grades, strict=True):
            if grade.status != "correct":
                continue
            kept += 1
            handle.write(json.dumps({
                "problem_id": problem.id, "sample_index": index,
                "prompt": [{"role": "system", "content": settings.system_prompt},
                           {"role": "user", "content": problem.question}],
                "completion": [{"role": "assistant", "content": record.text}],
            }, ensure_ascii=False) + "\n")
    solved = {p.id for (p, _), g in zip(wanted, grades, strict=True) if g.status == "correct"}
    meta = {"key": key, "expert": ref.to_json(), "problems": len(problems),
            "solutions": len(records), "statuses": dict(Counter(g.status for g in grades)),
            "problems_with_a_correct_solution": len(solved), "examples": kept,
            "completion_tokens": sum(r.num_tokens for r, g in zip(records, grades, strict=True)
                                     if g.status == "correct"),
            "decontamination": {"file": DECONTAMINATION_FILE, "dropped": sorted(dropped)}}
    meta_path.write_text(json.dumps(meta, indent=1))
    echo(f"lightr sft: {kept} correct solutions of {len(records)} for {len(solved)} of "
         f"{len(problems)} problems -> {output_dir / 'sft.jsonl'}")
    return meta


def _generate(recipe: SftRecipe, model_path: str, missing: list, store: SampleStore,
              echo: Callable[[str], None]) -> None:
    from evalkit.generation.engines.hf import HFEngine

    settings = recipe.rejection
    engine = HFEngine(model_path, batch_size=settings.batch_size, dtype=settings.dtype)
    sampling = (expert_sampling(model_path) if settings.rollout == "expert"
                else recipe_sampling(settings.temperature, settings.top_p))
    prompter = Prompter(lightr_preset(settings.system_prompt), engine.tokenizer)
    echo(f"lightr sft: {len(missing)} solutions to sample ({sampling.source})")
    for start in range(0, len(missing), settings.batch_size):
        chunk = missing[start : start + settings.batch_size]
        requests = [GenerationRequest(p.id, i, sample_seed(settings.seed, p.id, i),
                                      prompter.render(p.question)) for p, i in chunk]
        done = generate_rollouts(engine, requests, sampling, settings.max_new_tokens)
        store.append(
            SampleRecord(problem_id=r.problem_id, sample_index=r.sample_index, seed=r.seed,
                         text=c.text, num_tokens=c.num_tokens, finish_reason=c.finish_reason,
                         prompt_tokens=c.prompt_tokens, token_ids=c.token_ids)
            for r, c in zip(requests, done, strict=True)
        )


def run_sft(recipe: SftRecipe, expert: str, data: Path, output_dir: Path) -> dict[str, Any]:
    """LoRA SFT of the expert on `data` (sft.jsonl) with TRL; the adapter goes to output_dir."""
    import torch
    from datasets import load_dataset
    from peft import LoraConfig
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    started = time.time()
    settings, lora = recipe.train, recipe.lora
    ref = resolve_model(expert)
    dataset = load_dataset("json", data_files=str(data), split="train")
    if len(dataset) == 0:
        raise EvalkitError(f"{data} holds no correct solution to train on: sample more problems "
                           "or more solutions per problem (rejection.samples)")
    checkpoints = output_dir / "checkpoints"
    made_with = checkpoint_settings(ref.to_json(), data, recipe)
    last = resumable_checkpoint(checkpoints, made_with)
    config = SFTConfig(
        output_dir=str(checkpoints), per_device_train_batch_size=settings.per_device_batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        learning_rate=settings.learning_rate, max_steps=settings.max_steps, bf16=settings.bf16,
        max_length=settings.max_length, logging_steps=settings.logging_steps,
        save_steps=settings.save_steps, save_total_limit=2, seed=settings.seed,
        report_to="none", completion_only_loss=True,
        model_init_kwargs={"dtype": torch.bfloat16 if settings.bf16 else torch.float32},
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    peft_config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                             target_modules=list(lora.target_modules), bias="none",
                             task_type="CAUSAL_LM")
    tokenizer = AutoTokenizer.from_pretrained(ref.path)
    trainer = SFTTrainer(model=ref.path, args=config,
                         train_dataset=dataset.select_columns(["prompt", "completion"]),
                         processing_class=tokenizer, peft_config=peft_config)
    checkpoints.mkdir(parents=True, exist_ok=True)
    (checkpoints / CHECKPOINT_SETTINGS).write_text(json.dumps(made_with, indent=1))
    result = trainer.train(resume_from_checkpoint=last)
    trainer.save_model(str(output_dir))
    summary = {"expert": ref.to_json(), "data": str(data), "examples": len(dataset),
               "lora": asdict(lora), "train": asdict(settings), "resumed_from": last,
               "train_loss": result.training_loss, "log_history": trainer.state.log_history,
               "runtime_s": round(time.time() - started, 3)}
    (output_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=1))
    return summary


def run_sft_baseline(recipe: SftRecipe, expert: str, output_dir: Path,
                     echo: Callable[[str], None] = print) -> dict[str, Any]:
    """rejection/ -> adapter/ -> merged/ under output_dir; returns the counts of each step."""
    selection = run_rejection(recipe, expert, output_dir / "rejection", echo)
    trained = run_sft(recipe, expert, output_dir / "rejection" / "sft.jsonl",
                      output_dir / "adapter")
    echo(f"lightr sft: trained LoRA on {trained['examples']} solutions, mean loss "
         f"{trained['train_loss']:.4f}")
    merge_adapter(expert, output_dir / "adapter", output_dir / "merged", recipe.merge.dtype)
    echo(f"lightr sft: merged checkpoint -> {output_dir / 'merged'}")
    return {"selection": {k: v for k, v in selection.items() if k != "key"},
            "examples": trained["examples"], "train_loss": trained["train_loss"]}
