"""The ReasonLite distillation recipe: a YAML file read into typed, validated settings.

`--set section.key=value` overrides (values parsed as YAML) change any setting without editing
the file. Unknown or missing keys are errors naming the key, never silently ignored. Relative
paths in a recipe are relative to the working directory.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evalkit.errors import EvalkitError
from evalkit.generation.engines import EngineOptions
from evalkit.training.decontaminate import DecontaminationSettings
from evalkit.training.published import DatasetSource
from evalkit.training.recipe_yaml import find_recipe

BOXED_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


POOLS = ("polaris", "openmathreasoning")  # problem pools (recipe `datasets` entries)
SFT_DATASETS = ("reasonlite",)  # released SFT data: short and long CoT splits
LOSSES = ("full_sequence", "completion_only")


@dataclass(frozen=True)
class ProblemSettings:
    """Where the problems come from: an evalkit task (or a custom task file) and split, or the
    published pools named in `pools` (sources in the recipe's `datasets`), in that order."""

    task: str | None = None
    split: str = "train"
    limit: int | None = None
    pools: list[str] = field(default_factory=list)
    # OpenMathReasoning rows kept as problems; ours: the filter needs a label
    omr_problem_types: list[str] = field(default_factory=lambda: ["has_answer_extracted"])


@dataclass(frozen=True)
class SftDataSettings:
    """Released SFT data instead of teacher generations: its short (stage 1) and long (stage 2)
    CoT splits of a `datasets` entry."""

    dataset: str = "reasonlite"
    short_split: str = "medium"
    long_split: str = "high"
    limit: int | None = None  # examples per split


@dataclass(frozen=True)
class TeacherSettings:
    """The teacher model and how it samples: n solutions per problem in each reasoning mode."""

    model: str
    engine: str
    modes: list[str]
    n: int
    temperature: float
    top_p: float
    max_tokens: int
    seed: int = 0  # sample i gets seed + i (ReasonLite: seed = sample index)
    instruction: str = BOXED_INSTRUCTION  # appended to the question on a new line
    batch_size: int = 8  # hf: batch; openai engines: requests in flight
    dtype: str = "auto"
    engine_options: dict[str, Any] = field(default_factory=dict)  # evalkit EngineOptions fields
    shard_size: int = 1024  # problems per solutions file and per engine call (bounds memory)


@dataclass(frozen=True)
class VoteSettings:
    """When the vote winner replaces the dataset label, and how answers are judged equal."""

    min_share: float = 0.9
    min_votes: int = 4
    pool_modes: bool = False  # vote over all modes of a problem together, not per mode
    workers: int = 1  # math-verify judge processes (0: judge in this process)
    timeout_s: float = 10.0


@dataclass(frozen=True)
class FilterSettings:
    """How solutions are checked against their label; every rule's dropped count is reported."""

    drop_truncated: bool = True  # false: a truncated solution may pass if its answer agrees
    workers: int = 1
    timeout_s: float = 10.0


@dataclass(frozen=True)
class SplitSettings:
    """Short and long CoT: by reasoning mode (ReasonLite), or by token count."""

    by: str = "mode"  # "mode" or "length"
    short_modes: list[str] = field(default_factory=lambda: ["medium"])
    long_modes: list[str] = field(default_factory=lambda: ["high"])
    max_short_tokens: int | None = None  # by: length; short = num_tokens <= this


@dataclass(frozen=True)
class StageSettings:
    """One SFT stage: its global batch and the TRL SFTConfig arguments it passes through."""

    global_batch_size: int
    args: dict[str, Any]


@dataclass(frozen=True)
class SftSettings:
    """The student and the two stages: 1 on short CoT from `model`, 2 on long CoT from stage 1."""

    model: str
    stage1: StageSettings
    stage2: StageSettings
    # full_sequence: the loss covers every token of the chat (open-r1 sft.py on `messages`
    # data, as ReasonLite trained); completion_only: the assistant turn only
    loss_on: str = "full_sequence"


@dataclass(frozen=True)
class Recipe:
    work_dir: Path
    problems: ProblemSettings
    teacher: TeacherSettings
    vote: VoteSettings
    filter: FilterSettings
    split: SplitSettings
    sft: SftSettings
    datasets: dict[str, DatasetSource] = field(default_factory=dict)
    sft_data: SftDataSettings | None = None
    decontamination: DecontaminationSettings = DecontaminationSettings()
    # setting (dotted key) -> where its value comes from; read by no step, so a citation change
    # never invalidates a step's outputs
    sources: dict[str, str] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """A section as plain JSON-able data (for step fingerprints and logs)."""
        return _plain(getattr(self, name))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def load_recipe(name: str | Path, overrides: Iterable[str] = ()) -> Recipe:
    """Read a recipe file and apply `section.key=value` overrides."""
    path = find_recipe(name, "reasonlite")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise EvalkitError(f"recipe {path} is not valid YAML: {err}".splitlines()[0]) from err
    if not isinstance(data, dict):
        raise EvalkitError(f"recipe {path} must be a mapping of sections")
    data = json.loads(json.dumps(data))  # unshare YAML aliases, so an override changes one place
    for override in overrides:
        _apply_override(data, override)
    recipe = _build(Recipe, data, "recipe")
    _check(recipe)
    return recipe


def _apply_override(data: dict, override: str) -> None:
    key, sep, raw = override.partition("=")
    if not sep or not key:
        raise EvalkitError(f"--set expects KEY=VALUE like teacher.n=4, got {override!r}")
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        if node.get(part) is None:  # a new section, or an optional one left null
            node[part] = {}
        node = node[part]
        if not isinstance(node, dict):
            raise EvalkitError(f"--set {key}: {part} is not a section")
    node[leaf] = yaml.safe_load(raw)


def _build(cls: type, data: Any, where: str) -> Any:
    """Build dataclass `cls` from a mapping, recursing into dataclass-typed fields."""
    if not isinstance(data, dict):
        raise EvalkitError(f"{where} must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise EvalkitError(
            f"unknown key {where}.{unknown[0]}: the keys of {where} are {', '.join(fields)}"
        )
    values = {}
    for name, spec in fields.items():
        if name not in data:
            required = spec.default is dataclasses.MISSING and (
                spec.default_factory is dataclasses.MISSING
            )
            if required:
                raise EvalkitError(f"recipe key {where}.{name} is missing")
            continue
        nested = _NESTED.get((cls.__name__, name))
        if (cls, name) == (Recipe, "datasets"):
            values[name] = _datasets(data[name])
        elif nested is not None and data[name] is not None:
            values[name] = _build(nested, data[name], f"{where}.{name}")
        else:
            values[name] = data[name]
    if cls is Recipe:
        values["work_dir"] = Path(values["work_dir"])
    return cls(**values)


def _datasets(data: Any) -> dict[str, DatasetSource]:
    if not isinstance(data, dict):
        raise EvalkitError("recipe.datasets must map a dataset name to its source")
    unknown = sorted(set(data) - set(POOLS + SFT_DATASETS))
    if unknown:
        raise EvalkitError(
            f"unknown dataset recipe.datasets.{unknown[0]}: known published datasets are "
            f"{', '.join(POOLS + SFT_DATASETS)}"
        )
    return {name: _build(DatasetSource, source, f"recipe.datasets.{name}")
            for name, source in data.items()}


_NESTED: dict[tuple[str, str], type] = {
    ("Recipe", "problems"): ProblemSettings,
    ("Recipe", "teacher"): TeacherSettings,
    ("Recipe", "vote"): VoteSettings,
    ("Recipe", "filter"): FilterSettings,
    ("Recipe", "split"): SplitSettings,
    ("Recipe", "sft"): SftSettings,
    ("Recipe", "sft_data"): SftDataSettings,
    ("Recipe", "decontamination"): DecontaminationSettings,
    ("SftSettings", "stage1"): StageSettings,
    ("SftSettings", "stage2"): StageSettings,
}


def _check(recipe: Recipe) -> None:
    _check_data(recipe)
    teacher, vote, split = recipe.teacher, recipe.vote, recipe.split
    if not teacher.modes or len(set(teacher.modes)) != len(teacher.modes):
        raise EvalkitError("teacher.modes must list distinct reasoning modes, e.g. [medium, high]")
    if teacher.n < 1 or teacher.max_tokens < 1 or teacher.shard_size < 1:
        raise EvalkitError("teacher.n, teacher.max_tokens and teacher.shard_size must be positive")
    known = {f.name for f in dataclasses.fields(EngineOptions)}
    unknown_options = sorted(set(teacher.engine_options) - known)
    if unknown_options:
        raise EvalkitError(
            f"unknown key teacher.engine_options.{unknown_options[0]}: the engine options are "
            f"{', '.join(sorted(known))}"
        )
    if not 0.0 < vote.min_share <= 1.0 or vote.min_votes < 1:
        raise EvalkitError("vote.min_share must be in (0, 1] and vote.min_votes at least 1")
    if split.by not in ("mode", "length"):
        raise EvalkitError(f"split.by must be mode or length, got {split.by!r}")
    if split.by == "length" and split.max_short_tokens is None:
        raise EvalkitError("split.by: length needs split.max_short_tokens")
    if split.by == "mode":
        unknown = sorted(set(split.short_modes + split.long_modes) - set(teacher.modes))
        if unknown:
            raise EvalkitError(
                f"split mode {unknown[0]!r} is not a teacher mode ({', '.join(teacher.modes)})"
            )
    if recipe.sft.loss_on not in LOSSES:
        raise EvalkitError(f"sft.loss_on must be one of {', '.join(LOSSES)}")
    for stage in ("stage1", "stage2"):
        settings: StageSettings = getattr(recipe.sft, stage)
        if settings.global_batch_size < 1:
            raise EvalkitError(f"sft.{stage}.global_batch_size must be positive")
        if "output_dir" in settings.args:
            raise EvalkitError(
                f"sft.{stage}.args.output_dir is set by the pipeline (work_dir/{stage}): remove it"
            )


def _check_data(recipe: Recipe) -> None:
    """The problems come from a task or from pools, and every dataset named has a source."""
    problems, data = recipe.problems, recipe.sft_data
    if data is None and (problems.task is None) == (not problems.pools):
        raise EvalkitError("problems needs either task (and split) or pools, not both")
    unknown = sorted(set(problems.pools) - set(POOLS))
    if unknown:
        raise EvalkitError(f"problems.pools: {unknown[0]!r} is not one of {', '.join(POOLS)}")
    named = list(problems.pools) + ([data.dataset] if data is not None else [])
    if data is not None and data.dataset not in SFT_DATASETS:
        raise EvalkitError(f"sft_data.dataset must be one of {', '.join(SFT_DATASETS)}")
    missing = [name for name in named if name not in recipe.datasets]
    if missing:
        raise EvalkitError(
            f"recipe.datasets has no source for {missing[0]}: add datasets.{missing[0]} with "
            "repo_id and revision (or data_files)"
        )
