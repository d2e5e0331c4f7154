"""Filter step: keep the solutions whose final answer agrees with their problem's label.

The label is the one the vote step settled on (the dataset's, or the vote winner that replaced
it). Rules, applied in this order, each counting the solutions it drops:

``truncated``             the teacher hit its token limit (or never closed ``<think>``);
                          ``filter.drop_truncated: false`` lets these through to the next rules
``no_answer``             no final answer can be extracted
``disagrees_with_label``  the answer is not equal to the label (math-verify, via the Grader)
``grading_failed``        the judge timed out or failed on this answer
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalkit.grading import Grader, GradeRequest
from evalkit.grading.extract import unclosed_think
from evalkit.records import Problem, SampleRecord

from .recipe import FilterSettings
from .tally import Tally
from .vote import POOLED, Vote

RULES = ("truncated", "no_answer", "disagrees_with_label", "grading_failed")
_RULE_OF_STATUS = {
    "no_answer": "no_answer",
    "truncated": "no_answer",  # a truncated solution let through, without an answer
    "wrong": "disagrees_with_label",
    "timeout": "grading_failed",
    "error": "grading_failed",
}


def filter_tally() -> Tally:
    """Where each solution went: dropped by a rule, or kept."""
    return Tally((*RULES, "kept"), total="solutions")


def is_truncated(record: SampleRecord) -> bool:
    return record.finish_reason == "length" or unclosed_think(record.text)


def filter_solutions(
    problems: Sequence[Problem],
    solutions: dict[str, Sequence[SampleRecord]],
    votes: dict[tuple[str, str], Vote],
    settings: FilterSettings,
    grader: Grader,
    tally: Tally,
) -> list[dict[str, Any]]:
    """The kept solutions, as rows for kept.jsonl; every solution is counted in ``tally``.

    ``votes`` maps (problem id, mode) to the problem's vote in that mode, or to its vote over
    all modes (mode ``"all"``) when the vote pooled them.
    """
    kinds = {p.id: p.answer_kind for p in problems}
    candidates: list[tuple[str, SampleRecord, Vote]] = []
    for mode, records in solutions.items():
        for record in records:
            if settings.drop_truncated and is_truncated(record):
                tally.add(mode, "truncated")
                continue
            vote = votes.get((record.problem_id, mode)) or votes[(record.problem_id, POOLED)]
            candidates.append((mode, record, vote))
    grades = grader.grade([
        GradeRequest(record.text, vote.label, kinds[record.problem_id], record.finish_reason)
        for _, record, vote in candidates
    ])
    kept = []
    for (mode, record, vote), grade in zip(candidates, grades, strict=True):
        if grade.status != "correct":
            tally.add(mode, _RULE_OF_STATUS[grade.status])
            continue
        tally.add(mode, "kept")
        kept.append({
            "problem_id": record.problem_id, "mode": mode, "sample_index": record.sample_index,
            "label": vote.label, "label_source": vote.label_source, "answer": grade.extracted,
            "num_tokens": record.num_tokens, "finish_reason": record.finish_reason,
            "text": record.text,
        })
    return kept
