"""`evalkit regrade`: grade the stored samples of a run folder again, without generating.

The samples are read from the run's sample stores and go through the same stages as in
`evalkit run` (:class:`~evalkit.grading.Grader`, :func:`~evalkit.scoring.score_samples`,
:class:`~evalkit.results.TaskResult`); the grades files and results.json are rewritten, the
previous results.json is kept as results.prev.json, and what changed is returned as a diff.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evalkit.agreement import tally
from evalkit.engines import SamplingConfig
from evalkit.errors import EvalkitError
from evalkit.grading import Grader, GraderConfig, GradeRequest
from evalkit.metrics import MetricValue
from evalkit.records import Grade, Problem, SampleRecord
from evalkit.results import TaskResult, load_results, write_grades, write_results
from evalkit.scoring import score_samples, tokenizer_decoder
from evalkit.store import SampleStore

PREVIOUS_RESULTS = "results.prev.json"


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


@dataclass(frozen=True)
class StoredTask:
    """The task facts that a results.json block records (the task itself may be gone)."""

    name: str
    variant: str | None
    source: str | None
    data_sha256: str

    def sha256(self) -> str:
        return self.data_sha256


def regrade_run(
    run_dir: Path,
    config: GraderConfig | None = None,
    workers: int = 1,
    timeout_s: float = 10.0,
) -> RegradeDiff:
    """Regrade every task of ``run_dir`` with ``config`` and rewrite its results; returns the
    diff against the previous grades."""
    results = load_results(run_dir)
    diff = RegradeDiff()
    cache_path = run_dir / "grade_cache.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    model_path = results["model"].get("path")
    has_model = bool(model_path) and Path(model_path).is_dir()
    decode = tokenizer_decoder(model_path) if has_model else None
    regraded: list[TaskResult] = []
    with Grader(workers=workers, timeout_s=timeout_s, cache=cache, config=config) as grader:
        for name, block in results["tasks"].items():
            results["tasks"][name], result = _regrade_task(
                run_dir, name, block, results["sampling"], grader, decode, diff
            )
            regraded.append(result)
        info = grader.info()
    for result in regraded:  # only once every task is graded: no half-regraded folder
        write_grades(result)
    cache_path.write_text(json.dumps(cache))
    previous = results["grader"]
    results["grader"] = info
    results["regraded"] = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "previous_grader": previous,
        "changed_samples": len(diff.changes),
    }
    shutil.copyfile(run_dir / "results.json", run_dir / PREVIOUS_RESULTS)
    write_results(results, run_dir)
    if any(block.get("budget_curve") for block in results["tasks"].values()):
        from evalkit.plot import plot_budget_curves

        plot_budget_curves(results, run_dir / "budget_curve.png")
    return diff


def _regrade_task(
    run_dir: Path,
    name: str,
    block: dict[str, Any],
    sampling: dict[str, Any],
    grader: Grader,
    decode: Any,
    diff: RegradeDiff,
) -> tuple[dict[str, Any], TaskResult]:
    """Regrade one task; returns its new results.json block and its result (grades not yet
    written), and records its diff."""
    started = time.time()
    old = _read_grades(run_dir / block["grades_file"])
    store = SampleStore(run_dir / block["samples_file"])
    kind = block.get("answer_kind", "math")
    problems, samples = [], []
    for pid in block["problem_ids"]:
        indices = range(block["n"])
        missing = [i for i in indices if (pid, i) not in old or (pid, i) not in store]
        if missing:
            raise EvalkitError(
                f"{name}: sample {pid}#{missing[0]} is missing from {block['samples_file']} or "
                f"{block['grades_file']}; rerun `evalkit run` into {run_dir} to complete it"
            )
        problems.append(Problem(pid, "", old[pid, 0]["gold"], kind))
        samples.append([store.get(pid, i) for i in indices])
    if decode is None or not any(s.token_ids for row in samples for s in row):
        samples = [[_without_ids(s) for s in row] for row in samples]
    requests = [
        GradeRequest(s.text, p.gold, kind, s.finish_reason, name)
        for p, row in zip(problems, samples, strict=True)
        for s in row
    ]
    grades = grader.grade(requests)
    budgets = [point["budget"] for point in block.get("budget_curve") or []]
    if budgets and decode is None:
        raise EvalkitError(
            f"{name} has a budget curve, which needs the model's tokenizer to cut answers at a "
            "budget, and the model folder of this run is gone: restore it (rerun `evalkit run` "
            "with the same --model) and regrade again"
        )
    stats = score_samples(
        problems, samples, grades, grader, decode or _no_decode, sampling["k"], budgets,
        sampling["seed"],
    )
    result = TaskResult(
        task=StoredTask(name, block.get("variant"), block.get("source"), block["data_sha256"]),
        problems=problems,
        samples=samples,
        grades=grades,
        metrics=stats.metrics,
        sampling=SamplingConfig(**block["sampling"]),
        samples_file=run_dir / block["samples_file"],
        generate_s=block.get("wall_time_s", {}).get("generate", 0.0),
        grade_s=time.time() - started,
        classes=stats.classes,
        answer_tokens=stats.answer_tokens,
        budget_curve=stats.budget_curve,
    )
    _record_diff(name, problems, samples, grades, old, diff)
    diff.metric_changes[name] = _metric_changes(block["metrics"], stats.metrics)
    new_block = {**block, **result.to_json(run_dir)}
    if block.get("external_file"):
        new_block["agreement"] = _agreement(run_dir / block["external_file"], grades)
    return new_block, result


def _record_diff(
    name: str,
    problems: list[Problem],
    samples: list[list[SampleRecord]],
    grades: list[Grade],
    old: dict[tuple[str, int], dict[str, Any]],
    diff: RegradeDiff,
) -> None:
    transitions: Counter[tuple[str, str]] = Counter()
    flat = [(p, s) for p, row in zip(problems, samples, strict=True) for s in row]
    for (problem, sample), grade in zip(flat, grades, strict=True):
        before = old[problem.id, sample.sample_index]
        transitions[before["status"], grade.status] += 1
        if before["status"] != grade.status:
            diff.changes.append(
                VerdictChange(
                    name, problem.id, sample.sample_index, before["status"], grade.status,
                    before.get("extracted"), grade.extracted,
                )
            )
    diff.transitions[name] = transitions


def _metric_changes(
    old: list[dict[str, Any]], new: list[MetricValue]
) -> list[tuple[str, float, float]]:
    """(metric label such as "pass@4", old value, new value) for each metric in both."""
    before = {(m["metric"], m["k"]): m["value"] for m in old}
    return [
        (f"{m.metric.split('@')[0]}@{m.k}", before[m.metric, m.k], m.value)
        for m in new
        if (m.metric, m.k) in before
    ]


def _agreement(external_file: Path, grades: list[Grade]) -> dict[str, Any]:
    """The agreement of the new grades with an imported run's external labels."""
    labels = [json.loads(line) for line in external_file.read_text().splitlines() if line.strip()]
    return tally(
        (grade.status, label.get("correct")) for grade, label in zip(grades, labels, strict=True)
    ).to_json()


def _read_grades(path: Path) -> dict[tuple[str, int], dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise EvalkitError(f"cannot read {path} ({err.strerror}); is this a run folder?") from None
    rows = (json.loads(line) for line in lines if line.strip())
    return {(row["problem_id"], row["sample_index"]): row for row in rows}


def _without_ids(sample: SampleRecord) -> SampleRecord:
    """The sample without token ids: answer positions are then not computed."""
    return SampleRecord(**{**sample.to_json(), "token_ids": None})


def _no_decode(ids: list[int]) -> str:
    raise EvalkitError("this run records no model to decode token ids with")


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
