"""Vote step: majority vote over the teacher's final answers, and the label each problem keeps.

Every solution's final answer is extracted with the evalkit grader's rules; solutions without
one abstain but still count in the share (as ReasonLite's "none" answers do). Distinct answer
strings, most frequent first (ties: first seen), join the first group whose representative
they equal by math-verify (the grader's `same_answers`), else found a new group, so "1/2" and "0.5"
vote together and the outcome is deterministic.

The winner replaces the dataset label only when it holds ``min_share`` of all solutions and at
least ``min_votes`` votes: 0.9 and 4 in ReasonLite's code
(AMD-AGI/ReasonLite@c44cb21ae9da87c554066aa17899dcc392775d68:utils/prompt_func.py#L58-L61);
its README says only that pseudo-labels come from majority voting (README.md#L65 there). A tie
for first place never replaces the label. Outcomes (``decision``):

``confirmed``      the vote passes and the winner equals the dataset label (which is kept)
``replaced``       the vote passes and the winner differs: the winner becomes the label
``tie``            two groups share the most votes
``below_share``    the winner's share is under ``min_share``
``too_few_votes``  the winner has fewer than ``min_votes`` votes
``no_answers``     no solution has a final answer
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from evalkit.grading import Grader, extract_answer
from evalkit.records import Problem, SampleRecord

from .recipe import VoteSettings

DECISIONS = ("confirmed", "replaced", "tie", "below_share", "too_few_votes", "no_answers")
POOLED = "all"  # the mode name of a vote over all modes together
PASSED = "passed"  # transient: a vote that passed the thresholds, before settle()


@dataclass
class AnswerGroup:
    """Equivalent answers: the representative (most frequent form), its forms and votes."""

    answer: str
    forms: list[str]
    votes: int


@dataclass
class Vote:
    """The vote over one problem's solutions in one mode (or all modes: ``mode == "all"``)."""

    problem_id: str
    mode: str
    gold: str
    label: str
    label_source: str  # "dataset" or "vote"
    decision: str  # one of DECISIONS
    total: int  # solutions in the vote, abstentions included
    winner: str | None = None
    winner_votes: int = 0
    share: float = 0.0
    groups: list[AnswerGroup] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Vote:
        groups = [AnswerGroup(**group) for group in data["groups"]]
        return cls(**{**data, "groups": groups})


@dataclass
class Ballot:
    """The answers cast in one vote, in solution order (None: no final answer)."""

    problem: Problem
    mode: str
    answers: list[str | None]

    def forms(self) -> list[str]:
        """Distinct answers, most frequent first, ties in order of first appearance."""
        counts = Counter(a for a in self.answers if a is not None)
        return sorted(counts, key=lambda form: -counts[form])


def make_ballots(
    problems: Sequence[Problem],
    solutions: dict[str, Sequence[SampleRecord]],
    pool_modes: bool,
) -> list[Ballot]:
    """One ballot per (problem, mode), or per problem over all modes when ``pool_modes``."""
    answers: dict[tuple[str, str], list[str | None]] = {}
    kinds = {p.id: p.answer_kind for p in problems}
    for mode, records in solutions.items():
        for record in records:
            answer, _ = extract_answer(record.text, kinds[record.problem_id])
            key = (record.problem_id, POOLED if pool_modes else mode)
            answers.setdefault(key, []).append(answer)
    modes = [POOLED] if pool_modes else list(solutions)
    return [
        Ballot(problem, mode, answers[(problem.id, mode)])
        for problem in problems
        for mode in modes
        if (problem.id, mode) in answers
    ]


def group_answers(
    forms: list[str], counts: Counter, equal: Callable[[str, str], bool]
) -> list[AnswerGroup]:
    """Join each form to the first group whose representative it equals; most votes first."""
    groups: list[AnswerGroup] = []
    for form in forms:
        group = next((g for g in groups if equal(g.answer, form)), None)
        if group is None:
            groups.append(AnswerGroup(form, [form], counts[form]))
        else:
            group.forms.append(form)
            group.votes += counts[form]
    return sorted(groups, key=lambda g: -g.votes)


def decide(ballot: Ballot, groups: list[AnswerGroup], settings: VoteSettings) -> Vote:
    """The vote's outcome; a vote that passes the thresholds is left ``PASSED`` for
    :func:`settle`, which compares its winner with the dataset label."""
    gold = ballot.problem.gold
    vote = Vote(ballot.problem.id, ballot.mode, gold, gold, "dataset", "no_answers",
                total=len(ballot.answers), groups=groups)
    if not groups:
        return vote
    top = groups[0]
    vote.winner, vote.winner_votes = top.answer, top.votes
    vote.share = top.votes / vote.total
    if len(groups) > 1 and groups[1].votes == top.votes:
        vote.decision = "tie"
    elif vote.share < settings.min_share:
        vote.decision = "below_share"
    elif top.votes < settings.min_votes:
        vote.decision = "too_few_votes"
    else:
        vote.decision = PASSED
    return vote


def settle(vote: Vote, winner_is_gold: bool) -> None:
    """A passed vote keeps an equal dataset label, or replaces it with the winner."""
    if winner_is_gold:
        vote.decision = "confirmed"
    else:
        assert vote.winner is not None
        vote.decision, vote.label, vote.label_source = "replaced", vote.winner, "vote"


def run_votes(ballots: Sequence[Ballot], settings: VoteSettings, judge: Grader) -> list[Vote]:
    """Vote on every ballot. The answer pairs of all ballots are judged in one batch, and
    the winners of passed votes against their dataset labels in a second."""
    forms = [ballot.forms() for ballot in ballots]
    pairs: dict[str, list[tuple[str, str]]] = {}
    for ballot, listed in zip(ballots, forms, strict=True):
        pairs.setdefault(ballot.problem.answer_kind, []).extend(
            (reference, candidate)
            for i, candidate in enumerate(listed)
            for reference in listed[:i]
        )
    equal = {
        (kind, *pair): verdict
        for kind, listed in pairs.items()
        for pair, verdict in zip(listed, judge.same_answers(listed, kind), strict=True)
    }
    votes = []
    for ballot, listed in zip(ballots, forms, strict=True):
        kind = ballot.problem.answer_kind
        counts = Counter(a for a in ballot.answers if a is not None)
        groups = group_answers(listed, counts, lambda a, b, kind=kind: equal[(kind, a, b)])
        votes.append(decide(ballot, groups, settings))
    passed: dict[str, list[Vote]] = {}
    for ballot, vote in zip(ballots, votes, strict=True):
        if vote.decision == PASSED:
            passed.setdefault(ballot.problem.answer_kind, []).append(vote)
    for kind, listed in passed.items():
        verdicts = judge.same_answers([(v.gold, v.winner or "") for v in listed], kind)
        for vote, winner_is_gold in zip(listed, verdicts, strict=True):
            settle(vote, winner_is_gold)
    return votes
