"""Are two extracted answers the same? The evalkit grader's math judge, its pool and its cache.

Pairs are judged by :func:`evalkit.grading.judge.judge_math` (math-verify) in the grader's
worker pool, each under a wall-clock deadline, and cached under the grader's own cache keys, so
a verdict is shared with `evalkit run` grading and a rerun judges nothing twice. A judgement
that times out or fails counts as "not equal". Identical strings are equal without judging;
choice answers (letters) compare as strings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from evalkit.grading.grader import cache_key
from evalkit.grading.judge import judge_math
from evalkit.grading.pool import JudgePool, Verdict, run_judge

Pair = tuple[str, str]  # (reference, candidate): the reference plays the gold's part


class Equivalence:
    """Judges batches of answer pairs; ``workers=0`` judges in this process."""

    def __init__(self, workers: int, timeout_s: float, cache: dict[str, str]) -> None:
        self.timeout_s = timeout_s
        self.cache = cache
        self._pool = JudgePool(judge_math, workers, timeout_s) if workers else None
        self.judged = 0  # pairs sent to the judge (not settled by the cache or identity)

    def equal(self, pairs: Sequence[Pair], answer_kind: str = "math") -> list[bool]:
        """One verdict per pair, in order."""
        verdicts: dict[Pair, bool] = {}
        jobs: list[Pair] = []
        for pair in dict.fromkeys(pairs):
            reference, candidate = pair
            key = cache_key(reference, candidate, answer_kind)
            if reference == candidate or answer_kind != "math":
                verdicts[pair] = reference == candidate
            elif key in self.cache:
                verdicts[pair] = self.cache[key] == "correct"
            else:
                jobs.append(pair)
        for pair, verdict in zip(jobs, self._judge(jobs), strict=True):
            if verdict.status in ("correct", "wrong"):
                self.cache[cache_key(*pair, answer_kind)] = verdict.status
            verdicts[pair] = verdict.status == "correct"
        self.judged += len(jobs)
        return [verdicts[pair] for pair in pairs]

    def _judge(self, jobs: list[Pair]) -> list[Verdict]:
        if self._pool is not None:
            return self._pool.run(jobs, lambda index: None)
        return [run_judge(judge_math, job, self.timeout_s) for job in jobs]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    def __enter__(self) -> Equivalence:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def load_cache(path: Path) -> dict[str, str]:
    """A grade cache saved by :func:`save_cache` (empty if there is none yet)."""
    return json.loads(path.read_text()) if path.is_file() else {}


def save_cache(path: Path, cache: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cache, ensure_ascii=False))
    tmp.replace(path)
