"""Run judge calls in worker processes, each call bounded by a wall-clock deadline.

Each worker is a ``spawn``-ed process (never a fork of a parent that may hold torch threads)
that runs one job at a time in its main thread and is reused across jobs. Two layers stop a
hang:

* inside the worker, a ``SIGALRM`` interval timer interrupts the judge after ``timeout_s``;
  the job reports ``timeout`` and the worker stays alive;
* the parent waits ``timeout_s + KILL_GRACE_S`` for the answer; a worker stuck where the
  signal cannot land (inside C code) is killed and replaced, and the job reports ``timeout``.

A worker that dies during a job (crash, out of memory) is replaced; the job reports ``error``.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext

from math_verify.errors import TimeoutException

from evalkit.errors import EvalkitError

Judge = Callable[[str, str], bool]
Job = tuple[str, str]  # (gold, answer)

KILL_GRACE_S = 1.0
START_TIMEOUT_S = 120.0
_READY = "ready"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one judge call."""

    status: str  # "correct", "wrong", "timeout" or "error"
    detail: str | None = None


class JudgeTimeout(BaseException):
    """Raised inside a judge call when its deadline passes (BaseException: not swallowed by
    the ``except Exception`` clauses in sympy and math-verify)."""


@contextmanager
def _deadline(timeout_s: float) -> Iterator[None]:
    """Raise JudgeTimeout after ``timeout_s``; a no-op off the main thread or without SIGALRM."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise JudgeTimeout

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_judge(judge: Judge, job: Job, timeout_s: float) -> Verdict:
    """Call ``judge(gold, answer)`` under a deadline and turn the outcome into a Verdict."""
    try:
        with _deadline(timeout_s):
            equal = judge(*job)
    except JudgeTimeout:
        return Verdict("timeout", f"judge interrupted after {timeout_s:g}s")
    except TimeoutException:  # a judge using math-verify's own alarms (a BaseException too)
        return Verdict("timeout", "math-verify's own time limit was reached")
    except Exception as exc:  # the judge's failure is the sample's verdict, not the run's
        return Verdict("error", f"{type(exc).__name__}: {exc}")
    return Verdict("correct" if equal else "wrong")


def _worker_main(conn: Connection, judge: Judge, timeout_s: float) -> None:
    """Worker loop: warm up, say ready, then answer one job at a time until killed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    with suppress(Exception):  # warm imports and parser caches before the first deadline
        judge("1", "1")
    conn.send(_READY)
    try:
        while True:
            conn.send(run_judge(judge, conn.recv(), timeout_s))
    except EOFError:  # the parent went away
        pass


class _Worker:
    """One worker process and the job it holds."""

    def __init__(self, context: BaseContext, judge: Judge, timeout_s: float):
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child_conn, judge, timeout_s), daemon=True
        )
        self.process.start()
        child_conn.close()
        self.ready = False
        self.job: int | None = None
        self.deadline = time.monotonic() + START_TIMEOUT_S

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


class JudgePool:
    """``workers`` reusable judge processes; :meth:`run` judges a batch of jobs."""

    def __init__(self, judge: Judge, workers: int, timeout_s: float):
        self._judge = judge
        self._size = workers
        self._timeout_s = timeout_s
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []

    def run(self, jobs: Sequence[Job], on_done: Callable[[int], None]) -> list[Verdict]:
        """Judge every job; ``on_done(i)`` is called as job ``i`` finishes. Same order out."""
        if not jobs:
            return []
        if not self._workers:
            self._workers = [self._spawn() for _ in range(self._size)]
        results: list[Verdict | None] = [None] * len(jobs)
        queue = deque(range(len(jobs)))

        def finish(worker: _Worker, verdict: Verdict) -> None:
            assert worker.job is not None
            results[worker.job] = verdict
            on_done(worker.job)
            worker.job, worker.deadline = None, float("inf")

        try:
            while queue or any(w.job is not None for w in self._workers):
                self._dispatch(jobs, queue)
                self._collect(finish)
                self._enforce_deadlines(finish)
        except BaseException:
            self.close()  # jobs in flight would answer the next batch; start afresh
            raise
        return [verdict for verdict in results if verdict is not None]

    def close(self) -> None:
        """Stop all workers; the next :meth:`run` starts new ones."""
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.kill()

    def _spawn(self) -> _Worker:
        return _Worker(self._context, self._judge, self._timeout_s)

    def _dispatch(self, jobs: Sequence[Job], queue: deque[int]) -> None:
        for worker in self._workers:
            if queue and worker.ready and worker.job is None:
                worker.job = queue.popleft()
                worker.conn.send(jobs[worker.job])
                worker.deadline = time.monotonic() + self._timeout_s + KILL_GRACE_S

    def _collect(self, finish: Callable[[_Worker, Verdict], None]) -> None:
        """Wait until a worker answers or the nearest deadline, and take the answers."""
        nearest = min(worker.deadline for worker in self._workers)
        by_conn = {worker.conn: worker for worker in self._workers}
        for conn in wait(list(by_conn), timeout=max(0.0, nearest - time.monotonic())):
            worker = by_conn[conn]
            try:
                message = conn.recv()
            except (EOFError, OSError):
                self._lost(worker, finish)
                continue
            if isinstance(message, Verdict):
                finish(worker, message)
            else:  # _READY
                worker.ready, worker.deadline = True, float("inf")

    def _lost(self, worker: _Worker, finish: Callable[[_Worker, Verdict], None]) -> None:
        """A worker's pipe closed: it died. Fail its job, or the run if it never started."""
        worker.kill()
        code = worker.process.exitcode
        if not worker.ready:
            raise EvalkitError(
                f"a grading worker exited while starting (exit code {code}; its error is above). "
                "Workers are spawned processes that re-import the main script: guard a script's "
                "entry point with `if __name__ == '__main__':`"
            )
        if worker.job is not None:
            finish(worker, Verdict("error", f"judge worker died (exit code {code})"))
        self._replace(worker)

    def _enforce_deadlines(self, finish: Callable[[_Worker, Verdict], None]) -> None:
        now = time.monotonic()
        for worker in list(self._workers):
            if now < worker.deadline:
                continue
            if worker.job is None:
                raise EvalkitError(f"a grading worker did not start within {START_TIMEOUT_S:g}s")
            worker.kill()
            finish(worker, Verdict("timeout", f"judge killed after {self._timeout_s:g}s"))
            self._replace(worker)

    def _replace(self, worker: _Worker) -> None:
        self._workers[self._workers.index(worker)] = self._spawn()
