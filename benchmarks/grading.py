"""Grading throughput on two graded sets, and the wall time of one `evalkit import`.

* GSM8K: OpenAI's example model solutions, 1319 problems x 4 = 5276 short solutions.
* The SkyThought dev set: gemma-2-27b-it on AIME24, AMC23, MATH-500, Minerva Math and
  OlympiadBench, 1,517 long free-form solutions, graded against the bundled tasks' golds.

Prints samples/s with 1 and 2 workers from an empty cache (worker start-up timed apart, as
the Grader starts its workers when it is made) and with a warm cache (every verdict cached:
extraction and lookups only), then the end-to-end wall time of
`evalkit import .../gemma-2-27b-it__olympiadbench.jsonl --format qwen25-math --task
olympiadbench` (675 samples, start-up included), with the default 1 worker and with 2.

    .venv/bin/python benchmarks/grading.py [--skip-import]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evalkit.grading import Grader, GradeRequest
from evalkit.importers.matching import ProblemIndex, normalise_question
from evalkit.tasks import get_task

GRADED = Path(__file__).resolve().parents[2] / "shared/data/graded"
GSM8K_FILE = GRADED / "openai_gsm8k_example_model_solutions.jsonl"
DEV_DIR = GRADED / "skythought_dev"
DEV_TASKS = ("aime24", "amc23", "math500", "minerva_math", "olympiadbench")
GSM8K_MODELS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")
IMPORT_FILE = DEV_DIR / "gemma-2-27b-it__olympiadbench.jsonl"


def gsm8k_requests() -> list[GradeRequest]:
    """Every solution with the gold answer after "A:" in its ground truth."""
    requests = []
    for line in GSM8K_FILE.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        gold = row["ground_truth"].rsplit("A:", 1)[1].strip()
        requests += [GradeRequest(row[model]["solution"], gold) for model in GSM8K_MODELS]
    return requests


def dev_requests() -> list[GradeRequest]:
    """Every dev-set completion with its bundled task's gold (matched by question text)."""
    requests = []
    for name in DEV_TASKS:
        index = ProblemIndex(get_task(name))
        for line in (DEV_DIR / f"gemma-2-27b-it__{name}.jsonl").read_text().splitlines():
            row = json.loads(line)
            problem = index.by_text[normalise_question(row["question"])]
            requests += [GradeRequest(text, problem.gold, problem.answer_kind, task=name)
                         for text in row["code"]]
    return requests


def throughput(name: str, requests: list[GradeRequest]) -> None:
    print(f"{name}: {len(requests)} samples")
    for workers in (1, 2):
        cache: dict[str, str] = {}
        started = time.perf_counter()
        with Grader(workers=workers, cache=cache) as grader:
            grader.grade([GradeRequest("The answer is 0.", "0")] * workers)  # workers ready
            start = time.perf_counter() - started
            cache.clear()
            cold = _timed(grader, requests)
            warm = _timed(grader, requests)
        print(
            f"  workers={workers}: start-up {start:.1f} s; empty cache "
            f"{len(requests) / cold:5.0f} samples/s ({cold:.1f} s); warm cache "
            f"{len(requests) / warm:6.0f} samples/s ({warm:.2f} s)"
        )


def _timed(grader: Grader, requests: list[GradeRequest]) -> float:
    started = time.perf_counter()
    grader.grade(requests)
    return time.perf_counter() - started


def import_wall_time() -> None:
    evalkit = Path(sys.executable).with_name("evalkit")
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as folder:
            command = [str(evalkit), "import", str(IMPORT_FILE), "--format", "qwen25-math",
                       "--task", "olympiadbench", "--output-dir", f"{folder}/run",
                       "--grader-workers", str(workers)]
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            wall = time.perf_counter() - started
        print(f"evalkit import {IMPORT_FILE.name} (675 samples), --grader-workers {workers}: "
              f"{wall:.1f} s end to end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args()
    throughput(f"GSM8K ({GSM8K_FILE.name})", gsm8k_requests())
    throughput(f"SkyThought dev set ({DEV_DIR.name}/, 5 tasks)", dev_requests())
    if not args.skip_import:
        import_wall_time()


if __name__ == "__main__":
    main()
