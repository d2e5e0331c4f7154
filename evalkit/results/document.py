"""results.json (versioned schema with provenance) and per-sample grade records."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit import __version__
from evalkit.generation.engines import SamplingConfig
from evalkit.generation.models import ModelRef
from evalkit.generation.prompts import get_preset
from evalkit.grading import grader_info
from evalkit.provenance import hardware, package_versions
from evalkit.records import GRADE_STATUSES, Grade, Problem, SampleRecord
from evalkit.reports.table import to_markdown
from evalkit.statistics.budget import length_summary
from evalkit.statistics.estimators import MetricValue
from evalkit.tasks import Task

if TYPE_CHECKING:
    from evalkit.run.runner import RunSpec

SCHEMA_VERSION = 2  # 2: answer_kind, lengths, budget_curve; maj@k / cons@n metrics;
# grades lines gain answer_class and answer_token (see docs/results-schema.md)


@dataclass
class TaskResult:
    """Everything one task of a run produced."""

    task: Task
    problems: list[Problem]
    samples: list[list[SampleRecord]]
    grades: list[Grade]
    metrics: list[MetricValue]
    sampling: SamplingConfig
    samples_file: Path
    generate_s: float
    grade_s: float
    classes: list[list[int | None]] | None = None  # answer class per sample (for maj@k)
    answer_tokens: list[list[int | None]] | None = None  # tokens until the answer is complete
    budget_curve: list[dict[str, Any]] = field(default_factory=list)

    def grades_file(self) -> Path:
        return self.samples_file.parent.parent / "grades" / self.samples_file.name

    def to_json(self, root: Path) -> dict[str, Any]:
        flat = [s for row in self.samples for s in row]
        statuses = Counter(g.status for g in self.grades)
        tokens = [s.num_tokens for s in flat]
        return {
            "task": self.task.name,
            "variant": self.task.variant,
            "source": self.task.source,
            "data_sha256": self.task.sha256(),
            "problems": len(self.problems),
            "problem_ids": [p.id for p in self.problems],
            "n": len(self.samples[0]) if self.samples else 0,
            "sampling": self.sampling.to_json(),
            "metrics": [m.to_json() for m in self.metrics],
            "status_counts": {status: statuses.get(status, 0) for status in GRADE_STATUSES},
            "truncation_rate": sum(s.finish_reason == "length" for s in flat) / max(len(flat), 1),
            "mean_tokens": sum(tokens) / max(len(tokens), 1),
            "answer_kind": self.problems[0].answer_kind if self.problems else "math",
            "lengths": length_summary([[s.num_tokens for s in row] for row in self.samples]),
            "budget_curve": self.budget_curve,
            "samples_file": str(self.samples_file.relative_to(root)),
            "grades_file": str(self.grades_file().relative_to(root)),
            "wall_time_s": {"generate": self.generate_s, "grade": self.grade_s},
        }


def write_grades(result: TaskResult) -> None:
    """Write one JSON line per sample: its verdict, the extracted answer and the rule."""
    path = result.grades_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    grades = iter(result.grades)
    lines = []
    for i, (problem, row) in enumerate(zip(result.problems, result.samples, strict=True)):
        for j, sample in enumerate(row):
            grade = next(grades)
            extra = {}
            if result.classes is not None:
                extra["answer_class"] = result.classes[i][j]
            if result.answer_tokens is not None:
                extra["answer_token"] = result.answer_tokens[i][j]
            lines.append(
                json.dumps(
                    {
                        "problem_id": problem.id,
                        "sample_index": sample.sample_index,
                        "gold": problem.gold,
                        "status": grade.status,
                        "extracted": grade.extracted,
                        "rule": grade.rule,
                        "detail": grade.detail,
                        "num_tokens": sample.num_tokens,
                        "finish_reason": sample.finish_reason,
                        **extra,
                    },
                    ensure_ascii=False,
                )
            )
    _atomic_write(path, "\n".join(lines) + "\n")


def build_results(
    spec: RunSpec,
    ref: ModelRef,
    task_results: list[TaskResult],
    engine_info: dict[str, Any],
    timings: dict[str, float],
) -> dict[str, Any]:
    """The results.json document of a run."""
    return {
        "schema_version": SCHEMA_VERSION,
        "evalkit_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": ref.to_json(),
        "engine": engine_info,
        "prompt": get_preset(spec.prompt).to_json(),
        "sampling": {
            "n": spec.n,
            "k": spec.resolved_ks(),
            "seed": spec.seed,
            "seed_rule": "sha256(f'{seed}:{problem_id}:{sample_index}')[:4] & 0x7fffffff",
            "temperature": spec.resolved_temperature(),
            "top_p": spec.top_p,
            "max_tokens": spec.max_tokens,
            "limit": spec.limit,
        },
        "grader": grader_info(spec.grader_timeout, spec.grader_config),
        "versions": package_versions(),
        "hardware": hardware(),
        "timings": timings,
        "tasks": {r.task.name: r.to_json(spec.output_dir) for r in task_results},
    }


def write_results(results: dict[str, Any], output_dir: Path) -> None:
    """results.json and results.md, each written atomically."""
    _atomic_write(output_dir / "results.json", json.dumps(results, indent=1, ensure_ascii=False))
    _atomic_write(output_dir / "results.md", to_markdown(results))


def load_results(path: Path) -> dict[str, Any]:
    """Read a results.json (or the one inside a run folder)."""
    from evalkit.errors import EvalkitError

    if path.is_dir():
        path = path / "results.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise EvalkitError(f"cannot read results {path}: {err}; pass a run folder") from err
    if data.get("schema_version") != SCHEMA_VERSION:
        raise EvalkitError(
            f"{path} has schema {data.get('schema_version')}, expected {SCHEMA_VERSION}: rerun "
            "`evalkit run` with the same settings into that folder (stored samples are regraded, "
            "not regenerated)"
        )
    return data


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
