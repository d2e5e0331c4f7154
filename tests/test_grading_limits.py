"""Hostile completions (issue 22): extraction in linear time, inside the job's deadline, long
completions graded on their tail, and workers that outlive a killed parent exiting quietly."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from evalkit.grading import Grader, GraderConfig, GradeRequest, extract_answer
from evalkit.grading.extract import CHOICE_RULES, MATH_RULES, MAX_GRADED_CHARS
from evalkit.grading.normalise import canonical_number, strip_text_units, unwrap_math
from evalkit.grading.pool import Verdict, WorkerPool
from evalkit.grading.work import GradeJob, GradingWork

# Each piece is long enough that a pattern that backtracks quadratically on it takes minutes
# (the answer-phrase pattern of grader version 2 took 1.8 s on 20,000 spaces and four times as
# long for each doubling); linear rules read the whole megabyte in well under a second.
HOSTILE_PIECES = [
    " " * 60_000,
    "The answer is 18" + " " * 60_000,
    "answer" + " " * 60_000,
    "\\boxed{" * 8_000,
    "{" * 30_000 + "}" * 30_000,
    "\\boxed{" + "{" * 30_000,
    "The answer is " * 4_000,
    "Answer: " * 6_000,
    "$" * 30_000,
    "$$" * 15_000,
    "\\[" * 15_000,
    "\\(" * 15_000,
    "**" * 15_000,
    "####" * 8_000,
    "A: " * 10_000 + "\n",
    "1," * 20_000,
    "1 000 " * 8_000,
    "0," * 20_000,
    "-" * 30_000,
    "(A) " * 8_000,
    "A\n" * 15_000,
    "5" + " dollars" * 5_000,
    "- " + " " * 30_000 + "x",
    "\\text{m}" * 5_000,
    "^{" * 15_000,
    "\\boxed{1}, " * 4_000,
    "\\ldots, " * 5_000,
    "\n" * 30_000,
]
HOSTILE = "".join(HOSTILE_PIECES)
SAFETY_BOUND_S = 10.0  # not a speed target: a quadratic rule would take minutes


def test_every_rule_reads_a_hostile_megabyte_in_linear_time() -> None:
    assert len(HOSTILE) > 1_000_000
    started = time.perf_counter()
    for _, rule in MATH_RULES + CHOICE_RULES:
        rule(HOSTILE)
    for piece in HOSTILE_PIECES:  # each alone too: a rule may only look at the end
        for _, rule in MATH_RULES + CHOICE_RULES:
            rule(piece)
        canonical_number(piece)
        strip_text_units(piece)
        unwrap_math(piece)
    for kind in ("math", "choice"):
        extract_answer(HOSTILE, kind)
        extract_answer(HOSTILE, kind, "whole_text")
    assert time.perf_counter() - started < SAFETY_BOUND_S


# --- extraction inside the deadline ------------------------------------------------------------


class SlowExtraction(GradingWork):
    """Extraction that hangs on texts starting with "hang" (module level: workers unpickle it)."""

    def __call__(self, job, progress):  # type: ignore[no-untyped-def]
        if isinstance(job, GradeJob) and job.text.startswith("hang"):
            time.sleep(60)
        return super().__call__(job, progress)


def test_a_hanging_extraction_becomes_a_timeout_sample_and_the_batch_goes_on() -> None:
    pool = WorkerPool(SlowExtraction(GraderConfig()), workers=2, timeout_s=0.5)
    try:
        jobs = [GradeJob("The answer is 18.", "18"), GradeJob("hang on", "18"),
                GradeJob("The answer is 17.", "18")]
        started = time.monotonic()
        verdicts = pool.run(jobs, lambda index: None)
        assert time.monotonic() - started < 5
    finally:
        pool.close()
    assert [v.status for v in verdicts] == ["correct", "timeout", "wrong"]
    assert verdicts[1] == Verdict("timeout", "interrupted after 0.5s")


def test_extraction_happens_in_the_worker_not_in_the_parent(monkeypatch) -> None:
    def refuse(*args, **kwargs):  # the parent's extraction must not run
        raise AssertionError("extracted in the parent process")

    monkeypatch.setattr("evalkit.grading.work.find_answer", refuse)
    with Grader(workers=1) as grader:
        (grade,) = grader.grade([GradeRequest("So the answer is $\\boxed{42}$.", "42")])
    assert (grade.status, grade.extracted, grade.rule) == ("correct", "42", "boxed")


# --- long completions are graded on their tail -------------------------------------------------


@pytest.fixture(scope="module")
def grader():
    with Grader(workers=1) as grader:
        yield grader


def test_a_long_completion_is_graded_on_its_tail(grader: Grader) -> None:
    rambling = "Let me reconsider the whole problem once more. " * 2_000  # 94,000 characters
    text = rambling + "So the answer is $\\boxed{12}$."
    (grade,) = grader.grade([GradeRequest(text, "12")])
    assert (grade.status, grade.extracted) == ("correct", "12")
    assert grade.detail == f"graded on the last {MAX_GRADED_CHARS:,} of {len(text):,} characters"


def test_an_answer_before_the_tail_is_not_read(grader: Grader) -> None:
    text = "The answer is $\\boxed{12}$.\n" + "I will check it again and again. " * 2_000
    (grade,) = grader.grade([GradeRequest(text, "12", finish_reason="length")])
    assert grade.status == "truncated"
    assert grade.detail is not None and f"graded on the last {MAX_GRADED_CHARS:,}" in grade.detail


def test_a_short_completion_has_no_tail_note(grader: Grader) -> None:
    (grade,) = grader.grade([GradeRequest("So the answer is $\\boxed{12}$.", "12")])
    assert (grade.status, grade.detail) == ("correct", None)


# --- a worker orphaned by kill -9 of its parent ------------------------------------------------

PARENT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from evalkit.grading import Grader, GradeRequest
    from test_grading_limits import sleepy_judge
    grader = Grader(workers=1, timeout_s=60, judge=sleepy_judge)
    grader.grade([GradeRequest("The answer is 1.", "1")])
    print(grader._pool.pids()[0], flush=True)
    if {mid_job}:
        grader.grade([GradeRequest("The answer is 2.", "sleep")])
    time.sleep(60)
    """
)


def sleepy_judge(gold: str, answer: str) -> bool:
    """Sleeps on the gold "sleep" (the parent is killed meanwhile); equality otherwise."""
    if gold == "sleep":
        time.sleep(2)
    return gold == answer


@pytest.mark.parametrize("mid_job", [False, True], ids=["idle", "mid-job"])
def test_an_orphaned_worker_exits_quietly(mid_job: bool) -> None:
    script = PARENT.format(tests=str(Path(__file__).parent), mid_job=mid_job)
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert parent.stdout is not None and parent.stderr is not None
    worker_pid = int(parent.stdout.readline())
    time.sleep(0.5)  # mid-job: the worker is inside the judge now
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    # The worker shares the parent's stderr: the pipe closes once the worker has exited too.
    deadline = time.monotonic() + 20
    output = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([parent.stderr], [], [], 0.5)
        if ready:
            chunk = os.read(parent.stderr.fileno(), 65536)
            if not chunk:
                break
            output += chunk
    else:
        pytest.fail(f"worker {worker_pid} still running 20 s after its parent was killed")
    assert b"Traceback" not in output and b"Error" not in output, output.decode()
