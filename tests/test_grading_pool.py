"""The judge pool under failure: hangs, stuck workers, exceptions, crashes; and the cache."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from math_verify.errors import TimeoutException

from evalkit.grading import GRADER_VERSION, Grader, GradeRequest
from evalkit.grading.judge import judge_math

# Gold answers that make `faulty_judge` misbehave instead of judging.
HANG = "hang"  # sleeps: the in-worker deadline interrupts it
STUCK = "stuck"  # sleeps with SIGALRM blocked, like a hang inside C code: the parent kills it
MV_TIMEOUT = "mv-timeout"  # raises math-verify's TimeoutException (a BaseException)
RAISE = "raise"
CRASH = "crash"


def faulty_judge(gold: str, answer: str) -> bool:
    """The real judge, except for the sentinel golds above. Module-level: workers unpickle it."""
    if gold == HANG:
        time.sleep(60)
    if gold == STUCK:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)
    if gold == MV_TIMEOUT:
        raise TimeoutException("Operation timed out!")
    if gold == RAISE:
        raise ValueError("cannot compare a Matrix with a FiniteSet")
    if gold == CRASH:
        os._exit(7)
    return judge_math(gold, answer)


def refusing_judge(gold: str, answer: str) -> bool:
    raise AssertionError("the judge was called although the verdict was cached")


@pytest.fixture(scope="module")
def faulty_grader():
    with Grader(workers=2, timeout_s=0.5, judge=faulty_judge) as grader:
        yield grader


def _requests(*golds: str) -> list[GradeRequest]:
    """Completions answering 18, one per gold."""
    return [GradeRequest("She makes 9 * 2 = 18 dollars.\nA: 18", gold) for gold in golds]


def test_a_hanging_judge_is_interrupted_and_the_batch_finishes(faulty_grader: Grader) -> None:
    faulty_grader.grade(_requests("18"))  # workers started
    started = time.monotonic()
    grades = faulty_grader.grade(_requests("18", HANG, "17", "18.0", "20"))
    assert time.monotonic() - started < 5
    assert [g.status for g in grades] == ["correct", "timeout", "wrong", "correct", "wrong"]
    assert "interrupted after 0.5s" in (grades[1].detail or "")
    assert grades[1].extracted == "18"


def test_a_stuck_worker_is_killed_and_replaced(faulty_grader: Grader) -> None:
    grades = faulty_grader.grade(_requests(STUCK, "18", "19", "18"))
    assert [g.status for g in grades] == ["timeout", "correct", "wrong", "correct"]
    assert "killed after 0.5s" in (grades[0].detail or "")
    assert [g.status for g in faulty_grader.grade(_requests("18", "36/2"))] == ["correct"] * 2


def test_judge_exceptions_crashes_and_library_timeouts(faulty_grader: Grader) -> None:
    grades = faulty_grader.grade(_requests(RAISE, CRASH, MV_TIMEOUT, "18"))
    assert [g.status for g in grades] == ["error", "error", "timeout", "correct"]
    assert grades[0].detail == "ValueError: cannot compare a Matrix with a FiniteSet"
    assert "exit code 7" in (grades[1].detail or "")


def test_workers_start_once_and_serve_every_batch_and_task() -> None:
    with Grader(workers=2) as grader:
        pool = grader._pool
        assert pool is not None
        started = pool.pids()  # started with the Grader, before the first batch
        assert len(started) == 2
        grader.grade(_requests("18"))
        grades = grader.grade(_requests(*(str(n) for n in range(30))))
        choice = grader.grade([GradeRequest("The answer is (B).", "B", "choice")])
        assert grader.same_answers([("1/2", "0.5")]) == [True]
        assert pool.pids() == started
    assert [g.status for g in grades].count("correct") == 1
    assert choice[0].status == "correct"
    assert pool.pids() == []


def test_identical_pairs_are_judged_once_and_cached() -> None:
    calls: list[tuple[str, str]] = []

    def counting_judge(gold: str, answer: str) -> bool:
        calls.append((gold, answer))
        return judge_math(gold, answer)

    cache: dict[str, str] = {}
    grader = Grader(workers=0, cache=cache, judge=counting_judge)
    requests = _requests("18", "18", "18", "20")
    assert [g.status for g in grader.grade(requests)] == ["correct"] * 3 + ["wrong"]
    assert len(calls) == 2
    grader.grade(requests)
    assert len(calls) == 2

    assert all(GRADER_VERSION in key and "math_verify=" in key for key in cache)
    reloaded = json.loads(json.dumps(cache))  # a caller may persist the cache as JSON
    again = Grader(workers=0, cache=reloaded, judge=refusing_judge).grade(requests)
    assert [(g.status, g.rule) for g in again] == [("correct", "A:")] * 3 + [("wrong", "A:")]


def test_progress_counts_every_request() -> None:
    done: list[int] = []
    grader = Grader(workers=0)
    grader.grade(_requests("18", "18", "20") + [GradeRequest("no idea", "18")], done.append)
    assert sum(done) == 4


def test_timeouts_are_not_cached() -> None:
    cache: dict[str, str] = {}
    grader = Grader(workers=0, timeout_s=0.2, cache=cache, judge=faulty_judge)
    assert [g.status for g in grader.grade(_requests(HANG, "18"))] == ["timeout", "correct"]
    assert list(cache.values()) == ["correct"]
