"""How the expert samples its rollouts, and which of its distributions a step is scored on.

The published sampler (LightR_sampling.py) calls ``expert.generate(..., max_new_tokens=128,
output_scores=True)`` with no sampling arguments, so the expert's generation_config.json decides:
greedy for Qwen2.5-Math-1.5B (no ``do_sample``), sampling for DeepSeek-R1-Distill-Qwen-1.5B
(``do_sample``, temperature 0.6, top-p 0.95, and the top-k of 50 that transformers 4.x, which the
published code ran under, applies when a config names none). The expert's step distribution is
the softmax of generate's ``scores``: the logits after those processors
(:meth:`RolloutSampling.warp`). ``sampling.rollout: recipe`` uses the recipe's temperature and
top-p instead; ``sampling.expert_scores: raw`` scores the unprocessed logits.

Rollouts run through the hf engine, seeded per question, so they never depend on batching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from evalkit.errors import EvalkitError
from evalkit.generation.engines import GenerationRequest, SamplingConfig
from evalkit.records import Completion

TRANSFORMERS4_TOP_K = 50  # GenerationConfig's default top_k in transformers 4.x


@dataclass(frozen=True)
class RolloutSampling:
    """The decoding of expert rollouts: greedy (temperature 0) or temperature, top-k, top-p."""

    temperature: float
    top_k: int | None
    top_p: float
    source: str  # where these values come from

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def warp(self, logits: torch.Tensor) -> torch.Tensor:
        """Rows of logits as generate() scores them: / temperature, then top-k, then top-p.

        Tokens outside the kept set are -inf; greedy decoding applies no processor.
        """
        if self.greedy:
            return logits
        scores = logits.float() / self.temperature
        if self.top_k is not None and self.top_k < scores.shape[-1]:
            kth = scores.topk(self.top_k, dim=-1).values[..., -1:]
            scores = scores.masked_fill(scores < kth, float("-inf"))
        if self.top_p < 1.0:
            probs, order = torch.softmax(scores, dim=-1).sort(dim=-1, descending=True)
            keep_sorted = (probs.cumsum(dim=-1) - probs) < self.top_p
            keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
            scores = scores.masked_fill(~keep, float("-inf"))
        return scores


def expert_sampling(model_path: str) -> RolloutSampling:
    """The rollout sampling the expert's own generation_config.json asks for."""
    from transformers import GenerationConfig

    try:
        config = GenerationConfig.from_pretrained(model_path)
    except OSError:
        config = GenerationConfig()
    penalty = config.repetition_penalty
    if penalty not in (None, 1.0):
        raise EvalkitError(
            f"the expert's generation config sets repetition_penalty={penalty}, which evalkit's "
            "rollouts do not apply: set sampling.rollout=recipe with the temperature and top_p "
            "to use"
        )
    if not config.do_sample:
        return RolloutSampling(0.0, None, 1.0, "expert generation_config.json: greedy")
    top_k = config.top_k if config.top_k is not None else TRANSFORMERS4_TOP_K
    return RolloutSampling(
        float(config.temperature if config.temperature is not None else 1.0),
        top_k or None,
        float(config.top_p if config.top_p is not None else 1.0),
        "expert generation_config.json (top_k 50 when unset: the transformers 4.x default)",
    )


def recipe_sampling(temperature: float, top_p: float) -> RolloutSampling:
    """The recipe's own temperature and top-p (greedy at temperature 0)."""
    if temperature == 0.0:
        return RolloutSampling(0.0, None, 1.0, "recipe: greedy")
    return RolloutSampling(temperature, None, top_p, "recipe")


def generate_rollouts(
    engine: Any, requests: Sequence[GenerationRequest], sampling: RolloutSampling,
    max_tokens: int,
) -> list[Completion]:
    """One rollout per request with `engine` (an evalkit HFEngine), in request order."""
    decoding = SamplingConfig(sampling.temperature, sampling.top_p, max_tokens,
                              top_k=sampling.top_k or 0)
    position = {id(request): i for i, request in enumerate(requests)}
    done: dict[int, Completion] = {}
    engine.generate(requests, decoding,
                    lambda batch: done.update((position[id(r)], c) for r, c in batch))
    return [done[i] for i in range(len(requests))]
