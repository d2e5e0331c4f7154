"""Harness overhead of `evalkit run` and grading throughput on stored completions.

Usage: python benchmarks/harness_overhead.py [--limit 8] [--max-tokens 128] [--grade-problems 300]

1. Runs SmolLM2-135M (the embedded default) with the hf engine on GSM8K and splits the wall
   time into model load, generation (inside the engine) and everything else (the harness:
   task loading, prompt rendering, storing, grading, metrics, reports).
2. Grades the GPT-3 GSM8K solutions of ../shared/data/graded (4 per problem) with 1 and 2
   grader workers and prints samples/s.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

from rich.console import Console

from evalkit.grading import Grader, GradeRequest
from evalkit.run.plan import plan_from
from evalkit.run.runner import Runner

GRADED = Path(__file__).resolve().parents[2] / "shared" / "data" / "graded"
MODELS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")


def harness_overhead(limit: int, max_tokens: int) -> None:
    with tempfile.TemporaryDirectory() as out:
        plan = plan_from(model="smollm2-135m", tasks=["gsm8k"], output_dir=Path(out),
                         limit=limit, max_tokens=max_tokens)
        results = Runner(plan, Console(stderr=True, quiet=True)).run()
    t = results.timings
    harness = t["total_s"] - t["generate_s"] - t["engine_load_s"]
    tokens = results.tasks["gsm8k"].mean_tokens * limit
    print(
        f"run: {limit} GSM8K problems x 1 sample, max {max_tokens} tokens, SmolLM2-135M, hf engine"
    )
    print(
        f"  total {t['total_s']:.1f} s = model load {t['engine_load_s']:.1f} s"
        f" + generation {t['generate_s']:.1f} s + harness {harness:.1f} s"
    )
    print(
        f"  harness share of total: {100 * harness / t['total_s']:.1f}%;"
        f" of total without model load: {100 * harness / (t['total_s'] - t['engine_load_s']):.1f}%"
    )
    print(f"  generation throughput: {tokens / t['generate_s']:.1f} tokens/s")


def grading_throughput(problems: int) -> None:
    requests = []
    with open(GRADED / "openai_gsm8k_example_model_solutions.jsonl") as handle:
        for line, _ in zip(handle, range(problems), strict=False):
            row = json.loads(line)
            gold = re.sub(r"[,\s]", "", row["ground_truth"].rsplit("A:", 1)[1])
            requests += [GradeRequest(row[m]["solution"], gold) for m in MODELS]
    for workers in (1, 2):
        with Grader(workers=workers, cache={}) as grader:
            grader.grade(requests[:8])  # start the workers before timing
            started = time.perf_counter()
            grader.grade(requests[8:])
            elapsed = time.perf_counter() - started
        print(
            f"grading: {len(requests) - 8} GSM8K samples, {workers} worker(s), empty cache: "
            f"{(len(requests) - 8) / elapsed:.1f} samples/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--grade-problems", type=int, default=300)
    args = parser.parse_args()
    harness_overhead(args.limit, args.max_tokens)
    grading_throughput(args.grade_problems)


if __name__ == "__main__":
    main()
