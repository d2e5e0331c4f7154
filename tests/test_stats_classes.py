"""Answer equivalence classes for maj@k: grouping rules, order independence, the grader's judge."""

from fractions import Fraction

import numpy as np
import pytest

from evalkit.grading import Grader
from evalkit.grading.answer_classes import GOLD_CLASS, answer_classes
from evalkit.statistics.estimators import problem_scores


class FractionJudge:
    """Equal when both parse to the same fraction; records every pair it is asked about."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def __call__(self, pairs: list[tuple[str, str]]) -> list[bool]:
        self.asked += pairs
        return [Fraction(a) == Fraction(b) for a, b in pairs]


def test_correct_samples_share_the_gold_class_and_equal_answers_vote_together():
    judge = FractionJudge()
    answers = [["1/2", "0.5", "3", "2/4", None, "7", "14/2"]]
    correct = [[False, False, True, False, False, False, False]]
    (row,) = answer_classes(answers, correct, judge)
    assert row[2] == GOLD_CLASS and row[4] is None
    assert row[0] == row[1] == row[3] != GOLD_CLASS
    assert row[5] == row[6] not in (GOLD_CLASS, row[0])


def test_different_integers_are_never_sent_to_the_judge():
    judge = FractionJudge()
    (row,) = answer_classes([["12", "13", "12", "-4", "012"]], [[False] * 5], judge)
    assert row[0] == row[2] == row[4] and len({row[0], row[1], row[3]}) == 3
    assert all(not (a.lstrip("-").isdigit() and b.lstrip("-").isdigit() and int(a) != int(b))
               for a, b in judge.asked)


def test_classes_and_maj_do_not_depend_on_sample_order():
    answers = ["1/2", "0.5", "3", "2/4", None, "7", "14/2", "7", "9", "0.5"]
    correct = [a == "3" for a in answers]
    reference = None
    for shift in range(len(answers)):
        order = list(range(shift, len(answers))) + list(range(shift))
        row_a, row_c = [answers[i] for i in order], [correct[i] for i in order]
        (classes,) = answer_classes([row_a], [row_c], FractionJudge())
        by_answer = {a: c for a, c in zip(row_a, classes, strict=True)}
        partition = sorted(sorted(a for a in by_answer if a and by_answer[a] == c)
                           for c in set(by_answer.values()) if c is not None)
        scores = problem_scores("maj", 4, [row_c], [classes]).tolist()
        assert reference is None or (partition, scores) == reference
        reference = (partition, scores)


def test_problems_advance_together_in_batched_rounds():
    calls = []

    def judge(pairs):
        calls.append(len(pairs))
        return [a.strip("x") == b.strip("x") for a, b in pairs]

    answers = [["a", "xa", "b", "c"], ["d", "e", "dx", "f"]]
    classes = answer_classes(answers, [[False] * 4] * 2, judge)
    assert classes[0][0] == classes[0][1] and classes[1][0] == classes[1][2]
    assert len(calls) <= 3 and calls[0] == 6  # round one: both problems' pairs in one batch


def non_transitive(pairs: list[tuple[str, str]]) -> list[bool]:
    """0.5 ~ 1/2 and 1/2 ~ 0.50, but 0.5 !~ 0.50: a judge that is not transitive."""
    same = {frozenset(("0.5", "1/2")), frozenset(("1/2", "0.50"))}
    return [frozenset(pair) in same for pair in pairs]


def test_classes_are_closed_under_the_judges_equivalence_whatever_the_order():
    rng = np.random.default_rng(0)
    base = ["0.5"] * 3 + ["1/2"] + ["0.50"] * 2 + ["7"] * 4 + ["3"] * 2 + [None]
    reference = None
    for _ in range(25):
        row = [base[i] for i in rng.permutation(len(base))]
        correct = [a == "3" for a in row]
        (classes,) = answer_classes([row], [correct], non_transitive)
        by_answer = {a: c for a, c in zip(row, classes, strict=True) if a is not None}
        assert by_answer["0.5"] == by_answer["1/2"] == by_answer["0.50"] != by_answer["7"]
        assert by_answer["3"] == GOLD_CLASS
        scores = problem_scores("maj", 5, [correct], [classes]).tolist()
        assert reference is None or scores == reference
        reference = scores
    # 0.5, 1/2, 0.50 vote together (6 votes) and beat 7 (4 votes) and the gold 3 (2 votes)
    assert problem_scores("cons", None, [correct], [classes]).tolist() == [0.0]


def test_each_pair_is_asked_once_in_one_orientation():
    asked = []

    def judge(pairs):
        asked.extend(pairs)
        return [False] * len(pairs)

    answer_classes([["x", "y", "z", "y"], ["y", "x", "z", "x"]], [[False] * 4] * 2, judge)
    assert sorted(asked) == sorted([("x", "y"), ("x", "z"), ("y", "z")] * 2)


@pytest.fixture(scope="module")
def grader():
    with Grader(workers=1, timeout_s=10) as g:
        yield g


def test_grader_judges_answer_pairs_with_math_verify_and_caches_them(grader):
    pairs = [("\\frac{1}{2}", "0.5"), ("x+1", "1+x"), ("3", "4"), ("\\sqrt{2}", "2^{1/2}")]
    assert grader.same_answers(pairs) == [True, True, False, True]
    assert len(grader.cache) >= 4
    assert grader.same_answers([("(B)", "b")], "choice") == [True]
