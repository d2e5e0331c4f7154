"""LightReasoner sampling throughput: one-pass scoring against the naive per-step loop.

Usage: python benchmarks/lightr_sampling.py [--expert smollm2-135m] [--amateur PATH]
           [--questions 10] [--naive-questions 4] [--max-new-tokens 128] [--threads N]

The expert generates greedy rollouts for the first GSM8K train questions (timed apart); then
the same rollouts are scored three ways and steps/s printed:
  one-pass   each model reads each batch of whole sequences once (evalkit's sampler);
  naive      each model reads each step's prefix alone (the reference implementation);
and, for the amateur alone, also the published loop: the prefixes of a question re-read in
right-padded batches of 64. The naive loops run on the first --naive-questions questions.
Without --amateur, the amateur is a tiny random model of the expert's architecture and
tokenizer (2 layers, hidden 64), so the expert dominates the cost of both methods.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from evalkit.generation.models import resolve_model
from evalkit.runfolder.store import SampleStore
from evalkit.tasks import get_task
from evalkit.training.lightr.recipe import load_recipe
from evalkit.training.lightr.reference import reference_contrast
from evalkit.training.lightr.sampler import LightRSampler, scoring_input
from evalkit.training.lightr.scoring import ScoringInput


def tiny_amateur(expert_path: str, folder: Path) -> Path:
    """A 2-layer random model with the expert's architecture, vocabulary and tokenizer."""
    config = AutoConfig.from_pretrained(expert_path)
    config.update({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                   "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
                   "initializer_range": 0.2})
    torch.manual_seed(1)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(expert_path).save_pretrained(folder)
    return folder


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def published_amateur_loop(amateur, seq: ScoringInput, pad_id: int, chunk: int = 64) -> None:
    """The amateur pass of LightR_sampling.py: every prefix re-read, right-padded, 64 per call."""
    prefixes = [seq.step_prefix(t) for t in range(seq.num_steps)]
    for start in range(0, len(prefixes), chunk):
        rows = prefixes[start : start + chunk]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, r in enumerate(rows):
            ids[i, : len(r)], mask[i, : len(r)] = torch.tensor(r), 1
        amateur(input_ids=ids.to(amateur.device), attention_mask=mask.to(amateur.device))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expert", default="smollm2-135m")
    parser.add_argument("--amateur", default=None, help="default: a tiny random model")
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--naive-questions", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        expert = resolve_model(args.expert)
        amateur_name = args.amateur or str(tiny_amateur(expert.path, Path(tmp) / "amateur"))
        recipe = load_recipe(overrides=[
            f"limit={args.questions}", f"sampling.max_new_tokens={args.max_new_tokens}",
            f"sampling.batch_size={args.questions}", f"sampling.dtype={args.dtype}",
        ])
        loaded = time.perf_counter()
        sampler = LightRSampler(recipe, expert, resolve_model(amateur_name))
        loaded = time.perf_counter() - loaded
        problems = get_task("gsm8k", split="train").load(limit=args.questions)
        store = SampleStore(Path(tmp) / "rollouts.jsonl", writable=True)
        rollouts: dict = {}
        gen_s = timed(lambda: rollouts.update(sampler.rollouts(problems, store)))
        tokenizer = sampler.engine.tokenizer
        seqs = [scoring_input(tokenizer, prompt, record) for prompt, record in rollouts.values()]
    few = seqs[: args.naive_questions]
    steps, few_steps = sum(s.num_steps for s in seqs), sum(s.num_steps for s in few)
    expert_model, amateur = sampler.engine.model, sampler.amateur
    vocab, alpha, beta = sampler.vocab_size, recipe.sampling.alpha, recipe.sampling.beta

    with torch.inference_mode():
        sampler.scorer.score(seqs[:1])  # warm-up
        fast: list = []
        one_pass_s = timed(lambda: fast.extend(sampler.scorer.score(seqs)))
        slow: list = []
        naive_s = timed(lambda: slow.extend(
            reference_contrast(expert_model, amateur, s, vocab, alpha, beta) for s in few))
        amateur_one_s = timed(lambda: [
            amateur(input_ids=torch.tensor([s.model_input()], device=amateur.device)) for s in few])
        amateur_step_s = timed(lambda: [
            amateur(input_ids=torch.tensor([s.step_prefix(t)], device=amateur.device))
            for s in few for t in range(s.num_steps)])
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        amateur_pub_s = timed(lambda: [published_amateur_loop(amateur, s, pad) for s in few])

    pairs = [(a, b) for f, s in zip(fast, slow, strict=False) for a, b in zip(f.kl, s.kl,
                                                                               strict=True)]
    gap = max(abs(a - b) for a, b in pairs)
    rel_gap = max(abs(a - b) / max(abs(b), 1e-12) for a, b in pairs)
    kept = sum(len(f.kept) for f in fast)
    out = Console(width=120)
    params = sum(p.numel() for p in expert_model.parameters()) / 1e6
    amateur_label = args.amateur or "tiny random (2 layers, hidden 64)"
    out.print(f"expert {args.expert} ({params:.0f}M params), amateur {amateur_label}; "
              f"{sampler.engine.device}, {args.dtype}, {torch.get_num_threads()} threads")
    out.print(f"{len(seqs)} GSM8K train questions, {steps} steps (max {args.max_new_tokens} new "
              f"tokens), {kept} kept at beta {beta}; models loaded in {loaded:.1f} s, expert "
              f"rollouts generated in {gen_s:.1f} s")
    out.print(f"one-pass scoring (both models): {steps / one_pass_s:9.1f} steps/s "
              f"({one_pass_s:.2f} s for {len(seqs)} questions)")
    out.print(f"naive per-step (both models):   {few_steps / naive_s:9.1f} steps/s "
              f"({naive_s:.2f} s for {len(few)} questions)")
    out.print(f"  speed-up {steps / one_pass_s / (few_steps / naive_s):.1f}x; max |KL one-pass - "
              f"naive| = {gap:.2e} (relative {rel_gap:.1e})")
    out.print(f"amateur only, {len(few)} questions: one pass {few_steps / amateur_one_s:.1f} "
              f"steps/s, per step {few_steps / amateur_step_s:.1f} steps/s, published loop "
              f"(64 prefixes per call) {few_steps / amateur_pub_s:.1f} steps/s")


if __name__ == "__main__":
    main()
