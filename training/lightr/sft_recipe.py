"""The recipe of LightReasoner's "+ SFT" baseline: rejection-sampled solutions of the expert,
LoRA fine-tune with the LightReasoner budget (training/recipes/lightreasoner-sft.yaml)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.training.decontaminate import DecontaminationSettings

from .recipe import LoraSettings, MergeSettings, load_sections

DEFAULT_SFT_RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "lightreasoner-sft.yaml"


@dataclass(frozen=True)
class RejectionSettings:
    """The expert's solutions: how many per problem, how they are decoded and graded."""

    system_prompt: str
    samples: int  # solutions drawn per problem; the correct ones are kept
    max_new_tokens: int
    rollout: str  # expert: the expert's generation_config.json; recipe: temperature and top_p
    temperature: float
    top_p: float
    seed: int
    batch_size: int
    dtype: str
    grader_workers: int
    grader_timeout: float

    def __post_init__(self) -> None:
        if self.rollout not in ("expert", "recipe"):
            raise EvalkitError("rejection.rollout must be expert or recipe")
        if self.samples < 1 or self.max_new_tokens < 1:
            raise EvalkitError("rejection.samples and rejection.max_new_tokens must be positive")


@dataclass(frozen=True)
class SftTrainSettings:
    """The LoRA fine-tune: the LightReasoner trainer's optimiser budget."""

    learning_rate: float
    per_device_batch_size: int
    gradient_accumulation_steps: int
    max_steps: int
    bf16: bool
    max_length: int
    logging_steps: int
    save_steps: int
    seed: int


@dataclass(frozen=True)
class SftRecipe:
    name: str
    expert: str
    task: str
    split: str
    limit: int | None
    rejection: RejectionSettings
    lora: LoraSettings
    train: SftTrainSettings
    merge: MergeSettings
    sources: dict[str, str]
    decontamination: DecontaminationSettings = DecontaminationSettings()

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SECTIONS = {
    "rejection": RejectionSettings,
    "lora": LoraSettings,
    "train": SftTrainSettings,
    "merge": MergeSettings,
    "decontamination": DecontaminationSettings,
}


def load_sft_recipe(path: Path | None = None, overrides: Iterable[str] = ()) -> SftRecipe:
    """Read an SFT baseline recipe (default: the bundled one) with `section.key=value` overrides."""
    return load_sections(path or DEFAULT_SFT_RECIPE, overrides, SftRecipe, _SECTIONS)
