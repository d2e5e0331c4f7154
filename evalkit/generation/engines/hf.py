"""transformers `generate` engine: static left-padded batches, per-sample seeded sampling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import transformers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    LogitsProcessor,
    LogitsProcessorList,
)

from evalkit.generation.engines.base import BatchCallback, GenerationRequest, SamplingConfig
from evalkit.records import Completion

transformers.logging.disable_progress_bar()


def nucleus(probs: torch.Tensor, top_p: float, candidates: int = 1024) -> torch.Tensor:
    """Zero all but the smallest set of most likely tokens whose mass reaches top_p (per row).

    Exact, but cheap for peaked distributions: the nucleus is searched among the `candidates`
    most likely tokens first, and among the whole vocabulary only when those hold too little
    mass (a full sort of a 49k vocabulary costs more than a forward pass of a 135M model on CPU).
    """
    top, index = probs.topk(min(candidates, probs.shape[-1]), dim=-1)
    if bool((top.sum(dim=-1) < top_p).any()):
        top, index = probs.sort(dim=-1, descending=True)
    keep = (top.cumsum(dim=-1) - top) < top_p
    return torch.zeros_like(probs).scatter_(1, index, top * keep)


class SeededSampler(LogitsProcessor):
    """Samples each row with its own torch.Generator and returns a one-hot mask of the choice.

    Run under greedy decoding, the argmax of the mask is the sampled token, so every row's
    random stream depends only on its own seed, never on which rows share its batch. Each step
    draws one uniform number per row and inverts that row's cumulative distribution.
    """

    def __init__(self, seeds: Sequence[int], temperature: float, top_p: float) -> None:
        self.generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        self.temperature = temperature
        self.top_p = top_p

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        probs = torch.softmax(scores.float().cpu() / self.temperature, dim=-1)
        if self.top_p < 1.0:
            probs = nucleus(probs, self.top_p)
        cdf = probs.cumsum(dim=-1)
        uniform = torch.cat([torch.rand(1, generator=g) for g in self.generators])
        tokens = torch.searchsorted(cdf, (uniform * cdf[:, -1]).unsqueeze(1))
        tokens = tokens.clamp_(max=probs.shape[-1] - 1)
        chosen = torch.full_like(scores, float("-inf"))
        return chosen.scatter_(1, tokens.to(scores.device), 0.0)


def _pick_dtype(name: str) -> torch.dtype:
    if name == "auto":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


class HFEngine:
    """The CPU default and reference engine."""

    name = "hf"

    def __init__(self, model_path: str, batch_size: int = 8, dtype: str = "auto") -> None:
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.dtype = _pick_dtype(dtype)
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.tokenizer.padding_side = "left"
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=self.dtype)
        self.model.to(self.device).eval()
        self.stop_ids = self._stop_ids()
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token_id = self.stop_ids[0]

    def _stop_ids(self) -> list[int]:
        ids = self.model.generation_config.eos_token_id
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in ids:
            ids.append(self.tokenizer.eos_token_id)
        return ids

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "device": self.device,
            "dtype": str(self.dtype).removeprefix("torch."),
            "batch_size": self.batch_size,
            "batching": "static, left-padded, sorted by prompt length",
        }

    def prepare(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> None:
        """Nothing to size: the model is loaded and batches are --batch-size."""

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        sampling: SamplingConfig,
        on_batch: BatchCallback,
    ) -> None:
        encoded = [
            self.tokenizer(r.prompt.text, add_special_tokens=r.prompt.add_special_tokens).input_ids
            for r in requests
        ]
        order = sorted(range(len(requests)), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = [requests[i] for i in rows]
            completions = self._generate_batch([encoded[i] for i in rows], batch, sampling)
            on_batch(list(zip(batch, completions, strict=True)))

    def _generate_batch(
        self, prompts: list[list[int]], batch: list[GenerationRequest], sampling: SamplingConfig
    ) -> list[Completion]:
        padded = self.tokenizer.pad({"input_ids": prompts}, return_tensors="pt").to(self.device)
        config = GenerationConfig(
            max_new_tokens=sampling.max_tokens,
            do_sample=False,
            eos_token_id=self.stop_ids,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        processors = LogitsProcessorList()
        if not sampling.greedy:
            seeds = [r.seed for r in batch]
            processors.append(SeededSampler(seeds, sampling.temperature, sampling.top_p))
        with torch.inference_mode():
            output = self.model.generate(
                **padded, generation_config=config, logits_processor=processors
            )
        new_tokens = output[:, padded["input_ids"].shape[1] :].tolist()
        return [
            self._completion(tokens, sampling.max_tokens, len(prompt))
            for tokens, prompt in zip(new_tokens, prompts, strict=True)
        ]

    def _completion(self, tokens: list[int], max_tokens: int, prompt_tokens: int) -> Completion:
        stop_at = next((i for i, t in enumerate(tokens) if t in self.stop_ids), None)
        if stop_at is None:
            kept, reason = tokens[:max_tokens], "length"
        else:
            kept, reason = tokens[:stop_at], "stop"
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        count = len(kept) + (1 if reason == "stop" else 0)
        return Completion(text, count, reason, token_ids=kept, prompt_tokens=prompt_tokens)
