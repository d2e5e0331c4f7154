"""The GRPO recipe: the policy, the problems, the rewards and the GRPOConfig arguments.

``args`` go to TRL's GRPOConfig unchanged (any of its fields), so the recipe carries the
published hyper-parameters and `--set args.<name>=value` reaches every option; the pipeline sets
only ``output_dir`` and ``reward_weights`` (from ``reward``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.training.decontaminate import DecontaminationSettings
from evalkit.training.lightr.recipe import LoraSettings
from evalkit.training.recipe_yaml import find_recipe, load_sections

_SET_BY_PIPELINE = ("output_dir", "reward_weights")


@dataclass(frozen=True)
class RewardSettings:
    """Weights of the grader's verdict and of the format term, and the grading pool."""

    correct: float
    format: float
    grader_workers: int = 1
    grader_timeout: float = 10.0


@dataclass(frozen=True)
class GrpoRecipe:
    name: str
    model: str
    task: str
    split: str
    limit: int | None
    instruction: str  # appended to the question on a new line (the user turn)
    reward: RewardSettings
    args: dict[str, Any]
    lora: LoraSettings | None = None
    decontamination: DecontaminationSettings = DecontaminationSettings()
    sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clash = sorted(set(self.args) & set(_SET_BY_PIPELINE))
        if clash:
            raise EvalkitError(f"args.{clash[0]} is set by the pipeline: remove it from the recipe")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SECTIONS = {"reward": RewardSettings, "lora": LoraSettings,
             "decontamination": DecontaminationSettings}


def load_grpo_recipe(name: str | Path = "grpo", overrides: Iterable[str] = ()) -> GrpoRecipe:
    """Read a GRPO recipe (a file or a bundled name) with `section.key=value` overrides."""
    return load_sections(find_recipe(name, "grpo"), overrides, GrpoRecipe, _SECTIONS)
