"""Group each problem's extracted answers into equivalence classes, the ballots of maj@k.

Per problem: every correct sample is in class 0 (its answer equals the gold). The other
extracted answers are grouped greedily: distinct answer strings are ordered by how many samples
gave them (then by the string), the first ungrouped one opens a new class, and every ungrouped
string that math-verify judges equal to it joins it. Since the order depends only on the
multiset of answers, the classes do not depend on sample order. Two different plain integers
are different without asking math-verify. Samples without an answer have no class (None).

All problems advance together, one class per problem per round, so each round's judgements go
to the grader's worker pool as one batch.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

from evalkit.records import AnswerClass

SameAnswers = Callable[[list[tuple[str, str]]], list[bool]]

_INTEGER = re.compile(r"[+-]?\d+")
GOLD_CLASS = 0


def answer_classes(
    answers: Sequence[Sequence[str | None]],
    correct: Sequence[Sequence[bool]],
    same_answers: SameAnswers,
) -> list[list[AnswerClass]]:
    """The answer class of every sample: rows of problems, like ``answers`` and ``correct``."""
    pending: list[list[str]] = []
    for row, verdicts in zip(answers, correct, strict=True):
        counts = Counter(a for a, ok in zip(row, verdicts, strict=True) if a is not None and not ok)
        pending.append(sorted(counts, key=lambda a: (-counts[a], a)))
    label: list[dict[str, int]] = [{} for _ in answers]
    next_class = [GOLD_CLASS + 1] * len(answers)
    while any(pending):
        pairs, owners = [], []
        for problem, strings in enumerate(pending):
            if not strings:
                continue
            head, rest = strings[0], strings[1:]
            label[problem][head] = next_class[problem]
            for other in rest:
                if not _distinct_integers(head, other):
                    pairs.append((head, other))
                    owners.append((problem, other))
        joined = set()
        for (problem, other), same in zip(owners, same_answers(pairs), strict=True):
            if same:
                label[problem][other] = next_class[problem]
                joined.add((problem, other))
        for problem, strings in enumerate(pending):
            if strings:
                pending[problem] = [s for s in strings[1:] if (problem, s) not in joined]
                next_class[problem] += 1
    return [
        [GOLD_CLASS if ok else None if a is None else label[p][a]
         for a, ok in zip(row, verdicts, strict=True)]
        for p, (row, verdicts) in enumerate(zip(answers, correct, strict=True))
    ]


def _distinct_integers(first: str, second: str) -> bool:
    """True when both are plain integers of different value (never equal under math-verify)."""
    first, second = first.strip(), second.strip()
    return bool(_INTEGER.fullmatch(first) and _INTEGER.fullmatch(second)) and (
        int(first) != int(second)
    )
