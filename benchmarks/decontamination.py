"""Time and memory of the decontamination check: a training pool against every bundled task.

Usage: python benchmarks/decontamination.py [--pool gsm8k] [--split train] [--repeat 1]

Prints the time to build the index of the evaluation tasks (every problem's normalised text and
word 13-grams), the time to check the pool (problems and worked solutions), the peak resident
memory of the process, and the overlap found. Timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import resource
import time

from evalkit.training.decontaminate import EvalIndex, check_pool
from evalkit.training.pool import task_pool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", default="gsm8k")
    parser.add_argument("--split", default="train")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    items = task_pool(args.pool, args.split)
    for _ in range(args.repeat):
        started = time.perf_counter()
        index = EvalIndex()
        built = time.perf_counter()
        report = check_pool(items, index, f"{args.pool}-{args.split}")
        checked = time.perf_counter()
        print(f"index of {len(index.texts)} task problems ({len(index.grams)} distinct 13-grams): "
              f"{built - started:.2f} s; check of {report.items} items "
              f"({sum(1 for i in items if i.solution)} with solutions): {checked - built:.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MiB")
    print(report.summary())


if __name__ == "__main__":
    main()
