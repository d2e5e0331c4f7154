"""`lightr sample`: expert rollouts -> one-pass expert/amateur scoring -> kept steps on disk.

Per batch of questions: the expert generates through the hf Engine (rollouts.jsonl, a
SampleStore, so a rerun never regenerates), both models score the whole batch in one forward
pass each, and the kept steps are fsync'd before the batch counts as done (step_store.py).
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
from evalkit.generation.engines import GenerationRequest, SamplingConfig, sample_seed
from evalkit.generation.models import ModelRef, resolve_model
from evalkit.generation.prompts import Prompter, PromptPreset, RenderedPrompt
from evalkit.records import Problem, SampleRecord
from evalkit.runfolder.store import SampleStore
from evalkit.tasks import get_task
from evalkit.training.lightr.contrast import ContrastStep
from evalkit.training.lightr.recipe import Recipe
from evalkit.training.lightr.scoring import ContrastScorer, ScoringInput
from evalkit.training.lightr.step_store import QuestionSteps, StepSampleStore

META_FILE = "sampling.json"


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
        self.scorer = ContrastScorer(
            expert_model, self.amateur, self.vocab_size, settings.alpha, settings.beta
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
            greedy = settings.temperature == 0.0
            config = SamplingConfig(settings.temperature, 1.0 if greedy else settings.top_p,
                                    settings.max_new_tokens)
            requests = [
                GenerationRequest(p.id, 0, sample_seed(settings.seed, p.id, 0), prompts[p.id])
                for p in missing
            ]
            self.engine.generate(requests, config, lambda done: store.append(
                SampleRecord(
                    problem_id=r.problem_id, sample_index=0, seed=r.seed, text=c.text,
                    num_tokens=c.num_tokens, finish_reason=c.finish_reason,
                    prompt_tokens=c.prompt_tokens, token_ids=c.token_ids,
                )
                for r, c in done
            ))
        return {p.id: (prompts[p.id], store.get(p.id, 0)) for p in problems}

    def contrast(self, problems: list[Problem], store: SampleStore) -> list[QuestionSteps]:
        """Generate (if needed) and score one batch of questions; return their kept steps."""
        inputs = [
            scoring_input(self.engine.tokenizer, prompt, record)
            for prompt, record in self.rollouts(problems, store).values()
        ]
        return [
            QuestionSteps(p.id, len(result.kl), [step_record(p.id, seq, s) for s in result.kept])
            for p, seq, result in zip(problems, inputs, self.scorer.score(inputs), strict=True)
        ]


def run_sampling(
    recipe: Recipe, expert: str, amateur: str, output_dir: Path, console: Console | None = None
) -> dict[str, Any]:
    """Sample the recipe's questions into `output_dir` (resuming); return sampling.json."""
    console = console or Console(stderr=True)
    started = time.time()
    problems = get_task(recipe.task, split=recipe.split).load(limit=recipe.limit)
    expert_ref, amateur_ref = resolve_model(expert), resolve_model(amateur)
    key = _run_key(recipe, expert_ref, amateur_ref)
    output_dir.mkdir(parents=True, exist_ok=True)
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
        meta_path.write_text(json.dumps(meta, indent=1))
        rollouts = SampleStore(output_dir / "rollouts.jsonl")
        size = recipe.sampling.batch_size
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as bar:
            job = bar.add_task("sampling", total=len(pending))
            for start in range(0, len(pending), size):
                chunk = pending[start : start + size]
                steps.append(sampler.contrast(chunk, rollouts))
                bar.advance(job, len(chunk))
    meta.update(totals=steps.totals(), last_run_s=round(time.time() - started, 3))
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta
