"""Assemble results.json blocks from what the stages made: one builder for run, regrade,
import and report --budgets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from evalkit import __version__
from evalkit.results.agreement import Agreement
from evalkit.results.schema import (
    SCHEMA_VERSION,
    ModelInfo,
    PromptInfo,
    Results,
    RunSampling,
    TaskBlock,
)

SEED_RULE = "sha256(f'{seed}:{problem_id}:{sample_index}')[:4] & 0x7fffffff"


@dataclass(frozen=True)
class TaskFacts:
    """What a results block says of the task itself (from the task, or a stored block)."""

    name: str
    variant: str | None
    source: str | None
    data_sha256: str
    answer_kind: str


def task_block(
    facts: TaskFacts, problem_ids: list[str], n: int, sampling: dict[str, Any], scores: Any,
    samples_file: str, grades_file: str, wall_time_s: dict[str, float],
    external_file: str | None = None, agreement: Agreement | None = None,
) -> TaskBlock:
    """The results block of one task (``scores``: :class:`evalkit.stages.score.TaskScores`)."""
    return TaskBlock(
        task=facts.name, variant=facts.variant, source=facts.source,
        data_sha256=facts.data_sha256, problems=len(problem_ids), problem_ids=problem_ids, n=n,
        sampling=sampling, metrics=scores.metrics, status_counts=scores.status_counts,
        truncation_rate=scores.truncation_rate, mean_tokens=scores.mean_tokens,
        answer_kind=facts.answer_kind, lengths=scores.lengths, samples_file=samples_file,
        grades_file=grades_file, wall_time_s=wall_time_s, budget_curve=scores.budget_curve,
        external_file=external_file, agreement=agreement,
    )


def results_document(
    model: ModelInfo, engine: dict[str, Any], prompt: PromptInfo, sampling: RunSampling,
    grader: dict[str, Any], tasks: dict[str, TaskBlock], timings: dict[str, float],
    **blocks: Any,
) -> Results:
    """A results document stamped with this evalkit, now, the library versions and the
    hardware; ``blocks`` are the optional ones (plan, manifest, preset, import_, regraded)."""
    from evalkit.provenance import hardware, package_versions

    return Results(
        schema_version=SCHEMA_VERSION, evalkit_version=__version__,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"), model=model,
        engine=engine, prompt=prompt, sampling=sampling, grader=grader,
        versions=package_versions(), hardware=hardware(), timings=timings, tasks=tasks,
        **blocks,
    )
