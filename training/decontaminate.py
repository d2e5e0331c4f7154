"""Decontamination: does a training pool overlap the bundled evaluation tasks?

Every pool item (a problem, and the solution the recipe trains on, if any) is checked against the
problem text of every bundled evaluation task (``evalkit.tasks.list_tasks()``):

- ``exact``: the item's normalised problem equals a task problem's normalised text;
- ``ngram``: the item's problem or solution shares a word ``n``-gram (13 by default, the n-gram
  of GPT-3's contamination study, Brown et al. 2020, appendix C) with a task problem.

Normalisation: Unicode NFKC, lower case, every run of characters other than letters and digits
becomes one space. A task problem shorter than ``n`` words can only be matched exactly.

The report (:class:`ContaminationReport`) counts, per task, the pool items that overlap it and the
task problems they hit, and lists every overlap with one shared n-gram as evidence.
:func:`guard_pool` is what a recipe runs before training: it writes the report and refuses a
contaminated pool unless the recipe says ``drop`` (train without those items) or ``allow``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.tasks import Task, list_tasks

NGRAM = 13
ON_OVERLAP = ("refuse", "drop", "allow")
_NON_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """Lower-cased NFKC text with every run of non-alphanumeric characters as one space."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_NON_WORD.sub(" ", folded).split())


def word_ngrams(normalised: str, n: int) -> set[str]:
    """The word n-grams of normalised text (none when it has fewer than n words)."""
    words = normalised.split()
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


@dataclass(frozen=True)
class PoolItem:
    """One training example: its id, its problem text and the solution trained on (if any)."""

    id: str
    problem: str
    solution: str | None = None


@dataclass(frozen=True)
class Overlap:
    """One pool item's overlap with one task problem."""

    item: str
    task: str
    problem_id: str
    kind: str  # "exact" or "ngram"
    field: str  # "problem" or "solution"
    evidence: str  # the shared normalised text (an n-gram, or the whole problem)


@dataclass(frozen=True)
class DecontaminationSettings:
    """What a recipe does about a pool that overlaps the evaluation tasks."""

    on_overlap: str = "refuse"  # refuse | drop (train without those items) | allow
    ngram: int = NGRAM

    def __post_init__(self) -> None:
        if self.on_overlap not in ON_OVERLAP:
            raise EvalkitError(
                f"decontamination.on_overlap must be one of {', '.join(ON_OVERLAP)}, "
                f"got {self.on_overlap!r}"
            )
        if self.ngram < 1:
            raise EvalkitError("decontamination.ngram must be a positive number of words")


class EvalIndex:
    """The normalised problems of the evaluation tasks and their n-grams, for lookups."""

    def __init__(self, tasks: Sequence[Task] | None = None, n: int = NGRAM) -> None:
        self.n = n
        self.tasks: dict[str, int] = {}
        self.texts: list[tuple[str, str, str]] = []  # (task, problem id, normalised text)
        self.exact: dict[str, list[int]] = {}
        self.grams: dict[int, list[int]] = {}  # hash of an n-gram -> problems that hold it
        for task in tasks if tasks is not None else list_tasks():
            problems = task.load()
            self.tasks[task.name] = len(problems)
            for problem in problems:
                index = len(self.texts)
                text = normalise(problem.question)
                self.texts.append((task.name, problem.id, text))
                self.exact.setdefault(text, []).append(index)
                for gram in word_ngrams(text, n):
                    self.grams.setdefault(hash(gram), []).append(index)

    def overlaps(self, item: PoolItem) -> list[Overlap]:
        """Every task problem the item overlaps, once per (problem, kind, field)."""
        found: dict[tuple[int, str, str], str] = {}
        problem = normalise(item.problem)
        for index in self.exact.get(problem, ()):
            found[(index, "exact", "problem")] = problem
        for name, text in (("problem", problem), ("solution", normalise(item.solution or ""))):
            for gram in sorted(word_ngrams(text, self.n)):
                for index in self.grams.get(hash(gram), ()):
                    # a hash match is confirmed on the text, so a collision never counts
                    if (index, "ngram", name) not in found and _holds(self.texts[index][2], gram):
                        found[(index, "ngram", name)] = gram
        return [
            Overlap(item.id, self.texts[index][0], self.texts[index][1], kind, where, evidence)
            for (index, kind, where), evidence in sorted(found.items())
        ]


@lru_cache(maxsize=2)
def evaluation_index(n: int = NGRAM) -> EvalIndex:
    """The index of every bundled task, built once per process for each n."""
    return EvalIndex(n=n)


def _holds(text: str, gram: str) -> bool:
    return f" {gram} " in f" {text} "


@dataclass
class ContaminationReport:
    """What a pool shares with each evaluation task."""

    pool: str
    items: int
    ngram: int
    tasks: dict[str, dict[str, int]]
    overlaps: list[Overlap] = field(default_factory=list)

    @property
    def contaminated(self) -> list[str]:
        """Ids of the pool items that overlap any task, in pool order."""
        return list(dict.fromkeys(o.item for o in self.overlaps))

    def to_json(self) -> dict[str, Any]:
        return {
            "pool": self.pool,
            "items": self.items,
            "ngram": self.ngram,
            "normalisation": "NFKC, lower case, non-alphanumeric runs -> one space",
            "contaminated_items": len(self.contaminated),
            "tasks": self.tasks,
            "contaminated": self.contaminated,
            "overlaps": [asdict(o) for o in self.overlaps],
        }

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n")
        return path

    def summary(self) -> str:
        """One line: how many items overlap, and with which tasks."""
        hit = [f"{task} {c['items']}" for task, c in self.tasks.items() if c["items"]]
        where = f" ({', '.join(hit)})" if hit else ""
        return f"{len(self.contaminated)} of {self.items} items of {self.pool} overlap{where}"


def check_pool(
    items: Iterable[PoolItem], index: EvalIndex | None = None, name: str = "pool"
) -> ContaminationReport:
    """Check every item against the index (default: every bundled task, 13-grams)."""
    index = index or evaluation_index()
    overlaps: list[Overlap] = []
    count = 0
    for item in items:
        count += 1
        overlaps.extend(index.overlaps(item))
    tasks = {}
    for task, problems in index.tasks.items():
        mine = [o for o in overlaps if o.task == task]

        def items(kind: str, where: str, mine: list[Overlap] = mine) -> int:
            return len({o.item for o in mine if (o.kind, o.field) == (kind, where)})

        tasks[task] = {
            "problems": problems,
            "items": len({o.item for o in mine}),
            "exact": items("exact", "problem"),
            "ngram_problem": items("ngram", "problem"),
            "ngram_solution": items("ngram", "solution"),
            "task_problems_hit": len({o.problem_id for o in mine}),
        }
    return ContaminationReport(name, count, index.n, tasks, overlaps)


def guard_pool(
    items: Iterable[PoolItem], settings: DecontaminationSettings, report_path: Path, name: str
) -> set[str]:
    """Write the pool's report; refuse a contaminated pool unless the settings say otherwise.

    Returns the ids to leave out of training (``drop``), else an empty set.
    """
    report = check_pool(items, evaluation_index(settings.ngram), name)
    report.write(report_path)
    if not report.contaminated or settings.on_overlap == "allow":
        return set()
    if settings.on_overlap == "refuse":
        raise EvalkitError(
            f"{report.summary()} with bundled evaluation tasks (report: {report_path}): set "
            "decontamination.on_overlap=drop to train without them, or =allow to train on them"
        )
    return set(report.contaminated)
