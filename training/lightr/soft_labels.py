"""The fine-tuning objective: KL(v_C || pi_theta) at the last real token of each prefix.

Batches are left-padded, so the last column is every row's last real token, and position ids
count real tokens only, so a padded row computes exactly what it computes alone. The published
trainer right-pads and reads logits[:, -1], which for every row shorter than the longest is a
pad position; `last_token_logits` refuses batches that are not left-padded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from evalkit.errors import EvalkitError


class SoftLabelSteps(torch.utils.data.Dataset):
    """The kept steps of samples.jsonl: prefix ids (last `max_length`) and the sparse soft label.

    Targets at ids of `vocab_size` or more are left out without renormalising the rest, as the
    published trainer does (``labels[tid] = weight`` only for ``tid < vocab_size``); a step
    whose whole label lies there is skipped.
    """

    def __init__(self, path: Path, max_length: int, vocab_size: int | None = None) -> None:
        self.rows: list[dict[str, list]] = []
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                pairs = [(t, w) for t, w in zip(record["token_ids"], record["weights"],
                                                strict=True)
                         if vocab_size is None or t < vocab_size]
                if not pairs:
                    continue
                self.rows.append({
                    "input_ids": record["prefix_ids"][-max_length:],
                    "target_ids": [t for t, _ in pairs],
                    "target_weights": [w for _, w in pairs],
                })
        if not self.rows:
            raise EvalkitError(
                f"{path} holds no kept steps: sample more questions or lower sampling.beta"
            )

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, list]:
        return self.rows[index]


class LeftPadCollator:
    """Left-pads prefixes; pads soft labels with weight 0 (which adds nothing to the KL)."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, rows: Sequence[dict[str, list]]) -> dict[str, torch.Tensor]:
        length = max(len(r["input_ids"]) for r in rows)
        width = max(len(r["target_ids"]) for r in rows)
        ids = torch.full((len(rows), length), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), length), dtype=torch.long)
        target_ids = torch.zeros((len(rows), width), dtype=torch.long)
        target_weights = torch.zeros((len(rows), width), dtype=torch.float)
        for i, r in enumerate(rows):
            n, k = len(r["input_ids"]), len(r["target_ids"])
            ids[i, length - n :] = torch.tensor(r["input_ids"])
            mask[i, length - n :] = 1
            target_ids[i, :k] = torch.tensor(r["target_ids"])
            target_weights[i, :k] = torch.tensor(r["target_weights"])
        return {"input_ids": ids, "attention_mask": mask, "target_ids": target_ids,
                "target_weights": target_weights}


def last_token_logits(
    model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """Next-token logits after each row's last real token ([batch, vocab]); left-padded input."""
    if not bool(attention_mask[:, -1].all()):
        raise ValueError("the batch is not left-padded: its last column holds pad positions")
    position_ids = (attention_mask.cumsum(dim=-1) - 1).clamp(min=0)
    out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                logits_to_keep=1)
    return out.logits[:, -1]


def soft_label_kl(
    logits: torch.Tensor, target_ids: torch.Tensor, target_weights: torch.Tensor, vocab_size: int
) -> torch.Tensor:
    """Per-row KL(v || softmax(logits)) over the real vocabulary, v given sparsely ([batch])."""
    log_probs = torch.log_softmax(logits[:, :vocab_size].float(), dim=-1)
    picked = log_probs.gather(1, target_ids)
    return (torch.xlogy(target_weights, target_weights) - target_weights * picked).sum(dim=-1)


def soft_label_loss(model: Any, batch: dict[str, torch.Tensor], vocab_size: int) -> torch.Tensor:
    """Mean KL over the batch (the published 'batchmean' reduction)."""
    logits = last_token_logits(model, batch["input_ids"], batch["attention_mask"])
    return soft_label_kl(logits, batch["target_ids"], batch["target_weights"], vocab_size).mean()
