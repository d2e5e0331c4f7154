"""`evalkit regrade`: grade the stored samples of a run folder again, without generating.

The samples are read from the run's sample stores and go through the same two stages as in
`evalkit run` (:mod:`evalkit.stages.grade`, :mod:`evalkit.stages.score`); the grades files and
results.json are rewritten (every earlier results.json is kept in history/), and what changed
is returned as a diff.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evalkit.errors import EvalkitError
from evalkit.grading import Grader, GraderConfig
from evalkit.grading.version import recorded_extraction
from evalkit.reports.table import to_markdown
from evalkit.results.agreement import tally
from evalkit.results.schema import MetricValue, RunSampling, TaskBlock
from evalkit.run.stored import read_stored_task
from evalkit.runfolder.folder import RunFolder
from evalkit.runfolder.grades import GradeRow
from evalkit.stages.grade import Decode, grade_task, tokenizer_decoder
from evalkit.stages.score import score_task


@dataclass(frozen=True)
class VerdictChange:
    """One sample whose grade changed."""

    task: str
    problem_id: str
    sample_index: int
    old_status: str
    new_status: str
    old_extracted: str | None
    new_extracted: str | None


@dataclass
class RegradeDiff:
    """What a regrade changed: samples whose status changed, and (old, new) status counts per
    task (unchanged samples included, as (s, s))."""

    changes: list[VerdictChange] = field(default_factory=list)
    transitions: dict[str, Counter[tuple[str, str]]] = field(default_factory=dict)
    metric_changes: dict[str, list[tuple[str, float, float]]] = field(default_factory=dict)


def regrade_run(
    run_dir: Path,
    config: GraderConfig | None = None,
    workers: int = 1,
    timeout_s: float = 10.0,
    console: Console | None = None,
    extraction: str | None = None,
) -> tuple[RegradeDiff, Path | None]:
    """Regrade every task of ``run_dir`` with ``config`` and rewrite its results (the earlier
    results.json is kept in history/); returns the diff against the previous grades and where
    the previous results were kept. The extraction mode is ``extraction``, else the one the
    run's grader recorded (``evalkit`` when it recorded none)."""
    diff = RegradeDiff()
    with RunFolder.writing(run_dir, "evalkit regrade") as folder:
        results = folder.read_results()
        config = replace(config or GraderConfig(),
                         extraction=extraction or recorded_extraction(results.grader))
        cache = folder.grade_cache()
        for line in cache.warnings:
            (console or Console(stderr=True)).print(f"warning: {line}", markup=False)
        model_path = results.model.path
        decode = tokenizer_decoder(model_path) if model_path and Path(model_path).is_dir() \
            else None
        blocks, writes = {}, []
        with Grader(workers=workers, timeout_s=timeout_s, cache=cache.entries,
                    config=config) as grader:
            for name, block in results.tasks.items():
                blocks[name], rows = _regrade_task(folder, block, results.sampling, grader,
                                                   decode, diff)
                writes.append((block.grades_file, rows))
            info = grader.info()
        for grades_file, rows in writes:  # only once every task is graded: no half-regraded run
            folder.write_grades(grades_file, rows)
        cache.save()
        regraded = replace(
            results, tasks=blocks, grader=info,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            regraded={"at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      "previous_grader": results.grader, "changed_samples": len(diff.changes)},
        )
        kept = folder.write_results(regraded, to_markdown(regraded))
        if any(block.budget_curve for block in blocks.values()):
            from evalkit.reports.plot import plot_budget_curves

            plot_budget_curves(regraded, folder.plot_path)
    return diff, kept


def _regrade_task(
    folder: RunFolder,
    block: TaskBlock,
    sampling: RunSampling,
    grader: Grader,
    decode: Decode | None,
    diff: RegradeDiff,
) -> tuple[TaskBlock, list[GradeRow]]:
    """Regrade one task; returns its new block and grade rows (not yet written), and records
    its diff."""
    started = time.time()
    stored = read_stored_task(folder, block)
    budgets = [point.budget for point in block.budget_curve]
    if budgets and decode is None:
        raise EvalkitError(
            f"{block.task} has a budget curve, which needs the model's tokenizer to cut answers "
            "at a budget, and the model folder of this run is gone: restore it (rerun `evalkit "
            "run` with the same --model) and regrade again"
        )
    graded = grade_task(stored.problems, stored.samples, grader, task=block.task,
                        decode=decode, budgets=budgets)
    scores = score_task(graded, sampling.k, tokens_known=block.mean_tokens is not None)
    rows = [row for problem in graded.rows for row in problem]
    _record_diff(block.task, rows, stored.grades, diff)
    diff.metric_changes[block.task] = _metric_changes(block.metrics, scores.metrics)
    agreement = block.agreement
    if block.external_file:
        labels = folder.read_external(block.external_file)
        agreement = tally((row.status, label.correct) for row, label in zip(rows, labels,
                                                                             strict=False))
    new_block = replace(
        block, metrics=scores.metrics, status_counts=scores.status_counts,
        budget_curve=scores.budget_curve, agreement=agreement,
        wall_time_s={**block.wall_time_s, "grade": time.time() - started},
    )
    return new_block, rows


def _record_diff(name: str, rows: list[GradeRow], old: dict[tuple[str, int], GradeRow],
                 diff: RegradeDiff) -> None:
    transitions: Counter[tuple[str, str]] = Counter()
    for row in rows:
        before = old[row.problem_id, row.sample_index]
        transitions[before.status, row.status] += 1
        if before.status != row.status:
            diff.changes.append(VerdictChange(
                name, row.problem_id, row.sample_index, before.status, row.status,
                before.extracted, row.extracted))
    diff.transitions[name] = transitions


def _metric_changes(old: list[MetricValue], new: list[MetricValue]
                    ) -> list[tuple[str, float, float]]:
    """(metric label such as "pass@4", old value, new value) for each metric in both."""
    before = {(m.metric, m.k): m.value for m in old}
    return [(f"{m.metric.split('@')[0]}@{m.k}", before[m.metric, m.k], m.value)
            for m in new if (m.metric, m.k) in before]


def render_diff(diff: RegradeDiff, console: Console, limit: int = 50) -> None:
    """Print the status transitions per task, the metric changes and the changed samples."""
    for task, transitions in diff.transitions.items():
        table = Table(title=f"{task}: old status -> new status")
        for column in ("old", "new", "samples"):
            table.add_column(column)
        for (old, new), count in sorted(transitions.items()):
            style = None if old == new else "bold"
            table.add_row(old, new, str(count), style=style)
        console.print(table)
        for label, before, after in diff.metric_changes.get(task, []):
            if before != after:
                console.print(f"  {label}: {before:.4f} -> {after:.4f}", highlight=False)
    if not diff.changes:
        console.print("no verdict changed")
        return
    table = Table(title=f"{len(diff.changes)} samples changed verdict")
    for column in ("task", "problem", "#", "old", "new"):
        table.add_column(column, overflow="fold")
    for change in diff.changes[:limit]:
        table.add_row(*(Text(cell) for cell in (
            change.task, change.problem_id, str(change.sample_index),
            f"{change.old_extracted if change.old_extracted is not None else '-'} "
            f"({change.old_status})",
            f"{change.new_extracted if change.new_extracted is not None else '-'} "
            f"({change.new_status})",
        )))
    console.print(table)
    if len(diff.changes) > limit:
        console.print(f"... and {len(diff.changes) - limit} more")
