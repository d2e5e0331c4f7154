"""Release policies: the YAML file of rules a checkpoint must satisfy before it ships.

```yaml
rules:
  - rule: threshold                 # a score bound; fractions, 0.70 means 70%
    task: aime24
    metric: avg@16
    min: 0.70                       # and/or max
  - rule: truncation_rate           # share of samples cut off by the token budget
    max: 0.10
    task: aime24                    # optional; every task when left out
  - rule: grader_version_equals_baseline
  - rule: no_regression             # paired comparison with the baseline run
    max_drop: 0.02                  # 2 points
    p_value: 0.05                   # a drop fails only when it is significant
    metric: avg@16                  # optional; every compared metric when left out
    tasks: [aime24, aime25]         # optional; every compared task when left out
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evalkit.errors import EvalkitError


@dataclass(frozen=True)
class Threshold:
    """A task's metric must lie within [min, max]."""

    task: str
    metric: str
    min: float | None
    max: float | None


@dataclass(frozen=True)
class TruncationRate:
    """At most `max` of the samples of a task (or of every task) may hit the token budget."""

    max: float
    task: str | None


@dataclass(frozen=True)
class GraderVersionEqualsBaseline:
    """The candidate was graded by the same grader version as the baseline."""


@dataclass(frozen=True)
class NoRegression:
    """No task drops more than `max_drop` below the baseline with p < `p_value`."""

    max_drop: float
    p_value: float
    metric: str | None
    tasks: tuple[str, ...] | None


Rule = Threshold | TruncationRate | GraderVersionEqualsBaseline | NoRegression

# rule name -> (required keys, optional keys)
_RULES: dict[str, tuple[set[str], set[str]]] = {
    "threshold": ({"task", "metric"}, {"min", "max"}),
    "truncation_rate": ({"max"}, {"task"}),
    "grader_version_equals_baseline": (set(), set()),
    "no_regression": ({"max_drop"}, {"p_value", "metric", "tasks"}),
}
_FRACTIONS = {"min", "max", "max_drop", "p_value"}


@dataclass(frozen=True)
class Policy:
    """The rules of one policy file, in file order."""

    path: Path
    rules: tuple[Rule, ...]

    @property
    def needs_baseline(self) -> bool:
        return any(isinstance(r, GraderVersionEqualsBaseline | NoRegression) for r in self.rules)


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file; any problem is one EvalkitError line naming the fix."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise EvalkitError(f"cannot read policy {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        raise EvalkitError(f"policy {path}{line} is not valid YAML: fix the syntax") from err
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list) or not data["rules"]:
        raise EvalkitError(f"policy {path} needs a non-empty `rules:` list (see docs/ci-gate.md)")
    if set(data) != {"rules"}:
        extra = ", ".join(sorted(set(data) - {"rules"}))
        raise EvalkitError(f"policy {path} has unknown top-level keys {extra}: only `rules:`")
    return Policy(path, tuple(_parse_rule(raw, f"policy {path} rule {i}")
                              for i, raw in enumerate(data["rules"], start=1)))


def _parse_rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, dict) or "rule" not in raw:
        raise EvalkitError(f"{where} must be a mapping with a `rule:` key")
    name = raw["rule"]
    if name not in _RULES:
        raise EvalkitError(f"{where}: unknown rule {name!r}; known rules: {', '.join(_RULES)}")
    required, optional = _RULES[name]
    fields = {k: v for k, v in raw.items() if k != "rule"}
    missing = required - set(fields)
    if missing:
        raise EvalkitError(f"{where} ({name}) is missing {', '.join(sorted(missing))}")
    unknown = set(fields) - required - optional
    if unknown:
        allowed = ", ".join(sorted(required | optional)) or "nothing else"
        raise EvalkitError(
            f"{where} ({name}) has unknown keys {', '.join(sorted(unknown))}; allowed: {allowed}"
        )
    for key in _FRACTIONS & set(fields):
        value = fields[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise EvalkitError(
                f"{where} ({name}): {key} must be a fraction between 0 and 1 "
                f"(0.70 means 70%), got {value!r}"
            )
    for key in ("task", "metric"):
        if key in fields and not isinstance(fields[key], str):
            raise EvalkitError(f"{where} ({name}): {key} must be a name, got {fields[key]!r}")
    if name == "threshold":
        if "min" not in fields and "max" not in fields:
            raise EvalkitError(f"{where} (threshold) needs min, max or both")
        return Threshold(fields["task"], fields["metric"], fields.get("min"), fields.get("max"))
    if name == "truncation_rate":
        return TruncationRate(fields["max"], fields.get("task"))
    if name == "no_regression":
        tasks = fields.get("tasks")
        if tasks is not None and (
            not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks)
        ):
            raise EvalkitError(f"{where} (no_regression): tasks must be a list of task names")
        return NoRegression(
            fields["max_drop"], fields.get("p_value", 0.05), fields.get("metric"),
            tuple(tasks) if tasks is not None else None,
        )
    return GraderVersionEqualsBaseline()
