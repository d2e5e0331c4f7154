"""results.json, typed: the one reader and writer of every command that makes or reads results.

``Results.from_json`` checks the schema version and every field, so a results.json of the wrong
shape is one line naming the field; ``to_json`` is the document written (strict JSON, no NaN).
Field meanings are documented in docs/results-schema.md.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from evalkit.results.agreement import Agreement
from evalkit.results.validate import SchemaError, load

SCHEMA_VERSION = 3  # 3: typed reader, history/ of earlier results, plan block, grade keys


@dataclass(frozen=True)
class MetricValue:
    """One figure of a results table, with what it was computed from."""

    metric: str  # "avg@n", "pass@k", "maj@k" or "cons@n"
    k: int
    n: int
    problems: int
    value: float
    stderr: float | None
    ci95: tuple[float, float] | None  # None only in results written by an older evalkit
    interval: str = "clustered-wilson"  # how ci95 was made (evalkit.statistics.intervals)
    se_sampling: float | None = None  # avg@n only: the within-problem part of stderr

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BudgetPoint:
    """The scores a run would have had with generation stopped at ``budget`` tokens."""

    budget: int
    truncation_rate: float
    metrics: list[MetricValue]
    method: str = "regraded"  # every sample cut at the budget decoded and graded again


@dataclass(frozen=True)
class ModelInfo:
    """The model a run evaluated: what the user named, where it was, which revision."""

    name: str
    kind: str  # alias, hub, local, gguf, served (a server engine) or import
    path: str | None = None
    revision: str | None = None
    source: str | None = None
    producer: str | None = None  # imports: the tool that made the samples
    file_sha256: str | None = None  # imports: the source file


@dataclass(frozen=True)
class PromptInfo:
    """How problems became prompts: the preset, whether a chat template was applied (true: the
    model's own; "chatml": ChatML written out), and the texts."""

    preset: str
    chat_template: bool | str | None = None
    system: str | None = None
    user_template: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunSampling:
    """The sampling settings shared by the run's tasks (per-task values are in each task)."""

    n: int
    k: list[int]
    seed: int | None
    seed_rule: str | None
    temperature: float | None
    top_p: float | None
    max_tokens: int | None  # None: each task's own budget
    limit: int | None


@dataclass(frozen=True)
class TaskBlock:
    """One task of a run: its data, settings, figures and where its samples and grades are."""

    task: str
    variant: str | None
    source: str | None
    data_sha256: str
    problems: int
    problem_ids: list[str]
    n: int
    sampling: dict[str, Any]  # temperature, top_p, max_tokens; top_k, min_p, ... when set
    metrics: list[MetricValue]
    status_counts: dict[str, int]
    truncation_rate: float
    mean_tokens: float | None
    answer_kind: str
    lengths: dict[str, float] | None
    samples_file: str  # relative to the run folder
    grades_file: str
    wall_time_s: dict[str, float]
    budget_curve: list[BudgetPoint] = field(default_factory=list)
    external_file: str | None = None  # imports: the producer's verdicts
    agreement: Agreement | None = None  # imports: how often the producer's verdicts agree

    def metric(self, name: str) -> MetricValue | None:
        return next((m for m in self.metrics if m.metric == name), None)


@dataclass(frozen=True)
class Results:
    """A results.json document."""

    schema_version: int
    evalkit_version: str
    created: str
    model: ModelInfo
    engine: dict[str, Any]
    prompt: PromptInfo
    sampling: RunSampling
    grader: dict[str, Any]
    versions: dict[str, str]
    hardware: dict[str, Any]
    timings: dict[str, float]
    tasks: dict[str, TaskBlock]
    plan: dict[str, Any] | None = None  # the resolved settings and where each came from
    manifest: dict[str, Any] | None = None  # what can change generations (engine, versions)
    preset: dict[str, Any] | None = None
    import_: dict[str, Any] | None = field(default=None, metadata={"json": "import"})
    regraded: dict[str, Any] | None = None
    published: dict[str, Any] | None = None  # the published row this run reproduces

    @classmethod
    def from_json(cls, data: Any, where: str = "results.json") -> Results:
        """Check the version and the shape; SchemaError says what is wrong, in one line."""
        if not isinstance(data, dict):
            raise SchemaError(f"{where} must be an object, got {type(data).__name__}")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise SchemaError(
                f"{where} has schema version {version!r}, this evalkit reads {SCHEMA_VERSION}")
        return load(cls, data, where)

    def to_json(self) -> dict[str, Any]:
        """The document, optional blocks left out when absent."""
        document = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None and item.default is None:
                continue
            document[item.metadata.get("json", item.name)] = _plain(value)
        return document

    def dumps(self) -> str:
        """Strict JSON text (NaN or infinity anywhere is a bug and raises ValueError)."""
        return json.dumps(self.to_json(), indent=1, ensure_ascii=False, allow_nan=False)


def parse_document(text: str | bytes) -> Any:
    """JSON text as evalkit writes it: NaN and Infinity are refused."""
    def refuse(constant: str) -> None:
        raise SchemaError(f"holds {constant}, which is not JSON")

    try:
        return json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as err:
        raise SchemaError(f"is not JSON ({err.msg} at line {err.lineno})") from None
    except UnicodeDecodeError as err:
        raise SchemaError(f"is not UTF-8 (byte {err.start})") from None


def _plain(value: Any) -> Any:
    """Dataclasses and tuples as JSON values."""
    if hasattr(value, "__dataclass_fields__"):
        if hasattr(value, "to_json"):
            return _plain(value.to_json())
        return {f.metadata.get("json", f.name): _plain(getattr(value, f.name))
                for f in fields(value)}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
