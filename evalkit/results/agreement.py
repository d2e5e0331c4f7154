"""Agreement between evalkit's verdicts and another grader's, and the samples behind them.

An imported run keeps the producer's verdict of each sample (its *external label*) in
``grades/<stem>.external.jsonl`` beside the grades file, one line per sample in the same order:
``problem_id``, ``sample_index``, ``correct`` (true / false / null when the producer gave none)
and ``extracted`` (the producer's extracted answer, or null).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evalkit.errors import EvalkitError
from evalkit.results.document import load_results


@dataclass(frozen=True)
class Agreement:
    """How often two graders agree on the samples that both judged."""

    samples: int
    agree: int
    ours_correct_theirs_wrong: int
    ours_wrong_theirs_correct: int
    ours_correct: int
    theirs_correct: int
    # our status of each disagreeing sample, e.g. {"no_answer": 3, "wrong": 2, "correct": 4}
    disagreeing_statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return self.agree / self.samples if self.samples else None

    def to_json(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "agree": self.agree,
            "rate": self.rate,
            "ours_correct_theirs_wrong": self.ours_correct_theirs_wrong,
            "ours_wrong_theirs_correct": self.ours_wrong_theirs_correct,
            "ours_correct": self.ours_correct,
            "theirs_correct": self.theirs_correct,
            "disagreeing_statuses": self.disagreeing_statuses,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Agreement:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def tally(verdicts: Iterable[tuple[str, bool | None]]) -> Agreement:
    """Agreement over (our status, their verdict) pairs; samples without a verdict are skipped."""
    both = Counter()
    statuses: Counter[str] = Counter()
    for status, theirs in verdicts:
        if theirs is None:
            continue
        ours = status == "correct"
        both[ours, theirs] += 1
        if ours != theirs:
            statuses[status] += 1
    return Agreement(
        samples=sum(both.values()),
        agree=both[True, True] + both[False, False],
        ours_correct_theirs_wrong=both[True, False],
        ours_wrong_theirs_correct=both[False, True],
        ours_correct=both[True, True] + both[True, False],
        theirs_correct=both[True, True] + both[False, True],
        disagreeing_statuses=dict(sorted(statuses.items())),
    )


def combine(parts: Iterable[Agreement]) -> Agreement:
    """The agreement over several tasks together."""
    parts = list(parts)
    statuses: Counter[str] = Counter()
    for part in parts:
        statuses.update(part.disagreeing_statuses)
    return Agreement(
        samples=sum(p.samples for p in parts),
        agree=sum(p.agree for p in parts),
        ours_correct_theirs_wrong=sum(p.ours_correct_theirs_wrong for p in parts),
        ours_wrong_theirs_correct=sum(p.ours_wrong_theirs_correct for p in parts),
        ours_correct=sum(p.ours_correct for p in parts),
        theirs_correct=sum(p.theirs_correct for p in parts),
        disagreeing_statuses=dict(sorted(statuses.items())),
    )


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
    results = load_results(run_dir)
    tasks = results["tasks"]
    if task is not None and task not in tasks:
        raise EvalkitError(f"{run_dir} has no task {task!r}; it holds {', '.join(tasks)}")
    chosen: list[SampleView] = []
    for name, block in tasks.items():
        if task is not None and name != task:
            continue
        if disagree and not block.get("external_file"):
            raise EvalkitError(
                f"{name} of {run_dir} has no external labels: --disagree needs a run made by "
                "`evalkit import` from a file with verdicts (score, is_correct, exact_match, acc)"
            )
        picked = []
        for view in _views(run_dir, name, block):
            if (status is None or view.status == status) and (not disagree or view.disagrees):
                picked.append(view)
                if limit is not None and len(chosen) + len(picked) >= limit:
                    break
        chosen += _with_texts(run_dir / block["samples_file"], picked)
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


def _views(run_dir: Path, task: str, block: dict[str, Any]) -> Iterator[SampleView]:
    grades = _lines(run_dir / block["grades_file"])
    external_file = block.get("external_file")
    labels = _lines(run_dir / external_file) if external_file else None
    for grade in grades:
        theirs = next(labels) if labels is not None else {}
        if labels is not None and (theirs["problem_id"], theirs["sample_index"]) != (
            grade["problem_id"], grade["sample_index"]
        ):
            raise EvalkitError(
                f"{external_file} is out of step with {block['grades_file']}: "
                "import the source file again into a fresh folder"
            )
        yield SampleView(
            task=task,
            problem_id=grade["problem_id"],
            sample_index=grade["sample_index"],
            gold=grade["gold"],
            status=grade["status"],
            extracted=grade["extracted"],
            rule=grade["rule"],
            detail=grade["detail"],
            theirs_correct=theirs.get("correct"),
            theirs_extracted=theirs.get("extracted"),
        )


def _with_texts(samples_file: Path, views: list[SampleView]) -> list[SampleView]:
    """The views with their completion text, read from the sample store one line at a time."""
    wanted = {(v.problem_id, v.sample_index) for v in views}
    texts: dict[tuple[str, int], str] = {}
    for record in _lines(samples_file):
        key = (record["problem_id"], record["sample_index"])
        if key in wanted:
            texts[key] = record["text"]
    return [
replace(v, text=texts.get((v.problem_id, v.sample_index), "")) for v in views
    ]


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)
    except OSError as err:
        raise EvalkitError(f"cannot read {path} ({err.strerror}); is this a run folder?") from None
