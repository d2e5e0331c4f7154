"""Agreement between evalkit's verdicts and another grader's (an imported run's producer).

An imported run keeps the producer's verdict of each sample (its *external label*) in
``grades/<stem>.external.jsonl`` beside the grades file (see :mod:`evalkit.runfolder.grades`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


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
