"""Run grading jobs in worker processes, each job bounded by a wall-clock deadline.

Each worker is a fresh interpreter (``python -m evalkit.grading.worker``, never a fork of a
parent that may hold torch threads, and never a re-import of the parent's main script) that
runs one job at a time in its main thread and is reused across jobs, batches and tasks. The
parent talks to it over two pipes. Two layers stop a hang:

* inside the worker, a ``SIGALRM`` interval timer interrupts the job after ``timeout_s``;
  the job reports ``timeout`` and the worker stays alive;
* the parent waits ``timeout_s + KILL_GRACE_S`` for the answer; a worker stuck where the
  signal cannot land (inside C code) is killed and replaced, and the job reports ``timeout``.

A worker that dies during a job (crash, out of memory) is replaced; the job reports ``error``.
A worker whose parent dies (even by ``kill -9``) sees its pipe close and exits quietly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from evalkit.errors import EvalkitError

KILL_GRACE_S = 1.0
START_TIMEOUT_S = 120.0
READY = "ready"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one job: a status, why, and what the job extracted before it ended."""

    status: str  # "correct", "wrong", "no_answer", "truncated", "timeout" or "error"
    detail: str | None = None
    extracted: str | None = None
    rule: str | None = None


class Work(Protocol):
    """What a worker does with one job (picklable: it is sent to the worker once)."""

    def __call__(self, job: Any, progress: dict[str, str]) -> Verdict:
        """Do the job; record what was found so far in ``progress`` (``extracted``,
        ``rule``), so that a job stopped by its deadline still reports it."""

    def warm_up(self) -> None:
        """Load what the first job would load, before the first deadline starts."""


class JudgeTimeout(BaseException):
    """Raised inside a job when its deadline passes (BaseException: not swallowed by the
    ``except Exception`` clauses in sympy and math-verify)."""


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


def run_job(work: Work, job: Any, timeout_s: float) -> Verdict:
    """Do one job under a deadline and turn any failure into the job's Verdict."""
    from math_verify.errors import TimeoutException

    progress: dict[str, str] = {}
    try:
        with _deadline(timeout_s):
            return work(job, progress)
    except JudgeTimeout:
        return Verdict("timeout", f"interrupted after {timeout_s:g}s", **progress)
    except TimeoutException:  # a judge using math-verify's own alarms (a BaseException too)
        return Verdict("timeout", "math-verify's own time limit was reached", **progress)
    except Exception as exc:  # the job's failure is the sample's verdict, not the run's
        return Verdict("error", f"{type(exc).__name__}: {exc}", **progress)


class _Worker:
    """One worker process, its pipes, and the job it holds."""

    def __init__(self, work: Work, timeout_s: float):
        to_child, self._child_in = os.pipe()
        from_child, child_out = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "evalkit.grading.worker", str(to_child), str(child_out)],
                pass_fds=(to_child, child_out),
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # the terminal's Ctrl-C is the parent's to handle
            )
        finally:
            os.close(to_child)
            os.close(child_out)
        self.inbox = Connection(from_child, writable=False)
        self.outbox = Connection(self._child_in, readable=False)
        self.outbox.send(sys.path)  # so that the worker can unpickle what the parent can
        self.outbox.send((work, timeout_s))
        self.ready = False
        self.job: int | None = None
        self.deadline = time.monotonic() + START_TIMEOUT_S

    def send(self, job: Any) -> None:
        self.outbox.send(job)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.inbox.close()
        self.outbox.close()


class WorkerPool:
    """``workers`` reusable worker processes; :meth:`run` does a batch of jobs.

    Workers start when the pool is made (they load math-verify while the caller reads its
    input) and live until :meth:`close`; a batch that fails starts them afresh.
    """

    def __init__(self, work: Work, workers: int, timeout_s: float):
        self._work = work
        self._size = workers
        self._timeout_s = timeout_s
        self._workers: list[_Worker] = []
        self.start()

    def start(self) -> None:
        """Start the workers (a no-op while they run)."""
        if not self._workers:
            self._workers = [self._spawn() for _ in range(self._size)]

    def run(self, jobs: Sequence[Any], on_done: Callable[[int], None]) -> list[Verdict]:
        """Do every job; ``on_done(i)`` is called as job ``i`` finishes. Same order out."""
        if not jobs:
            return []
        self.start()
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

    def pids(self) -> list[int]:
        """The process ids of the running workers."""
        return [worker.process.pid for worker in self._workers]

    def close(self) -> None:
        """Stop all workers; the next :meth:`run` starts new ones."""
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.kill()

    def _spawn(self) -> _Worker:
        return _Worker(self._work, self._timeout_s)

    def _dispatch(self, jobs: Sequence[Any], queue: deque[int]) -> None:
        for worker in self._workers:
            if queue and worker.ready and worker.job is None:
                worker.job = queue.popleft()
                worker.send(jobs[worker.job])
                worker.deadline = time.monotonic() + self._timeout_s + KILL_GRACE_S

    def _collect(self, finish: Callable[[_Worker, Verdict], None]) -> None:
        """Wait until a worker answers or the nearest deadline, and take the answers."""
        nearest = min(worker.deadline for worker in self._workers)
        by_conn = {worker.inbox: worker for worker in self._workers}
        for conn in wait(list(by_conn), timeout=max(0.0, nearest - time.monotonic())):
            worker = by_conn[conn]
            try:
                message = conn.recv()
            except (EOFError, OSError):
                self._lost(worker, finish)
                continue
            if isinstance(message, Verdict):
                finish(worker, message)
            else:  # READY
                worker.ready, worker.deadline = True, float("inf")

    def _lost(self, worker: _Worker, finish: Callable[[_Worker, Verdict], None]) -> None:
        """A worker's pipe closed: it died. Fail its job, or the run if it never started."""
        worker.kill()
        code = worker.process.returncode
        if not worker.ready:
            raise EvalkitError(
                f"a grading worker exited while starting (exit code {code}; its error is "
                "above): check that evalkit is installed in this Python environment"
            )
        if worker.job is not None:
            finish(worker, Verdict("error", f"grading worker died (exit code {code})"))
        self._replace(worker)

    def _enforce_deadlines(self, finish: Callable[[_Worker, Verdict], None]) -> None:
        now = time.monotonic()
        for worker in list(self._workers):
            if now < worker.deadline:
                continue
            if worker.job is None:
                raise EvalkitError(f"a grading worker did not start within {START_TIMEOUT_S:g}s")
            worker.kill()
            finish(worker, Verdict("timeout", f"worker killed after {self._timeout_s:g}s"))
            self._replace(worker)

    def _replace(self, worker: _Worker) -> None:
        self._workers[self._workers.index(worker)] = self._spawn()
