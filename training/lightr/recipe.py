"""The LightReasoner recipe: a YAML file of published settings, read into typed records.

`--set section.key=value` overrides (YAML-parsed values) let tests and experiments change any
setting without editing the file; unknown or missing keys are errors, never silently ignored
(training/recipe_yaml.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.training.decontaminate import DecontaminationSettings
from evalkit.training.recipe_yaml import load_sections

DEFAULT_RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "lightreasoner.yaml"


@dataclass(frozen=True)
class SamplingSettings:
    """Expert rollouts and the expert/amateur contrast."""

    system_prompt: str
    max_new_tokens: int
    alpha: float  # plausible set: tokens with pi_E >= alpha * max pi_E
    beta: float  # keep a step when KL(pi_E || pi_A) >= beta
    temperature: float
    top_p: float
    seed: int
    batch_size: int  # questions per generation and scoring batch
    dtype: str
    # expert: the expert's generation_config.json decides the rollout decoding (upstream);
    # recipe: temperature and top_p above
    rollout: str = "expert"
    # processed: the expert's distribution is softmax of the logits after the rollout's
    # temperature / top-k / top-p (upstream: generate's output_scores); raw: of the logits
    expert_scores: str = "processed"
    first_step: int = 1  # completion tokens before this one are never candidates (upstream: 1)

    def __post_init__(self) -> None:
        _choice("sampling.rollout", self.rollout, ("expert", "recipe"))
        _choice("sampling.expert_scores", self.expert_scores, ("processed", "raw"))
        if self.first_step < 0:
            raise EvalkitError("sampling.first_step must be 0 or more")


@dataclass(frozen=True)
class LoraSettings:
    r: int
    alpha: int
    dropout: float
    target_modules: list[str]


@dataclass(frozen=True)
class TrainSettings:
    learning_rate: float
    per_device_batch_size: int
    gradient_accumulation_steps: int
    max_steps: int
    bf16: bool
    max_length: int  # prefixes longer than this keep their last max_length tokens
    logging_steps: int
    save_steps: int
    seed: int
    # tokenizer_vocab_size: the loss's softmax and soft labels cover ids below
    # tokenizer.vocab_size, added tokens such as <|im_end|> left out (upstream);
    # all_real_tokens: every id the tokenizer has
    label_vocab: str = "tokenizer_vocab_size"
    require_sampling_expert: bool = True  # fine-tune only the model that sampled the steps

    def __post_init__(self) -> None:
        _choice("train.label_vocab", self.label_vocab, LABEL_VOCABS)


LABEL_VOCABS = ("tokenizer_vocab_size", "all_real_tokens")


def _choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise EvalkitError(f"recipe {key} must be one of {', '.join(choices)}, got {value!r}")


@dataclass(frozen=True)
class ReleasedSamples:
    """LightReasoner's pre-collected samples: one zip archive, one JSONL member per expert."""

    archive: str  # URL (or local path) of LR_samples.zip at a pinned commit
    sets: dict[str, dict[str, str]]  # name -> {member: glob inside the zip, expert: Hub id}


@dataclass(frozen=True)
class MergeSettings:
    dtype: str


@dataclass(frozen=True)
class Recipe:
    name: str
    expert: str
    amateur: str
    task: str
    split: str
    limit: int | None
    sampling: SamplingSettings
    lora: LoraSettings
    train: TrainSettings
    merge: MergeSettings
    sources: dict[str, str]
    decontamination: DecontaminationSettings = DecontaminationSettings()
    released_samples: ReleasedSamples | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SECTIONS = {
    "sampling": SamplingSettings,
    "lora": LoraSettings,
    "train": TrainSettings,
    "merge": MergeSettings,
    "decontamination": DecontaminationSettings,
    "released_samples": ReleasedSamples,
}


def load_recipe(path: Path | None = None, overrides: Iterable[str] = ()) -> Recipe:
    """Read a recipe YAML (default: the bundled one) and apply `section.key=value` overrides."""
    return load_sections(path or DEFAULT_RECIPE, overrides, Recipe, _SECTIONS)
