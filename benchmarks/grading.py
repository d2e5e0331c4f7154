"""Grading throughput on the graded GSM8K set (1319 problems x 4 model solutions = 5276).

Prints samples/s with 1 and 2 judge workers from an empty cache (worker start-up timed apart),
and with a warm cache (every verdict cached: extraction and lookups only).

    .venv/bin/python benchmarks/grading.py [--file PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from evalkit.grading import Grader, GradeRequest

DEFAULT_FILE = (
    Path(__file__).resolve().parents[2]
    / "shared/data/graded/openai_gsm8k_example_model_solutions.jsonl"
)
MODELS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")


def load_requests(path: Path) -> list[GradeRequest]:
    """Every solution of the file with the gold answer after "A:" in its ground truth."""
    requests = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        gold = row["ground_truth"].rsplit("A:", 1)[1].strip()
        requests += [GradeRequest(row[model]["solution"], gold) for model in MODELS]
    return requests


def timed(grader: Grader, requests: list[GradeRequest]) -> float:
    """Seconds to grade all requests."""
    started = time.perf_counter()
    grader.grade(requests)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    args = parser.parse_args()
    requests = load_requests(args.file)
    distinct = len({(r.gold, r.text) for r in requests})
    print(f"{len(requests)} samples ({distinct} distinct) from {args.file.name}")
    for workers in (1, 2):
        cache: dict[str, str] = {}
        with Grader(workers=workers, cache=cache) as grader:
            start = timed(grader, [GradeRequest("The answer is 0.", "0")] * workers)
            cache.clear()
            cold = timed(grader, requests)
            warm = timed(grader, requests)
        print(
            f"workers={workers}: start-up {start:.1f} s; empty cache {len(requests) / cold:5.0f} "
            f"samples/s ({cold:.1f} s, {len(cache)} distinct verdicts judged); "
            f"warm cache {len(requests) / warm:6.0f} samples/s ({warm:.2f} s)"
        )


if __name__ == "__main__":  # judge workers are spawned processes that re-import this script
    main()
