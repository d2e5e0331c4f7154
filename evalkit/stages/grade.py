"""The grade stage: everything about a task's samples that needs the grader or a tokenizer.

Per sample: the verdict (extract + judge in the killable pool) and its answer class within its
problem (the ballots of maj@k); per budget, the verdict of every sample cut at that many tokens
(decoded and graded again: see :mod:`evalkit.statistics.budget`). Samples whose grading key
(see :mod:`evalkit.runfolder.grades`) matches a previous grade keep it, with its class: a rerun
grades only what changed, and decodes nothing unless it draws a budget curve.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.grading import Grader, GradeRequest
from evalkit.grading.answer_classes import answer_classes
from evalkit.records import Grade, Problem, SampleRecord
from evalkit.runfolder.grades import GradeRow

Progress = Callable[[int], None]
Decode = Callable[[list[int]], str]


@dataclass(frozen=True)
class GradedTask:
    """A task's samples with their grade rows, rows of problems in problem order."""

    problems: list[Problem]
    samples: list[list[SampleRecord]]
    rows: list[list[GradeRow]]
    at_budget: dict[int, list[list[bool]]]  # budget -> verdict of each sample cut there
    unchanged: bool = False  # every grade and class is the previous one: nothing was judged

    @property
    def correct(self) -> list[list[bool]]:
        return [[row.status == "correct" for row in problem] for problem in self.rows]

    @property
    def classes(self) -> list[list[int | None]]:
        return [[row.answer_class for row in problem] for problem in self.rows]


def grading_key(grader_id: str, problem: Problem, sample: SampleRecord) -> str:
    """What a sample's grade depends on, hashed (see :mod:`evalkit.runfolder.grades`)."""
    payload = json.dumps([grader_id, problem.gold, problem.answer_kind, sample.text,
                          sample.finish_reason, sample.token_ids], ensure_ascii=True)
    return hashlib.sha256(payload.encode("ascii")).hexdigest()[:24]


def grader_identity(grader: Grader) -> str:
    """The grader's version and policies as one string (timeouts aside)."""
    info = {k: v for k, v in grader.info().items() if k != "timeout_s"}
    return json.dumps(info, sort_keys=True)


def grade_samples(
    items: Sequence[tuple[Problem, SampleRecord]],
    grader: Grader,
    *,
    task: str = "",
    grader_id: str | None = None,
    previous: dict[tuple[str, int], GradeRow] | None = None,
    progress: Progress | None = None,
) -> list[GradeRow]:
    """The grade row of each (problem, sample) of ``task``, answer classes not yet set: a
    previous row whose key matches is reused as it is, the others are judged now. Works a chunk
    at a time."""
    previous = previous or {}
    grader_id = grader_id or grader_identity(grader)
    keys = [grading_key(grader_id, problem, sample) for problem, sample in items]
    rows: list[GradeRow | None] = []
    todo = []
    for index, ((problem, sample), key) in enumerate(zip(items, keys, strict=True)):
        old = previous.get((problem.id, sample.sample_index))
        rows.append(old if old is not None and old.key == key else None)
        if rows[-1] is None:
            todo.append(index)
    if progress and len(todo) < len(items):
        progress(len(items) - len(todo))
    requests = [GradeRequest(items[i][1].text, items[i][0].gold, items[i][0].answer_kind,
                             items[i][1].finish_reason, task) for i in todo]
    for index, grade in zip(todo, grader.grade(requests, progress=progress), strict=True):
        problem, sample = items[index]
        rows[index] = _row(problem, sample, grade, keys[index])
    return rows  # type: ignore[return-value]


def grade_task(
    problems: Sequence[Problem],
    samples: Sequence[Sequence[SampleRecord]],
    grader: Grader,
    *,
    task: str = "",
    decode: Decode | None = None,
    budgets: Sequence[int] = (),
    previous: dict[tuple[str, int], GradeRow] | None = None,
    progress: Progress | None = None,
) -> GradedTask:
    """Grade every sample of ``task`` (``samples`` holds a row per problem), reusing
    ``previous`` grades whose key matches, then class the answers and grade the budgets.
    ``decode`` turns token ids into text (answer positions, budgets); without it none are
    computed."""
    previous = previous or {}
    items = [(p, s) for p, row in zip(problems, samples, strict=True) for s in row]
    flat = iter(grade_samples(items, grader, task=task, previous=previous, progress=progress))
    rows = [[next(flat) for _ in row] for row in samples]
    rows = add_classes(problems, rows, grader, previous)
    unchanged = len(previous) == len(items) and all(
        previous.get((r.problem_id, r.sample_index)) is r for row in rows for r in row)
    graded = GradedTask(list(problems), [list(r) for r in samples], rows, {}, unchanged)
    return grade_budgets(graded, budgets, decode, grader, task) if budgets else graded


def grade_budgets(graded: GradedTask, budgets: Sequence[int], decode: Decode | None,
                  grader: Grader, task: str = "") -> GradedTask:
    """The task with, per budget, the verdict of every sample cut at that many tokens: a
    sample that stopped within the budget keeps its grade, any other is decoded cut and graded
    again."""
    problems, samples, rows = graded.problems, graded.samples, graded.rows
    if decode is None:
        raise EvalkitError("budget curves decode token ids, and this run has no tokenizer")
    table = {b: [[r.status == "correct" for r in row] for row in rows] for b in budgets}
    requests, places = [], []
    for budget in budgets:
        for i, (problem, row) in enumerate(zip(problems, samples, strict=True)):
            for j, sample in enumerate(row):
                if budget >= sample.num_tokens:
                    continue
                if sample.token_ids is None:
                    raise EvalkitError(
                        "budget curves need the generated token ids, and this engine did not "
                        "store them; rerun with --engine hf or without --budgets")
                text = decode(sample.token_ids[:budget])
                requests.append(
                    GradeRequest(text, problem.gold, problem.answer_kind, "length", task))
                places.append((budget, i, j))
    for (budget, i, j), grade in zip(places, grader.grade(requests), strict=True):
        table[budget][i][j] = grade.correct
    return replace(graded, at_budget=table)


def add_classes(problems: Sequence[Problem], rows: list[list[GradeRow]], grader: Grader,
                previous: dict[tuple[str, int], GradeRow] | None = None
                ) -> list[list[GradeRow]]:
    """Set the answer class of every row. A problem whose rows are all ``previous`` rows, and
    exactly those, keeps its classes (classes depend on the whole row of a problem)."""
    previous = previous or {}
    stored = Counter(pid for pid, _ in previous)
    redo = [
        i for i, (problem, row) in enumerate(zip(problems, rows, strict=True))
        if stored[problem.id] != len(row)
        or any(previous.get((r.problem_id, r.sample_index)) is not r for r in row)
        or any(r.answer_class is None and r.extracted is not None for r in row)
    ]
    rows = list(rows)
    by_kind: dict[str, list[int]] = {}
    for i in redo:
        by_kind.setdefault(problems[i].answer_kind, []).append(i)
    for kind, indices in by_kind.items():
        classes = answer_classes(
            [[r.extracted for r in rows[i]] for i in indices],
            [[r.status == "correct" for r in rows[i]] for i in indices],
            lambda pairs, kind=kind: grader.same_answers(pairs, kind),
        )
        for i, labels in zip(indices, classes, strict=True):
            rows[i] = [replace(r, answer_class=c) for r, c in zip(rows[i], labels, strict=True)]
    return rows


def _row(problem: Problem, sample: SampleRecord, grade: Grade, key: str) -> GradeRow:
    return GradeRow(
        problem_id=problem.id, sample_index=sample.sample_index, gold=problem.gold,
        status=grade.status, extracted=grade.extracted, rule=grade.rule, detail=grade.detail,
        num_tokens=sample.num_tokens, finish_reason=sample.finish_reason, key=key,
    )


def tokenizer_decoder(tokenizer_or_path: Any) -> Decode:
    """decode(ids) as the engines do (special tokens skipped); a path loads its tokenizer once,
    on first use, so a run that decodes nothing never imports transformers."""
    loaded: list[Any] = [] if isinstance(tokenizer_or_path, str) else [tokenizer_or_path]

    def decode(ids: list[int]) -> str:
        if not loaded:
            from transformers import AutoTokenizer

            loaded.append(AutoTokenizer.from_pretrained(tokenizer_or_path))
        return loaded[0].decode(ids, skip_special_tokens=True)

    return decode
