"""One-pass scoring: each model reads a batch of whole expert sequences once.

A causal model's logits at position i are its next-token distribution given tokens 0..i, so a
single forward pass over prompt + completion yields the distribution of every step: step t (the
choice of completion token t) reads position len(prompt) + t - 1. Sequences are right-padded,
which leaves real positions untouched under causal attention (same positions, no pad in view),
and only the positions from the earliest step on are projected to logits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from evalkit.training.lightr.contrast import SequenceContrast, contrast_steps


@dataclass(frozen=True)
class ScoringInput:
    """An expert rollout: prompt ids, generated ids (stop token excluded) and how it ended."""

    prompt_ids: list[int]
    completion_ids: list[int]
    stopped: bool  # True: the expert chose a stop token after the completion, a step too

    def __post_init__(self) -> None:
        if not self.prompt_ids:
            raise ValueError("a rollout needs a non-empty prompt: step 0 reads its last token")

    @property
    def num_steps(self) -> int:
        return len(self.completion_ids) + (1 if self.stopped else 0)

    def step_prefix(self, step: int) -> list[int]:
        """The ids the model reads before choosing completion token `step`."""
        return self.prompt_ids + self.completion_ids[:step]

    def model_input(self) -> list[int]:
        """The shortest sequence whose positions cover every step's prefix."""
        return (self.prompt_ids + self.completion_ids)[: len(self.prompt_ids) + self.num_steps - 1]


def _forward(model: Any, rows: list[list[int]], keep: int) -> torch.Tensor:
    """Logits of the last `keep` positions of right-padded `rows`: [batch, keep, vocab]."""
    device = model.device
    length = max(len(row) for row in rows)
    ids = torch.zeros((len(rows), length), dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    out = model(input_ids=ids.to(device), attention_mask=mask.to(device), logits_to_keep=keep)
    return out.logits


class ContrastScorer:
    """Scores expert rollouts with one expert and one amateur forward pass per batch.

    `expert_warp` turns the expert's logits into the scores its distribution is taken from
    (the rollout's temperature, top-k and top-p: see rollout.py); by default the raw logits.
    """

    def __init__(
        self, expert: Any, amateur: Any, vocab_size: int, alpha: float, beta: float,
        expert_warp: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.expert, self.amateur = expert, amateur
        self.vocab_size, self.alpha, self.beta = vocab_size, alpha, beta
        self.expert_warp = expert_warp

    @torch.inference_mode()
    def score(self, batch: Sequence[ScoringInput]) -> list[SequenceContrast]:
        """Contrast every step of every sequence in `batch` (one forward pass per model)."""
        results = [SequenceContrast([]) for _ in batch]
        scored = [i for i, seq in enumerate(batch) if seq.num_steps > 0]
        if not scored:
            return results
        rows = [batch[i].model_input() for i in scored]
        length = max(len(row) for row in rows)
        start = min(len(batch[i].prompt_ids) for i in scored) - 1
        expert_logits = _forward(self.expert, rows, length - start)
        amateur_logits = _forward(self.amateur, rows, length - start).to(expert_logits.device)
        for row, i in enumerate(scored):
            first = len(batch[i].prompt_ids) - 1 - start
            span = slice(first, first + batch[i].num_steps)
            expert_rows = expert_logits[row, span, : self.vocab_size]
            if self.expert_warp is not None:
                expert_rows = self.expert_warp(expert_rows)
            results[i] = contrast_steps(
                expert_rows,
                amateur_logits[row, span], self.vocab_size, self.alpha, self.beta,
            )
        return results
