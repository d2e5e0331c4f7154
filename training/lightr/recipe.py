"""The LightReasoner recipe: a YAML file of published settings, read into typed records.

`--set section.key=value` overrides (YAML-parsed values) let tests and experiments change any
setting without editing the file; unknown or missing keys are errors, never silently ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evalkit.errors import EvalkitError

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

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SECTIONS = {
    "sampling": SamplingSettings,
    "lora": LoraSettings,
    "train": TrainSettings,
    "merge": MergeSettings,
}


def load_recipe(path: Path | None = None, overrides: Iterable[str] = ()) -> Recipe:
    """Read a recipe YAML (default: the bundled one) and apply `section.key=value` overrides."""
    path = path or DEFAULT_RECIPE
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise EvalkitError(f"cannot read recipe {path} ({err.strerror}): check --recipe") from err
    if not isinstance(data, dict):
        raise EvalkitError(f"recipe {path} is not a YAML mapping")
    for item in overrides:
        _apply_override(data, item)
    return _build(data, path)


def _apply_override(data: dict[str, Any], item: str) -> None:
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise EvalkitError(
            f"--set expects section.key=value (e.g. sampling.beta=0.5), got {item!r}"
        )
    *parents, leaf = key.strip().split(".")
    node = data
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise EvalkitError(f"--set {item!r}: no recipe section {part!r}")
    if leaf not in node:
        raise EvalkitError(f"--set {item!r}: the recipe has no setting {key!r}")
    node[leaf] = yaml.safe_load(raw)


def _build(data: dict[str, Any], path: Path) -> Recipe:
    fields = {f.name for f in dataclasses.fields(Recipe)}
    _check_keys(data, fields, str(path))
    values = dict(data)
    for section, cls in _SECTIONS.items():
        if not isinstance(values[section], dict):
            raise EvalkitError(f"recipe {path}: {section} must be a mapping")
        _check_keys(values[section], {f.name for f in dataclasses.fields(cls)}, f"{path}:{section}")
        values[section] = cls(**values[section])
    return Recipe(**values)


def _check_keys(data: dict[str, Any], expected: set[str], where: str) -> None:
    unknown, missing = set(data) - expected, expected - set(data)
    if unknown or missing:
        raise EvalkitError(
            f"recipe {where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}; "
            "compare with training/recipes/lightreasoner.yaml"
        )
