"""Graded samples of a finished run, read back from its folder (results.json + grades files)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import EvalkitError
from evalkit.records import AnswerClass
from evalkit.results.schema import Results
from evalkit.runfolder.folder import RunFolder
from evalkit.runfolder.grades import GradeRow


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


def load_run(run_dir: Path) -> tuple[Results, dict[str, TaskOutcomes]]:
    """The results of a run folder (or results file) and the graded samples of its tasks."""
    folder = RunFolder.reading(run_dir)
    results = folder.read_results()
    outcomes = {
        name: outcomes_of(name, folder.read_grades(task.grades_file), task.problem_ids,
                          task.grades_file)
        for name, task in results.tasks.items()
    }
    return results, outcomes


def outcomes_of(task: str, rows: list[GradeRow], problem_ids: list[str], where: str
                ) -> TaskOutcomes:
    """A task's grade rows as rows of n verdicts per problem, in ``problem_ids`` order."""
    by_problem: dict[str, list[GradeRow]] = defaultdict(list)
    for row in rows:
        by_problem[row.problem_id].append(row)
    missing = [pid for pid in problem_ids if pid not in by_problem]
    if missing:
        raise EvalkitError(f"{where} has no grades for problem {missing[0]!r}; regrade the run")
    ordered = [sorted(by_problem[pid], key=lambda r: r.sample_index) for pid in problem_ids]
    has_classes = all(r.answer_class is not None or r.extracted is None
                      for row in ordered for r in row)
    return TaskOutcomes(
        task=task,
        problem_ids=list(problem_ids),
        correct=[[r.status == "correct" for r in row] for row in ordered],
        classes=[[r.answer_class for r in row] for row in ordered] if has_classes else None,
        num_tokens=[[r.num_tokens for r in row] for row in ordered],
        finish_reasons=[[r.finish_reason for r in row] for row in ordered],
    )
