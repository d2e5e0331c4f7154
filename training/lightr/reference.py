"""The naive per-step contrast: both models read each step's prefix on its own, one forward each.

This is how the published sampler scores steps (one amateur pass per prefix). It is the oracle
the one-pass scorer is tested against and the baseline of benchmarks/lightr_sampling.py; its
arithmetic (float64 probabilities, torch's kl_div, probability ratios renormalised) is deliberately
independent of contrast.py.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from evalkit.training.lightr.contrast import ContrastStep, SequenceContrast
from evalkit.training.lightr.scoring import ScoringInput


def _next_token_probs(model: Any, prefix: list[int], vocab_size: int) -> torch.Tensor:
    logits = model(input_ids=torch.tensor([prefix], device=model.device)).logits[0, -1]
    return torch.softmax(logits[:vocab_size].double().cpu(), dim=-1)


@torch.inference_mode()
def reference_contrast(
    expert: Any, amateur: Any, rollout: ScoringInput, vocab_size: int, alpha: float, beta: float
) -> SequenceContrast:
    """Contrast every step of one rollout with two forward passes per step."""
    kls: list[float] = []
    kept: list[ContrastStep] = []
    for step in range(rollout.num_steps):
        prefix = rollout.step_prefix(step)
        p_e = _next_token_probs(expert, prefix, vocab_size)
        p_a = _next_token_probs(amateur, prefix, vocab_size)
        kl = float(F.kl_div(p_a.log(), p_e, reduction="sum"))
        kls.append(kl)
        if kl < beta:
            continue
        support = torch.nonzero(p_e >= alpha * p_e.max()).flatten()
        ratio = p_e[support] / p_a[support]  # softmax(log p_e - log p_a) on the support
        kept.append(ContrastStep(step, kl, support.tolist(), (ratio / ratio.sum()).tolist()))
    return SequenceContrast(kls, kept)
