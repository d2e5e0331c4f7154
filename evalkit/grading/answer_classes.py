"""Group each problem's extracted answers into equivalence classes, the ballots of maj@k.

Per problem: every correct sample is in class 0 (its answer equals the gold). The wrong answers
are grouped by closing the judge's "same answer" relation under equivalence: two answer strings
are in one class when a chain of judged-equal pairs links them (union-find over the pairs the
judge calls equal). A judge need not be transitive (math-verify may call 0.5 = 1/2 and
1/2 = 0.50 but not 0.5 = 0.50); the closure puts all three in one class whatever order the
samples came in, so the classes, and maj@k, depend only on the multiset of answers.

Identical strings are one answer. Two different plain integers are different without asking
the judge. Each other pair of distinct strings is judged once, as (smaller string, larger
string), unless the two are already linked; samples without an answer have no class (None).
Classes are numbered 1, 2, ... by decreasing votes, then by their smallest string.

All problems advance together: round r judges, for every problem, its r-th distinct string
against the later strings it is not yet linked to, and each round's pairs go to the grader's
worker pool as one batch.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

from evalkit.records import AnswerClass

SameAnswers = Callable[[list[tuple[str, str]]], list[bool]]

_INTEGER = re.compile(r"[+-]?\d+")
GOLD_CLASS = 0


class _Links:
    """Union-find over one problem's distinct answer strings (indices)."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def join(self, first: int, second: int) -> None:
        self.parent[self.find(first)] = self.find(second)


def answer_classes(
    answers: Sequence[Sequence[str | None]],
    correct: Sequence[Sequence[bool]],
    same_answers: SameAnswers,
) -> list[list[AnswerClass]]:
    """The answer class of every sample: rows of problems, like ``answers`` and ``correct``."""
    votes = [
        Counter(a for a, ok in zip(row, verdicts, strict=True) if a is not None and not ok)
        for row, verdicts in zip(answers, correct, strict=True)
    ]
    strings = [sorted(counts) for counts in votes]
    links = [_Links(len(row)) for row in strings]
    for first in range(max(map(len, strings), default=0)):
        pairs, owners = [], []
        for problem, row in enumerate(strings):
            for second in range(first + 1, len(row)):
                if links[problem].find(first) == links[problem].find(second):
                    continue
                if _distinct_integers(row[first], row[second]):
                    continue
                pairs.append((row[first], row[second]))
                owners.append((problem, second))
        for (problem, second), same in zip(owners, same_answers(pairs) if pairs else [],
                                           strict=True):
            if same:
                links[problem].join(first, second)
    labels = [_number_classes(row, counts, link)
              for row, counts, link in zip(strings, votes, links, strict=True)]
    return [
        [GOLD_CLASS if ok else None if a is None else label[a]
         for a, ok in zip(row, verdicts, strict=True)]
        for row, verdicts, label in zip(answers, correct, labels, strict=True)
    ]


def _number_classes(strings: list[str], votes: Counter, links: _Links) -> dict[str, int]:
    """Class numbers 1, 2, ... by decreasing votes, then by the class's smallest string."""
    members: dict[int, list[str]] = {}
    for index, string in enumerate(strings):
        members.setdefault(links.find(index), []).append(string)
    ranked = sorted(members.values(), key=lambda group: (-sum(votes[s] for s in group), group[0]))
    return {s: number for number, group in enumerate(ranked, GOLD_CLASS + 1) for s in group}


def _distinct_integers(first: str, second: str) -> bool:
    """True when both are plain integers of different value (never equal under math-verify)."""
    first, second = first.strip(), second.strip()
    return bool(_INTEGER.fullmatch(first) and _INTEGER.fullmatch(second)) and (
        int(first) != int(second)
    )
