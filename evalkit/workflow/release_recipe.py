"""The release recipe of `evalkit release run`: training, evaluation, gate, card and Hub repo.

```yaml
name: my-model                      # run folder: release-runs/<name>, or run_dir, or --run-dir
train:
  pipeline: distill                 # distill (ReasonLite), lightr (LightReasoner),
                                    # lightr-sft (its "+ SFT" baseline) or grpo
  recipe: reasonlite-tiny           # a recipe file (relative to this file) or a bundled name
  set: {teacher.n: 1}               # overrides of that recipe, section.key: value
evaluate:                           # `evalkit run` settings (names as in RunSettings)
  preset: reasonlite                # optional; keys given here override the preset's
  tasks: [aime24, aime25, amc23]
  limit: null
  n: 16
  k: [1, 8]
gate:
  policy: release-policy.yaml       # a policy file, or inline `rules:` (see docs/ci-gate.md)
  baseline: null                    # results.json of the baseline checkpoint, if rules need it
card: {license: apache-2.0, base_model: [Qwen/Qwen3-0.6B], tags: [math]}
publish: {repo_id: org/name, private: false, exist_ok: false}
sources: {gate.rules: "ours: ..."}  # optional: setting (dotted key) -> where its value comes from
```

Paths of the training recipe, policy and baseline are relative to this file; run_dir is
relative to the working directory. Anything unknown or missing is an error.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from evalkit.errors import EvalkitError
from evalkit.run.plan import RunPlan, make_plan
from evalkit.run.presets import get_run_preset
from evalkit.run.settings import Layer, check_layer

# The training pipelines (evalkit.training.PIPELINES; release never imports training).
PIPELINES = ("distill", "lightr", "lightr-sft", "grpo")
RECIPES_DIR = Path(str(resources.files("evalkit.training").joinpath("recipes")))


@dataclass(frozen=True)
class TrainSection:
    """Which training pipeline runs, from which of its recipes, with which overrides."""

    pipeline: str
    recipe: str
    set: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvaluateSection:
    """The `evalkit run` settings the new checkpoint is evaluated with: a layer of
    :class:`~evalkit.run.settings.RunSettings` values (with the preset it may name below it);
    the release run supplies the model and the output folder."""

    settings: dict[str, Any]

    def plan(self, model_dir: Path, output_dir: Path) -> RunPlan:
        """The resolved evaluation of ``model_dir`` into ``output_dir``."""
        return make_plan([Layer("release recipe", {**self.settings, "model": str(model_dir),
                                                   "output_dir": output_dir})])


@dataclass(frozen=True)
class GateSection:
    """The release policy (a file, or rules inline) and the optional baseline run."""

    policy: Path | None = None
    rules: list[dict[str, Any]] | None = None
    baseline: Path | None = None


@dataclass(frozen=True)
class CardSection:
    """What the model card says beyond the results (see release/card.py)."""

    model_name: str | None = None  # default: publish.repo_id
    license: str | None = None
    base_model: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    source_url: str | None = None


@dataclass(frozen=True)
class PublishSection:
    repo_id: str
    private: bool = False
    exist_ok: bool = False
    commit_message: str = "Release with evalkit"


@dataclass(frozen=True)
class ReleaseRecipe:
    path: Path
    name: str
    run_dir: Path
    train: TrainSection
    evaluate: EvaluateSection
    gate: GateSection
    card: CardSection
    publish: PublishSection
    # setting (dotted key) -> where its value comes from; no stage reads it
    sources: dict[str, str] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """A section as plain JSON-able data (for stage fingerprints)."""
        return json_safe(dataclasses.asdict(getattr(self, name)))


def json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return str(value) if isinstance(value, Path) else value


_SECTIONS = {"train": TrainSection, "evaluate": EvaluateSection, "gate": GateSection,
             "card": CardSection, "publish": PublishSection}
_TOP = {"name", "run_dir", "sources", *_SECTIONS}
# evaluate keys <-> the `evalkit run` option names a preset is keyed by
def load_release_recipe(path: Path, run_dir: Path | None = None) -> ReleaseRecipe:
    """Read and validate a release recipe; `run_dir` overrides the recipe's run folder."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise EvalkitError(f"cannot read release recipe {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise EvalkitError(f"release recipe {path} is not valid YAML: fix the syntax") from err
    where = f"release recipe {path}"
    if not isinstance(data, dict):
        raise EvalkitError(f"{where} must be a mapping with sections {', '.join(_SECTIONS)}")
    _check_keys(data, _TOP, {"name", "train", "evaluate", "gate", "publish"}, where)
    base = Path(path).resolve().parent
    name = str(data["name"])
    sections = {key: _section(cls, data.get(key) or {}, f"{where}: {key}")
                for key, cls in _SECTIONS.items() if key != "evaluate"}
    folder = run_dir or data.get("run_dir") or Path("release-runs") / name
    return ReleaseRecipe(
        path=Path(path), name=name, run_dir=Path(folder),
        train=_train(sections["train"], base, where),
        evaluate=_evaluate(data["evaluate"], f"{where}: evaluate"),
        gate=_gate(sections["gate"], base, where), card=sections["card"],
        publish=_publish(sections["publish"], where), sources=_sources(data.get("sources"), where),
    )


def resolve_training_recipe(value: str, base: Path) -> Path:
    """A training recipe: a file relative to the release recipe, a path, or a bundled name."""
    for candidate in (base / value, Path(value), RECIPES_DIR / f"{value}.yaml"):
        if candidate.is_file():
            return candidate
    raise EvalkitError(
        f"training recipe {value} not found next to the release recipe, as a path, or bundled "
        f"({', '.join(p.stem for p in sorted(RECIPES_DIR.glob('*.yaml')))})"
    )


def _check_keys(data: dict, known: set[str], required: set[str], where: str) -> None:
    unknown, missing = sorted(set(data) - known), sorted(required - set(data))
    if unknown:
        known_keys = ", ".join(sorted(known))
        raise EvalkitError(f"{where} has unknown key {unknown[0]}; known: {known_keys}")
    if missing:
        raise EvalkitError(f"{where} is missing {', '.join(missing)}")


def _section(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise EvalkitError(f"{where} must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    required = {name for name, f in fields.items()
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    _check_keys(data, set(fields), required, where)
    return cls(**data)


def _sources(data: Any, where: str) -> dict[str, str]:
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise EvalkitError(f"{where}: sources must map a setting to where its value comes from")
    return {str(k): v for k, v in data.items()}


def _train(section: TrainSection, base: Path, where: str) -> TrainSection:
    if section.pipeline not in PIPELINES:
        raise EvalkitError(f"{where}: train.pipeline must be one of {', '.join(PIPELINES)}, "
                           f"got {section.pipeline!r}")
    if not isinstance(section.set, dict):
        raise EvalkitError(f"{where}: train.set must map section.key to a value")
    path = resolve_training_recipe(str(section.recipe), base)
    return dataclasses.replace(section, recipe=str(path))


def _evaluate(data: Any, where: str) -> EvaluateSection:
    """Check the settings (names, types, ranges, the preset's name); the preset fills what the
    recipe leaves out when the plan is made."""
    if not isinstance(data, dict):
        raise EvalkitError(f"{where} must be a mapping")
    for key in ("model", "output_dir"):
        if key in data:
            raise EvalkitError(f"{where}: {key} is set by the release run, not the recipe")
    values = check_layer(Layer(where, data))
    if values.get("preset") is not None:
        get_run_preset(values["preset"])
    elif not values.get("tasks"):
        raise EvalkitError(f"{where} needs tasks (or a preset that names them)")
    return EvaluateSection(dict(data))


def _gate(section: GateSection, base: Path, where: str) -> GateSection:
    if (section.policy is None) == (section.rules is None):
        raise EvalkitError(f"{where}: gate needs either policy (a file) or rules (inline)")
    policy = base / section.policy if section.policy is not None else None
    baseline = base / section.baseline if section.baseline is not None else None
    return dataclasses.replace(section, policy=policy, baseline=baseline)


def _publish(section: PublishSection, where: str) -> PublishSection:
    repo = section.repo_id
    if not isinstance(repo, str) or repo.count("/") != 1 or not all(repo.split("/")):
        raise EvalkitError(f"{where}: publish.repo_id must look like ORG/NAME, got {repo!r}")
    return section
