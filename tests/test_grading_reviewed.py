"""The grader against the reviewed verdicts of the SkyThought dev set (issue 16).

gemma-2-27b-it's 1,517 solutions to AIME24, AMC23, MATH-500, Minerva Math and OlympiadBench
(../shared/data/graded/skythought_dev/) are graded against the bundled tasks' golds, each with
its task's numeric policy. The truth of a sample is its reviewed verdict in
tests/fixtures/grading/skythought_dev_reviewed.jsonl, else the producer's label (the samples
where every grader agreed at review time); a null verdict (truth unclear) is left out. A
sample whose benchmark gold is wrong (``gold_error`` in the fixture: Minerva Math 154, 162,
165) is counted apart: no grader that compares with the gold can agree with the reader there,
and evalkit must follow the gold (it never corrects a benchmark). Every other sample where
evalkit still differs from the truth is listed in KNOWN_MISSES with the reason; any other
difference fails the test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SHARED_DATA

from evalkit.grading import Grader, GradeRequest
from evalkit.importers.matching import ProblemIndex, normalise_question
from evalkit.tasks import get_task

DEV = SHARED_DATA / "graded" / "skythought_dev"
REVIEWED = Path(__file__).parent / "fixtures" / "grading" / "skythought_dev_reviewed.jsonl"
TASKS = ("aime24", "amc23", "math500", "minerva_math", "olympiadbench")

# (task, problem id) -> why evalkit's verdict still differs from the reviewed one.
KNOWN_MISSES = {
    ("minerva_math", "180"): "the question asks for 3 decimals (7.353e14); the answer's 7.35e14 "
    "agrees at the 3 figures it states, and the grader does not see the question",
}

pytestmark = pytest.mark.skipif(
    not DEV.is_dir(), reason=f"the dev set is not in {DEV} (../shared/data is absent here)"
)


def _reviewed() -> list[dict]:
    return [json.loads(line) for line in REVIEWED.read_text(encoding="utf-8").splitlines()]


def _truth() -> dict[tuple[str, str], bool | None]:
    """The reviewed verdicts; None (left out) where the truth is unclear or the gold is wrong."""
    return {(row["task"], row["id"]): None if row.get("gold_error") else row["verdict"]
            for row in _reviewed()}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, dict[tuple[str, str], tuple[bool, bool | None]]]:
    """Per task: (task, problem id) -> (evalkit's verdict, the truth)."""
    truth = _truth()
    samples: list[tuple[str, str, GradeRequest, bool]] = []
    for name in TASKS:
        index = ProblemIndex(get_task(name))
        for line in (DEV / f"gemma-2-27b-it__{name}.jsonl").read_text().splitlines():
            row = json.loads(line)
            problem = index.by_text[normalise_question(row["question"])]
            request = GradeRequest(row["code"][0], problem.gold, problem.answer_kind, task=name)
            samples.append((name, problem.id, request, bool(row["score"][0])))
    with Grader(workers=2) as grader:
        grades = grader.grade([request for _, _, request, _ in samples])
    out: dict[str, dict[tuple[str, str], tuple[bool, bool | None]]] = {t: {} for t in TASKS}
    for (name, pid, _, label), grade in zip(samples, grades, strict=True):
        out[name][name, pid] = (grade.correct, truth.get((name, pid), label))
    return out


@pytest.mark.parametrize("task", TASKS)
def test_agreement_with_the_reviewed_verdicts(verdicts, task: str) -> None:
    clear = {key: pair for key, pair in verdicts[task].items() if pair[1] is not None}
    missed = {key for key, (ours, truth) in clear.items() if ours != truth}
    assert missed == {key for key in KNOWN_MISSES if key[0] == task}
    assert 1 - len(missed) / len(clear) >= 0.995


def test_overall_agreement(verdicts) -> None:
    clear = [pair for task in verdicts.values() for pair in task.values() if pair[1] is not None]
    agree = sum(ours == truth for ours, truth in clear)
    assert len(clear) == 1510 and agree / len(clear) >= 0.999


def test_a_wrong_gold_is_followed_not_corrected(verdicts) -> None:
    wrong_golds = [(row["task"], row["id"]) for row in _reviewed() if row.get("gold_error")]
    assert len(wrong_golds) == 3
    for task, pid in wrong_golds:
        ours, _ = verdicts[task][task, pid]
        assert ours is False, (task, pid)  # the answer differs from the gold as written
