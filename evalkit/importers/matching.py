"""Which task and problem a source row is: by normalised question text, else by problem id.

A row with question text is matched by that text only (an id from another tool's numbering
could point at a different problem); a row without text is matched by id. Nothing is guessed:
a row that matches no problem is reported as unmatched.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence

from evalkit.errors import EvalkitError
from evalkit.importers.rows import ExternalRow
from evalkit.records import Problem
from evalkit.tasks import Task, get_task, list_tasks


def normalise_question(text: str) -> str:
    """NFKC, whitespace runs collapsed to one space, case folded."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


class ProblemIndex:
    """A task's problems by normalised question text and by id (the first of duplicates)."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.problems = task.load()
        self.by_id = {p.id: p for p in self.problems}
        self.by_text: dict[str, Problem] = {}
        for problem in self.problems:
            self.by_text.setdefault(normalise_question(problem.question), problem)

    def match(self, row: ExternalRow) -> Problem | None:
        if row.task is not None and row.task != self.task.name:
            return None
        if row.question is not None:
            return self.by_text.get(normalise_question(row.question))
        return self.by_id.get(row.source_id) if row.source_id is not None else None


def choose_task(rows: Sequence[ExternalRow], where: str) -> Task:
    """The bundled task the first rows of a file come from: the one whose questions (or the
    task names rows carry) they match most; ambiguity and no match are errors naming --task."""
    named = Counter(row.task for row in rows if row.task is not None)
    if named:
        return get_task(named.most_common(1)[0][0])
    texts = {normalise_question(row.question) for row in rows if row.question is not None}
    if not texts:
        raise EvalkitError(
            f"{where} names its problems by id only: pass --task with the task they come from"
        )
    hits = Counter()
    for task in list_tasks():
        hits[task.name] = sum(normalise_question(p.question) in texts for p in task.load())
    ranked = hits.most_common()
    best, count = ranked[0]
    if count == 0:
        raise EvalkitError(
            f"no question of the first {len(rows)} rows of {where} is in a bundled task: pass "
            "--task with the task's name, or a task file of your problems (path/to/task.jsonl)"
        )
    tied = [name for name, c in ranked if c == count]
    if len(tied) > 1:
        raise EvalkitError(
            f"the rows of {where} match {' and '.join(tied)} equally ({count} questions each): "
            "pass --task to say which one they come from"
        )
    return get_task(best)
