"""`evalkit inspect`: graded samples side by side (problem, gold, verdicts, end of completion)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evalkit.errors import EvalkitError
from evalkit.results.schema import TaskBlock
from evalkit.runfolder.folder import RunFolder


@dataclass(frozen=True)
class SampleView:
    """One graded sample as `evalkit inspect` shows it."""

    task: str
    problem_id: str
    sample_index: int
    gold: str
    status: str
    extracted: str | None
    rule: str | None
    detail: str | None
    theirs_correct: bool | None = None
    theirs_extracted: str | None = None
    text: str = ""

    @property
    def disagrees(self) -> bool:
        return self.theirs_correct is not None and self.theirs_correct != (
            self.status == "correct"
        )


def read_samples(
    run_dir: Path,
    task: str | None = None,
    status: str | None = None,
    disagree: bool = False,
    limit: int | None = None,
) -> list[SampleView]:
    """The graded samples of a run folder that pass the filters, with their text, in grades
    order; ``disagree`` keeps those where the external label and our verdict differ."""
    folder = RunFolder.reading(run_dir)
    tasks = folder.read_results().tasks
    if task is not None and task not in tasks:
        raise EvalkitError(f"{run_dir} has no task {task!r}; it holds {', '.join(tasks)}")
    chosen: list[SampleView] = []
    for name, block in tasks.items():
        if task is not None and name != task:
            continue
        if disagree and not block.external_file:
            raise EvalkitError(
                f"{name} of {run_dir} has no external labels: --disagree needs a run made by "
                "`evalkit import` from a file with verdicts (score, is_correct, exact_match, acc)"
            )
        picked = []
        for view in _views(folder, name, block):
            if (status is None or view.status == status) and (not disagree or view.disagrees):
                picked.append(view)
                if limit is not None and len(chosen) + len(picked) >= limit:
                    break
        chosen += _with_texts(folder, block.samples_file, picked)
        if limit is not None and len(chosen) >= limit:
            break
    return chosen


def render_samples(views: list[SampleView], console: Console, tail_chars: int = 160) -> None:
    """A table of samples: problem, gold, the producer's verdict (if any), ours, and the end of
    the completion."""
    theirs = any(v.theirs_correct is not None or v.theirs_extracted for v in views)
    table = Table(show_lines=True)
    for column in ("task", "problem", "#", "gold", *(["theirs"] if theirs else []), "ours",
                   "end of completion"):
        table.add_column(column, overflow="fold")
    for v in views:
        mark = {True: "correct", False: "wrong", None: "no verdict"}[v.theirs_correct]
        ours = f"{v.extracted if v.extracted is not None else '-'} ({v.status}"
        ours += f", {v.rule})" if v.rule else (f": {v.detail})" if v.detail else ")")
        end = v.text[-tail_chars:].replace("\n", " / ")
        cells = [
            v.task, v.problem_id, str(v.sample_index), v.gold,
            *([f"{v.theirs_extracted if v.theirs_extracted is not None else '-'} ({mark})"]
              if theirs else []),
            ours, ("..." if len(v.text) > tail_chars else "") + end,
        ]
        table.add_row(*(Text(cell) for cell in cells))  # Text: no markup in model output
    console.print(table)


def _views(folder: RunFolder, task: str, block: TaskBlock) -> Iterator[SampleView]:
    labels = folder.read_external(block.external_file) if block.external_file else None
    for grade in folder.read_grades(block.grades_file):
        theirs = next(labels, None) if labels is not None else None
        if labels is not None and (theirs is None or (theirs.problem_id, theirs.sample_index) != (
            grade.problem_id, grade.sample_index
        )):
            raise EvalkitError(
                f"{block.external_file} is out of step with {block.grades_file}: "
                "import the source file again into a fresh folder"
            )
        yield SampleView(
            task=task, problem_id=grade.problem_id, sample_index=grade.sample_index,
            gold=grade.gold, status=grade.status, extracted=grade.extracted, rule=grade.rule,
            detail=grade.detail,
            theirs_correct=theirs.correct if theirs else None,
            theirs_extracted=theirs.extracted if theirs else None,
        )


def _with_texts(folder: RunFolder, samples_file: str, views: list[SampleView]
                ) -> list[SampleView]:
    """The views with their completion text from the sample store."""
    if not views:
        return views
    store = folder.sample_store(samples_file)
    return [
        replace(v, text=store.records[v.problem_id, v.sample_index].text
                if (v.problem_id, v.sample_index) in store else "")
        for v in views
    ]
