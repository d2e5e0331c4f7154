"""The Grader stage: completions in, one Grade per completion out, in the same order."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import TracebackType

from evalkit.errors import EvalkitError
from evalkit.grading.config import GraderConfig, numeric_policy
from evalkit.grading.pool import Verdict, WorkerPool, run_job
from evalkit.grading.reference_grading import WHOLE_RESPONSE_RULE
from evalkit.grading.version import DEFAULT_TIMEOUT_S, cache_namespace, grader_info
from evalkit.grading.work import GradeJob, GradingWork, Judge, PairJob
from evalkit.records import Grade

ANSWER_KINDS = ("math", "choice")
_CACHED_STATUSES = ("correct", "wrong")  # timeouts and errors may not recur: judge them again


@dataclass(frozen=True)
class GradeRequest:
    """One completion to grade against its problem's normalised gold answer."""

    text: str
    gold: str
    answer_kind: str = "math"  # "math" or "choice"
    finish_reason: str = "stop"  # "stop" or "length"
    task: str = ""  # the task's name chooses its numeric policy (config.numeric_policy)

    def __post_init__(self) -> None:
        if self.answer_kind not in ANSWER_KINDS:
            raise EvalkitError(
                f"unknown answer_kind {self.answer_kind!r}; use one of {', '.join(ANSWER_KINDS)}"
            )


def cache_key(
    gold: str, answer: str, answer_kind: str, namespace: str | None = None
) -> str:
    """The key of a verdict in the cache: a JSON string that names the grader and library
    versions and the judging policies (see :func:`~evalkit.grading.version.cache_namespace`;
    the default config's namespace when ``namespace`` is None)."""
    return json.dumps(
        [namespace or cache_namespace(), answer_kind, gold, answer], ensure_ascii=False
    )


class Grader:
    """Extract answers and judge them against gold answers in a pool of worker processes.

    Each completion's extraction and judgement together get ``timeout_s`` of wall-clock time
    (see :mod:`evalkit.grading.pool`). The workers start when the Grader is made and serve
    every :meth:`grade` and :meth:`same_answers` call until :meth:`close`, so one command starts
    them once. ``workers=0`` grades in this process (for debugging; the deadline then only
    applies on the main thread).

    ``cache`` maps :func:`cache_key` to "correct" / "wrong"; pass a dict loaded from disk to
    reuse verdicts across runs, and save it afterwards. ``judge`` replaces the math judge (a
    module-level function, since workers receive it by pickling); tests use it to inject hangs
    and crashes. Its verdicts share the cache keys of the default judge.

    ``config`` chooses the extraction mode and the think, numeric-precision and percent
    policies (:class:`~evalkit.grading.config.GraderConfig`); cache keys name the judging
    policies and the extraction mode.
    """

    def __init__(
        self,
        workers: int = 1,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cache: dict[str, str] | None = None,
        *,
        judge: Judge | None = None,
        config: GraderConfig | None = None,
    ):
        if workers < 0 or not 0 < timeout_s < float("inf"):
            raise EvalkitError("the grader needs workers >= 0 and a finite timeout_s > 0")
        self.timeout_s = timeout_s
        self.config = config or GraderConfig()
        self.cache = {} if cache is None else cache
        self._namespace = cache_namespace(self.config)
        self._known = _known_verdicts(self.cache, self._namespace)
        self._work = GradingWork(self.config, judge)
        self._pool = WorkerPool(self._work, workers, timeout_s) if workers else None

    def info(self) -> dict[str, str]:
        """Provenance of this grader's verdicts (see :func:`grader_info`)."""
        return grader_info(self.timeout_s, self.config)

    def grade(
        self,
        requests: Sequence[GradeRequest],
        progress: Callable[[int], None] | None = None,
    ) -> list[Grade]:
        """Grade every request; ``progress(k)`` is called as ``k`` more are done. Identical
        requests are graded once."""
        jobs: dict[GradeRequest, int] = {}
        for request in requests:
            jobs.setdefault(request, len(jobs))
        counts = Counter(requests)
        order = list(jobs)

        def on_done(index: int) -> None:
            (progress or _ignore)(counts[order[index]])

        verdicts = self._run([self._grade_job(request) for request in order], on_done)
        grades = [self._settle(r, v) for r, v in zip(order, verdicts, strict=True)]
        return [grades[jobs[request]] for request in requests]

    def same_answers(
        self, pairs: Sequence[tuple[str, str]], answer_kind: str = "math"
    ) -> list[bool]:
        """Whether each pair of extracted answers is the same answer (for majority votes).

        Identical strings are the same without judging; other pairs are judged as a grade with
        the first answer as the gold, through the same pool, deadline and cache; a first answer
        that cannot serve as a gold, a timeout or an error counts as different.
        """
        undecided: dict[tuple[str, str], int] = {}
        for first, second in pairs:
            if first != second and self._cached(first, second, answer_kind) is None:
                undecided.setdefault((first, second), len(undecided))
        jobs = [PairJob(first, second, answer_kind) for first, second in undecided]
        for (first, second), verdict in zip(undecided, self._run(jobs, _ignore), strict=True):
            if verdict.status in _CACHED_STATUSES:
                self._remember(first, second, answer_kind, verdict.status)
        return [
            first == second or self._cached(first, second, answer_kind) == "correct"
            for first, second in pairs
        ]

    def close(self) -> None:
        """Stop the worker processes (a later :meth:`grade` starts new ones)."""
        if self._pool is not None:
            self._pool.close()

    def __enter__(self) -> Grader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _grade_job(self, request: GradeRequest) -> GradeJob:
        """The job of a request, with the verdicts known for its gold (a hint that spares
        judging: the cache itself decides, in :meth:`_settle`)."""
        known = self._known.get((_verdict_kind(request), request.gold), {})
        return GradeJob(request.text, request.gold, request.answer_kind, request.finish_reason,
                        tuple(known.items()), numeric_policy(request.task))

    def _settle(self, request: GradeRequest, verdict: Verdict) -> Grade:
        """The grade of a job's verdict: the cache's verdict on its answer wins (the worker's
        copy of the cache may be older); a new verdict is cached. A verdict on the whole
        response rather than on its answer (ReasonLite's math-verify check) is not cached."""
        if verdict.extracted is not None and verdict.rule != WHOLE_RESPONSE_RULE:
            kind = _verdict_kind(request)
            cached = self._cached(request.gold, verdict.extracted, kind)
            if cached is not None:
                verdict = replace(verdict, status=cached)
            elif verdict.status in _CACHED_STATUSES:
                self._remember(request.gold, verdict.extracted, kind, verdict.status)
        return Grade(verdict.status, verdict.extracted, verdict.rule, verdict.detail)

    def _cached(self, gold: str, answer: str, answer_kind: str) -> str | None:
        status = self.cache.get(cache_key(gold, answer, answer_kind, self._namespace))
        return status if status in _CACHED_STATUSES else None

    def _remember(self, gold: str, answer: str, answer_kind: str, status: str) -> None:
        self.cache[cache_key(gold, answer, answer_kind, self._namespace)] = status
        self._known.setdefault((answer_kind, gold), {})[answer] = status

    def _run(self, jobs: list[GradeJob] | list[PairJob], on_done: Callable[[int], None]
             ) -> list[Verdict]:
        if self._pool is not None:
            return self._pool.run(jobs, on_done)
        verdicts = []
        for index, job in enumerate(jobs):
            verdicts.append(run_job(self._work, job, self.timeout_s))
            on_done(index)
        return verdicts


def _verdict_kind(request: GradeRequest) -> str:
    """The answer kind of a request's cache key, with its numeric policy when not exact."""
    policy = numeric_policy(request.task)
    return request.answer_kind if policy == "exact" else f"{request.answer_kind}:{policy}"


def _known_verdicts(
    cache: dict[str, str], namespace: str
) -> dict[tuple[str, str], dict[str, str]]:
    """The cached verdicts of this namespace by (answer kind, gold): answer -> status."""
    known: dict[tuple[str, str], dict[str, str]] = {}
    for key, status in cache.items():
        try:
            space, kind, gold, answer = json.loads(key)
        except (ValueError, TypeError):
            continue  # not a verdict key of this grader
        if space == namespace and status in _CACHED_STATUSES:
            known.setdefault((kind, gold), {})[answer] = status
    return known


def _ignore(count: int) -> None:
    """A progress callback that reports nothing."""
