"""Time to compute every statistic of a task with 500 problems x 64 samples (synthetic grades).

    .venv/bin/python benchmarks/stats.py [--problems 500] [--samples 64]

Problems get an accuracy from Beta(0.7, 1.5); wrong samples answer one of a few integers, so
grouping answers needs no math-verify call (the judge's cost is the grader's benchmark). Prints
the wall time of each stage: answer classes, score_task (avg@n, pass@k for k = 1, 2, 4, ..., n,
maj@k for the same k, cons@n, each with its clustered Wilson interval), a paired comparison
of two such runs, and the planner's variance components.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from evalkit.grading.answer_classes import answer_classes
from evalkit.statistics.estimators import problem_scores, score_task
from evalkit.statistics.paired_test import paired_test
from evalkit.statistics.sample_size import VarianceComponents


def synthetic_run(rng: np.random.Generator, problems: int, samples: int, shift: float = 0.0):
    """Verdicts and extracted answers of a run: gold is "0", wrong answers are "1".."6"."""
    accuracy = np.clip(rng.beta(0.7, 1.5, size=problems) + shift, 0, 1)
    correct = rng.random((problems, samples)) < accuracy[:, None]
    wrong = rng.choice(["1", "2", "3", "4", "5", "6", None], size=(problems, samples),
                       p=[0.35, 0.2, 0.15, 0.1, 0.08, 0.07, 0.05])
    answers = np.where(correct, "0", wrong).tolist()
    return correct.tolist(), [[None if a == "None" else a for a in row] for row in answers]


def timed(label: str, action):
    started = time.perf_counter()
    value = action()
    print(f"{label:<52} {time.perf_counter() - started:8.3f} s")
    return value


def never_called(pairs: list[tuple[str, str]]) -> list[bool]:
    if pairs:
        raise AssertionError("integers are grouped without the judge")
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--samples", type=int, default=64)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.samples
    ks = [2**i for i in range(n.bit_length()) if 2**i <= n]
    correct, answers = synthetic_run(rng, args.problems, n)
    print(f"{args.problems} problems x {n} samples; k = {ks}")
    total = time.perf_counter()
    classes = timed("answer classes (integer answers, no judge calls)",
                    lambda: answer_classes(answers, correct, never_called))
    metrics = timed(f"score_task: {2 * len(ks) + 1} metrics with intervals",
                    lambda: score_task(correct, ks, classes))
    other, _ = synthetic_run(rng, args.problems, n, shift=0.03)
    timed("compare: sign-flip test + its interval (9999 patterns)", lambda: paired_test(
        problem_scores("avg", None, correct), problem_scores("avg", None, other)))
    timed("plan: variance components", lambda: VarianceComponents.from_pilot(correct))
    print(f"{'all statistics':<52} {time.perf_counter() - total:8.3f} s")
    for m in metrics:
        low, high = m.ci95
        print(f"  {m.metric:>8} {100 * m.value:5.1f}%  95% CI [{100 * low:.1f}, {100 * high:.1f}]"
              f"  ({m.interval})")


if __name__ == "__main__":
    main()
