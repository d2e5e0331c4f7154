"""The stored samples of a finished task, read back for regrading or re-scoring."""

from __future__ import annotations

from dataclasses import dataclass

from evalkit.errors import EvalkitError
from evalkit.records import Problem, SampleRecord
from evalkit.results.schema import TaskBlock
from evalkit.runfolder.folder import RunFolder
from evalkit.runfolder.grades import GradeRow


@dataclass(frozen=True)
class StoredTask:
    """A task's problems (gold from its grades), samples and previous grades."""

    problems: list[Problem]
    samples: list[list[SampleRecord]]
    grades: dict[tuple[str, int], GradeRow]


def read_stored_task(folder: RunFolder, block: TaskBlock) -> StoredTask:
    """Every sample the block scored, with its previous grade; one line if any is missing."""
    grades = {(r.problem_id, r.sample_index): r for r in folder.read_grades(block.grades_file)}
    store = folder.sample_store(block.samples_file)
    problems, samples = [], []
    for pid in block.problem_ids:
        missing = [i for i in range(block.n) if (pid, i) not in grades or (pid, i) not in store]
        if missing:
            raise EvalkitError(
                f"{block.task}: sample {pid}#{missing[0]} is missing from {block.samples_file} "
                f"or {block.grades_file}; rerun the command that made {folder.root} to "
                "complete it")
        problems.append(Problem(pid, "", grades[pid, 0].gold, block.answer_kind))
        samples.append([store.get(pid, i) for i in range(block.n)])
    return StoredTask(problems, samples, grades)
