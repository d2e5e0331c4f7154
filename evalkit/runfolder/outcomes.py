"""Graded samples of a finished run, read back from its folder (results.json + grades files)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.statistics.estimators import AnswerClass


@dataclass(frozen=True)
class TaskOutcomes:
    """One task's graded samples: a row of n per problem, rows in ``problem_ids`` order."""

    task: str
    problem_ids: list[str]
    correct: list[list[bool]]
    classes: list[list[AnswerClass]] | None  # None: grades written before answer classes
    num_tokens: list[list[int]]
    finish_reasons: list[list[str]]

    @property
    def n(self) -> int:
        return min(len(row) for row in self.correct)

    def select(self, problem_ids: list[str]) -> TaskOutcomes:
        """The rows of the given problems, in that order."""
        index = {pid: i for i, pid in enumerate(self.problem_ids)}
        rows = [index[pid] for pid in problem_ids]
        return TaskOutcomes(
            task=self.task,
            problem_ids=list(problem_ids),
            correct=[self.correct[i] for i in rows],
            classes=None if self.classes is None else [self.classes[i] for i in rows],
            num_tokens=[self.num_tokens[i] for i in rows],
            finish_reasons=[self.finish_reasons[i] for i in rows],
        )


def load_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, TaskOutcomes]]:
    """results.json of a run folder and the graded samples of each of its tasks."""
    from evalkit.results.document import load_results

    results = load_results(run_dir)
    root = run_dir if run_dir.is_dir() else run_dir.parent
    outcomes = {
        name: read_grades(name, root / task["grades_file"], task["problem_ids"])
        for name, task in results["tasks"].items()
    }
    return results, outcomes


def read_grades(task: str, path: Path, problem_ids: list[str]) -> TaskOutcomes:
    """Read a grades file (JSON lines with problem_id, sample_index, status, ...)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise EvalkitError(
            f"cannot read grades {path}: {err}; rerun `evalkit run` into that folder to rewrite it"
        ) from err
    by_problem: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        if line.strip():
            row = json.loads(line)
            by_problem[row["problem_id"]].append(row)
    missing = [pid for pid in problem_ids if pid not in by_problem]
    if missing:
        raise EvalkitError(f"{path} has no grades for problem {missing[0]!r}; rerun `evalkit run`")
    rows = [sorted(by_problem[pid], key=lambda r: r["sample_index"]) for pid in problem_ids]
    has_classes = all("answer_class" in g for row in rows for g in row)
    return TaskOutcomes(
        task=task,
        problem_ids=list(problem_ids),
        correct=[[g["status"] == "correct" for g in row] for row in rows],
        classes=[[g["answer_class"] for g in row] for row in rows] if has_classes else None,
        num_tokens=[[g["num_tokens"] for g in row] for row in rows],
        finish_reasons=[[g["finish_reason"] for g in row] for row in rows],
    )
