"""The expert/amateur contrast of a run of steps: KL filter and contrastive soft labels.

For each step (one next-token decision), with pi_E and pi_A over the shared real vocabulary:
  KL = sum_a pi_E(a) (log pi_E(a) - log pi_A(a)), over the tokens pi_E gives mass (the expert's
  processed scores may rule tokens out); the step is kept when KL >= beta;
  plausible set V = {a : pi_E(a) >= alpha * max pi_E};
  soft label v_C = softmax over V of (log pi_E - log pi_A), zero outside V.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass(frozen=True)
class ContrastStep:
    """A kept step: its index in the completion, KL, and the soft label's support and weights."""

    step: int
    kl: float
    token_ids: list[int]
    weights: list[float]


@dataclass(frozen=True)
class SequenceContrast:
    """The KL of every scored step of one sequence and the steps that pass the filter."""

    kl: list[float]
    kept: list[ContrastStep] = field(default_factory=list)


def contrast_steps(
    expert_logits: torch.Tensor,
    amateur_logits: torch.Tensor,
    vocab_size: int,
    alpha: float,
    beta: float,
) -> SequenceContrast:
    """Contrast rows of next-token logits ([steps, vocab]); row t is step t."""
    log_e = torch.log_softmax(expert_logits[:, :vocab_size].float(), dim=-1)
    log_a = torch.log_softmax(amateur_logits[:, :vocab_size].float(), dim=-1)
    p_e = log_e.exp()
    gap = log_e - log_a
    kl = torch.where(p_e > 0, p_e * gap, 0.0).sum(dim=-1)
    plausible = p_e >= alpha * p_e.max(dim=-1, keepdim=True).values
    weights = torch.softmax(gap.masked_fill(~plausible, float("-inf")), dim=-1)
    kept = []
    for step in torch.nonzero(kl >= beta).flatten().tolist():
        support = torch.nonzero(plausible[step]).flatten()
        kept.append(
            ContrastStep(step, float(kl[step]), support.tolist(), weights[step, support].tolist())
        )
    return SequenceContrast(kl.tolist(), kept)
