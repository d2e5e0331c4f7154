"""The Grader stage: completions in, one Grade per completion out, in the same order."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType

from evalkit.errors import EvalkitError
from evalkit.grading.config import GraderConfig
from evalkit.grading.extract import extract_answer, unclosed_think
from evalkit.grading.judge import judge_choice, judge_math
from evalkit.grading.pool import Job, Judge, JudgePool, Verdict, run_judge
from evalkit.grading.version import DEFAULT_TIMEOUT_S, cache_namespace, grader_info
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


def unanswered(request: GradeRequest, think_policy: str = "after_close") -> Grade:
    """The grade of a completion with no extractable answer: truncated or no_answer."""
    if think_policy == "after_close" and unclosed_think(request.text):
        return Grade("truncated", detail="the <think> block was never closed")
    if request.finish_reason == "length":
        return Grade("truncated", detail="hit the length limit before a final answer")
    return Grade("no_answer", detail="no final answer found")


class Grader:
    """Extract answers and judge them against gold answers in a pool of worker processes.

    Each judgement gets ``timeout_s`` of wall-clock time (see :mod:`evalkit.grading.pool`).
    Workers are spawned processes that re-import the main script, so a script that grades must
    guard its entry point with ``if __name__ == "__main__":``. ``workers=0`` judges in this
    process (for debugging; the deadline then only applies on the main thread).

    ``cache`` maps :func:`cache_key` to "correct" / "wrong"; pass a dict loaded from disk to
    reuse verdicts across runs, and save it afterwards. ``judge`` replaces the math judge (a
    module-level function, since workers receive it by pickling); tests use it to inject hangs
    and crashes. Its verdicts share the cache keys of the default judge.

    ``config`` chooses the think, numeric-precision and percent policies
    (:class:`~evalkit.grading.config.GraderConfig`); cache keys name the judging policies.
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
        if workers < 0 or timeout_s <= 0:
            raise EvalkitError("the grader needs workers >= 0 and timeout_s > 0")
        self.timeout_s = timeout_s
        self.config = config or GraderConfig()
        self.cache = {} if cache is None else cache
        if judge is None:
            judge = partial(
                judge_math, precision=self.config.numeric_precision, percent=self.config.percent
            )
        self._judge = judge
        self._namespace = cache_namespace(self.config)
        self._pool = JudgePool(judge, workers, timeout_s) if workers else None

    def info(self) -> dict[str, str]:
        """Provenance of this grader's verdicts (see :func:`grader_info`)."""
        return grader_info(self.timeout_s, self.config)

    def grade(
        self,
        requests: Sequence[GradeRequest],
        progress: Callable[[int], None] | None = None,
    ) -> list[Grade]:
        """Grade every request; ``progress(k)`` is called as ``k`` more are done."""
        report = progress or _ignore
        policy = self.config.think_policy
        found = [extract_answer(r.text, r.answer_kind, policy) for r in requests]
        answers = {i: answer for i, (answer, _) in enumerate(found) if answer is not None}
        if len(answers) < len(requests):
            report(len(requests) - len(answers))
        questions = [(requests[i].gold, a, requests[i].answer_kind) for i, a in answers.items()]
        verdicts = dict(zip(answers, self._verdicts(questions, report), strict=True))
        return [
            Grade(verdicts[i].status, answer, rule, verdicts[i].detail)
            if i in verdicts
            else unanswered(request, policy)
            for i, (request, (answer, rule)) in enumerate(zip(requests, found, strict=True))
        ]

    def same_answers(
        self, pairs: Sequence[tuple[str, str]], answer_kind: str = "math"
    ) -> list[bool]:
        """Whether each pair of extracted answers is the same answer (for majority votes).

        Identical strings are the same without judging; other pairs are judged as a grade with
        the first answer as the gold, through the same pool, deadline and cache; a first answer
        that cannot serve as a gold, a timeout or an error counts as different.
        """
        questions = [(first, second, answer_kind) for first, second in pairs if first != second]
        judged = iter(v.status == "correct" for v in self._verdicts(questions, _ignore))
        return [first == second or next(judged) for first, second in pairs]

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

    def _verdicts(
        self, questions: Sequence[tuple[str, str, str]], progress: Callable[[int], None]
    ) -> list[Verdict]:
        """Verdicts on (gold, answer, answer_kind) triples, each distinct triple judged once:
        from the cache, by letter, or in the pool. ``progress(k)`` as ``k`` more are decided."""
        keys = [cache_key(*question, self._namespace) for question in questions]
        decided: dict[str, Verdict] = {}
        jobs: dict[str, Job] = {}
        for (gold, answer, answer_kind), key in zip(questions, keys, strict=True):
            if key in decided or key in jobs:
                continue
            if key in self.cache:
                decided[key] = Verdict(self.cache[key])
            elif answer_kind == "choice":
                decided[key] = run_judge(judge_choice, (gold, answer), self.timeout_s)
            else:
                jobs[key] = (gold, answer)

        counts = Counter(keys)
        settled = len(keys) - sum(counts[key] for key in jobs)
        if settled:
            progress(settled)
        job_keys = list(jobs)

        def on_done(index: int) -> None:
            progress(counts[job_keys[index]])

        for key, verdict in zip(
            job_keys, self._judge_all(list(jobs.values()), on_done), strict=True
        ):
            decided[key] = verdict
            if verdict.status in _CACHED_STATUSES:
                self.cache[key] = verdict.status
        return [decided[key] for key in keys]

    def _judge_all(self, jobs: list[Job], on_done: Callable[[int], None]) -> list[Verdict]:
        if self._pool is not None:
            return self._pool.run(jobs, on_done)
        verdicts = []
        for index, job in enumerate(jobs):
            verdicts.append(run_judge(self._judge, job, self.timeout_s))
            on_done(index)
        return verdicts


def _ignore(count: int) -> None:
    """A progress callback that reports nothing."""
