"""`lightr sample`: expert rollouts -> one-pass expert/amateur scoring -> kept steps on disk.

Before any model loads, the questions (and their gold solutions) are checked against the
evaluation tasks (decontamination.json; the recipe's decontamination.on_overlap decides).
Per batch of questions: the expert generates its rollouts (rollout.py: its own generation
config by default; rollouts.jsonl, a SampleStore, so a rerun never regenerates), both models
score the whole batch in one forward pass each, and the kept steps are fsync'd before the batch
counts as done (step_store.py). Completion tokens before sampling.first_step are never kept.
A rerun of the same command resumes; a rerun with other settings in the same folder is refused.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evalkit.errors import EvalkitError
from evalkit.generation.engines import GenerationRequest, sample_seed
from evalkit.generation.models import ModelRef, resolve_model
from evalkit.generation.prompts import Prompter, PromptPreset, RenderedPrompt
from evalkit.records import Problem, SampleRecord
from evalkit.runfolder.store import SampleStore
from evalkit.tasks import get_task
from evalkit.training.decontaminate import guard_pool
from evalkit.training.lightr.contrast import ContrastStep
from evalkit.training.lightr.recipe import Recipe
from evalkit.training.lightr.rollout import (
    RolloutSampling,
    expert_sampling,
    generate_rollouts,
    recipe_sampling,
)
from evalkit.training.lightr.scoring import ContrastScorer, ScoringInput
from evalkit.training.lightr.step_store import QuestionSteps, StepSampleStore
from evalkit.training.pool import task_pool

META_FILE = "sampling.json"
DECONTAMINATION_FILE = "decontamination.json"


def lightr_preset(system_prompt: str) -> PromptPreset:
    """The published prompt: the system message, then the bare question as the user turn."""
    return PromptPreset("lightreasoner", True, "{question}", system=system_prompt,
                        description="LightReasoner sampling prompt")


def _run_key(recipe: Recipe, expert: ModelRef, amateur: ModelRef) -> dict[str, Any]:
    """What must match for a folder's samples to be extended rather than refused."""
    settings = {k: v for k, v in asdict(recipe.sampling).items() if k != "batch_size"}
    return {
        "expert": {"source": expert.source, "revision": expert.revision},
        "amateur": {"source": amateur.source, "revision": amateur.revision},
        "task": recipe.task,
        "split": recipe.split,
        "sampling": settings,
        "decontamination": asdict(recipe.decontamination),
    }


def scoring_input(tokenizer: Any, prompt: RenderedPrompt, rollout: SampleRecord) -> ScoringInput:
    """The ids both models read for a stored rollout (prompt encoded as the engine encodes it)."""
    prompt_ids = tokenizer(prompt.text, add_special_tokens=prompt.add_special_tokens).input_ids
    return ScoringInput(prompt_ids, list(rollout.token_ids or []),
                        stopped=rollout.finish_reason == "stop")


def step_record(question_id: str, rollout: ScoringInput, step: ContrastStep) -> dict[str, Any]:
    """The samples.jsonl line of one kept step."""
    return {
        "question_id": question_id,
        "step": step.step,
        "prefix_ids": rollout.step_prefix(step.step),
        "token_ids": step.token_ids,
        "weights": step.weights,
        "kl": step.kl,
    }


class LightRSampler:
    """Loads the expert (generation engine + scorer) and the amateur once; samples questions."""

    def __init__(self, recipe: Recipe, expert: ModelRef, amateur: ModelRef) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from evalkit.generation.engines.hf import HFEngine
        from evalkit.training.lightr.vocab import shared_vocab_size

        self.recipe = recipe
        self.expert_ref, self.amateur_ref = expert, amateur
        settings = recipe.sampling
        self.engine = HFEngine(self.expert_ref.path, batch_size=settings.batch_size,
                               dtype=settings.dtype)
        amateur_tokenizer = AutoTokenizer.from_pretrained(self.amateur_ref.path)
        self.amateur = AutoModelForCausalLM.from_pretrained(
            self.amateur_ref.path, dtype=self.engine.dtype
        ).to(self.engine.device).eval()
        expert_model = self.engine.model
        self.vocab_size = shared_vocab_size(
            self.engine.tokenizer, amateur_tokenizer,
            expert_model.config.vocab_size, self.amateur.config.vocab_size,
        )
        self.vocab_info = {
            "compared_ids": self.vocab_size,
            "expert_logits": expert_model.config.vocab_size,
            "amateur_logits": self.amateur.config.vocab_size,
            "rule": "identical token->id maps required; softmax over the shared real ids, "
                    "padded embedding rows dropped",
        }
        self.rollout = rollout_sampling(recipe, self.expert_ref)
        warp = self.rollout.warp if settings.expert_scores == "processed" else None
        self.scorer = ContrastScorer(
            expert_model, self.amateur, self.vocab_size, settings.alpha, settings.beta, warp
        )
        self.prompter = Prompter(lightr_preset(settings.system_prompt), self.engine.tokenizer)

    def rollouts(
        self, problems: list[Problem], store: SampleStore
    ) -> dict[str, tuple[RenderedPrompt, SampleRecord]]:
        """Each problem's prompt and expert rollout, generating those not yet stored."""
        settings = self.recipe.sampling
        prompts = {p.id: self.prompter.render(p.question) for p in problems}
        missing = [p for p in problems if (p.id, 0) not in store]
        if missing:
            requests = [
                GenerationRequest(p.id, 0, sample_seed(settings.seed, p.id, 0), prompts[p.id])
                for p in missing
            ]
            done = generate_rollouts(self.engine, requests, self.rollout, settings.max_new_tokens)
            store.append(
                SampleRecord(
                    problem_id=r.problem_id, sample_index=0, seed=r.seed, text=c.text,
                    num_tokens=c.num_tokens, finish_reason=c.finish_reason,
                    prompt_tokens=c.prompt_tokens, token_ids=c.token_ids,
                )
                for r, c in zip(requests, done, strict=True)
            )
        return {p.id: (prompts[p.id], store.get(p.id, 0)) for p in problems}

    def contrast(self, problems: list[Problem], store: SampleStore) -> list[QuestionSteps]:
        """Generate (if needed) and score one batch of questions; return their kept steps."""
        inputs = [
            scoring_input(self.engine.tokenizer, prompt, record)
            for prompt, record in self.rollouts(problems, store).values()
        ]
        first = self.recipe.sampling.first_step
        return [
            QuestionSteps(p.id, max(len(result.kl) - first, 0),
                          [step_record(p.id, seq, s) for s in result.kept if s.step >= first])
            for p, seq, result in zip(problems, inputs, self.scorer.score(inputs), strict=True)
        ]


def rollout_sampling(recipe: Recipe, expert: ModelRef) -> RolloutSampling:
    """The expert's rollout decoding: its own generation config, or the recipe's values."""
    settings = recipe.sampling
    if settings.rollout == "expert":
        return expert_sampling(expert.path)
    return recipe_sampling(settings.temperature, settings.top_p)


def run_sampling(
    recipe: Recipe, expert: str, amateur: str, output_dir: Path, console: Console | None = None
) -> dict[str, Any]:
    """Sample the recipe's questions into `output_dir` (resuming); return sampling.json."""
    console = console or Console(stderr=True)
    started = time.time()
    problems = get_task(recipe.task, split=recipe.split).load(limit=recipe.limit)
    output_dir.mkdir(parents=True, exist_ok=True)
    dropped = guard_pool(task_pool(recipe.task, recipe.split, recipe.limit),
                         recipe.decontamination, output_dir / DECONTAMINATION_FILE,
                         f"{recipe.task}-{recipe.split}")
    problems = [p for p in problems if p.id not in dropped]
    expert_ref, amateur_ref = resolve_model(expert), resolve_model(amateur)
    key = _run_key(recipe, expert_ref, amateur_ref)
    meta_path = output_dir / META_FILE
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta["key"] != key:
            raise EvalkitError(
                f"{output_dir} holds samples made with other models or settings (see "
                f"{meta_path}): pass a new --output-dir, or delete that folder to start over"
            )
    else:
        meta = {"key": key, "recipe": recipe.to_json(),
                "models": {"expert": expert_ref.to_json(), "amateur": amateur_ref.to_json()}}
    steps = StepSampleStore(output_dir)
    pending = [p for p in problems if not steps.is_done(p.id)]
    console.print(f"lightr sample: {len(problems)} questions, {len(problems) - len(pending)} done, "
                  f"{len(pending)} to sample")
    if pending:
        with console.status(f"loading expert {expert} and amateur {amateur}"):
            sampler = LightRSampler(recipe, expert_ref, amateur_ref)
        meta["vocab"] = sampler.vocab_info
        meta["rollout"] = sampler.rollout.to_json()
        meta_path.write_text(json.dumps(meta, indent=1))
        rollouts = SampleStore(output_dir / "rollouts.jsonl", writable=True)
        size = recipe.sampling.batch_size
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as bar:
            job = bar.add_task("sampling", total=len(pending))
            for start in range(0, len(pending), size):
                chunk = pending[start : start + size]
                steps.append(sampler.contrast(chunk, rollouts))
                bar.advance(job, len(chunk))
    meta.update(totals=steps.totals(), last_run_s=round(time.time() - started, 3),
                decontamination={"file": DECONTAMINATION_FILE, "dropped": sorted(dropped)})
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta
