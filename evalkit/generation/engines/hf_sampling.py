"""Token choice for the hf engine: greedy, or sampling in which each row follows its own seed.

The settings apply in the order vLLM's sampler applies them (vllm/v1/sample/sampler.py):
repetition penalty, then, when sampling, temperature, min-p, top-k and top-p. The penalty,
temperature, min-p and top-k are transformers' logits processors; top-p is :func:`nucleus`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from transformers import (
    LogitsProcessorList,
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
)

from evalkit.generation.engines.base import SamplingConfig

History = Callable[[], torch.Tensor]
"""The ids each row has seen so far (prompt and generated), rows x columns; padded with an id
past the vocabulary, which the repetition penalty ignores."""


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


class TokenChooser:
    """The next token of each row of a batch, from its logits, its history and its generator.

    Greedy decoding takes the argmax after the repetition penalty (min-p, top-k and top-p never
    drop the most likely token). Sampling draws one uniform number per row from the row's own
    torch.Generator and inverts the row's cumulative distribution, so a row's tokens depend only
    on its seed and its logits, never on which rows share its batch.
    """

    def __init__(self, sampling: SamplingConfig) -> None:
        self.greedy = sampling.greedy
        self.penalty = (RepetitionPenaltyLogitsProcessor(sampling.repetition_penalty)
                        if sampling.repetition_penalty != 1.0 else None)
        self.warpers = LogitsProcessorList()
        if not self.greedy:
            self.warpers.append(TemperatureLogitsWarper(sampling.temperature))
            if sampling.min_p > 0.0:
                self.warpers.append(MinPLogitsWarper(sampling.min_p))
            if sampling.top_k > 0:
                self.warpers.append(TopKLogitsWarper(sampling.top_k))
        self.top_p = sampling.top_p

    def __call__(
        self, logits: torch.Tensor, history: History, generators: Sequence[torch.Generator | None]
    ) -> torch.Tensor:
        """The chosen token of each row of float32 `logits` (rows x vocabulary), on their
        device; `history` is called only when the repetition penalty needs it."""
        if self.penalty is not None:
            logits = self.penalty(history().to(logits.device), logits)
        if self.greedy:
            return logits.argmax(dim=-1)
        scores = self.warpers(None, logits.cpu())
        probs = torch.softmax(scores, dim=-1)
        if self.top_p < 1.0:
            probs = nucleus(probs, self.top_p)
        cdf = probs.cumsum(dim=-1)
        uniform = torch.cat([torch.rand(1, generator=g) for g in generators])
        tokens = torch.searchsorted(cdf, (uniform * cdf[:, -1]).unsqueeze(1)).squeeze(1)
        return tokens.clamp_(max=probs.shape[-1] - 1).to(logits.device)
