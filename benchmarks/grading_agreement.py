"""Agreement of the graders with the reviewed truth on the SkyThought dev set (issue 16).

Imports gemma-2-27b-it's outputs on AIME24, AMC23, MATH-500, Minerva Math and OlympiadBench
(``../shared/data/graded/skythought_dev``, 1,517 samples, Qwen2.5-Math toolkit format) through
evalkit's import pipeline, and compares three graders with the truth:

* evalkit: the grader of ``evalkit import --format qwen25-math`` (this checkout);
* plain math-verify, default settings: ``verify(parse(gold), parse(response))`` with the task's
  gold in ``$...$`` and the whole response;
* the producer's label: the file's ``score`` (the Qwen2.5-Math toolkit's verdict).

The truth is the reviewed verdict of ``tests/fixtures/grading/skythought_dev_reviewed.jsonl``
where a sample was reviewed, else the producer's label (those samples are the ones where the
three graders agreed at review time, and their common verdict was taken as truth). Samples whose
reviewed verdict is null (truth unclear) or whose benchmark gold is wrong (``gold_error``: no
grader comparing with the gold can agree with the reader) are left out of every figure; the
gold errors are listed with the grader's verdicts.

Plain math-verify verdicts are cached per math-verify version in
``~/.cache/evalkit/plain-math-verify-<version>.json`` (the first run judges all 1,517 samples,
a few minutes on 2 cores); evalkit is always graded afresh.

    .venv/bin/python benchmarks/grading_agreement.py [--tasks minerva_math,math500]
        [--grader-workers 2] [--mv-workers 2] [--no-math-verify] [--all]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from evalkit.importers.pipeline import ImportSpec, import_file
from evalkit.tasks import get_task

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared/data/graded/skythought_dev"
REVIEWED = ROOT / "tests/fixtures/grading/skythought_dev_reviewed.jsonl"
TASKS = ("aime24", "amc23", "math500", "minerva_math", "olympiadbench")
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "evalkit"


@dataclass
class Sample:
    """One row of a dev file with each grader's verdict and the truth."""

    task: str
    id: str
    idx: int
    label: bool
    evalkit: bool | None = None
    status: str | None = None
    math_verify: bool | None = None
    truth: bool | None = None
    gold_error: str | None = None  # why the benchmark's gold is wrong (reviewed)
    cls: str | None = None  # the reviewed class, where reviewed


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def run_evalkit(task: str, path: Path, out: Path, workers: int) -> list[Sample]:
    """Import ``path`` as ``task`` into ``out``; one Sample per row, in file order."""
    import_file(ImportSpec(path=path, format="qwen25-math", output_dir=out, task=task,
                           grader_workers=workers))
    (samples_file,) = (out / "samples").glob("*.jsonl")
    grades_file = out / "grades" / samples_file.name
    stored = read_rows(samples_file)  # appended in row order
    grades = {(g["problem_id"], g["sample_index"]): g for g in read_rows(grades_file)}
    rows = read_rows(path)
    if len(stored) != len(rows):
        raise SystemExit(f"{path.name}: {len(rows)} rows but {len(stored)} imported samples")
    result = []
    for row, record in zip(rows, stored, strict=True):
        if record["text"] != row["code"][0]:
            raise SystemExit(f"{path.name} idx {row['idx']}: imported samples out of row order")
        grade = grades[(record["problem_id"], record["sample_index"])]
        result.append(Sample(task, record["problem_id"], row["idx"], bool(row["score"][0]),
                             grade["status"] == "correct", grade["status"]))
    return result


def plain_math_verify(job: tuple[str, str]) -> bool:
    """math-verify with default settings (run in a worker's main thread: SIGALRM timeouts)."""
    from math_verify import parse, verify

    gold, response = job
    try:
        return bool(verify(parse(gold if "$" in gold else f"${gold}$"), parse(response)))
    except BaseException:  # noqa: BLE001 - its TimeoutException derives from BaseException
        return False


def run_math_verify(samples: list[Sample], rows: dict[tuple[str, int], dict], workers: int,
                    cache_path: Path | None) -> str:
    """Set each sample's plain math-verify verdict; verdicts are cached per math-verify version
    (they never change for a given gold, response and version). Returns a one-line summary."""
    golds = {task: {p.id: p.gold for p in get_task(task).load()}
             for task in {s.task for s in samples}}
    jobs = [(golds[s.task][s.id], rows[(s.task, s.idx)]["code"][0]) for s in samples]
    keys = [hashlib.sha256(f"{gold}\0{text}".encode()).hexdigest() for gold, text in jobs]
    cache = json.loads(cache_path.read_text()) if cache_path and cache_path.exists() else {}
    todo = [i for i, key in enumerate(keys) if key not in cache]
    started = time.perf_counter()
    if todo:
        with ProcessPoolExecutor(workers) as pool:
            for i, verdict in zip(todo, pool.map(plain_math_verify, [jobs[i] for i in todo],
                                                 chunksize=8), strict=True):
                cache[keys[i]] = verdict
        if cache_path:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            cache_path.write_text(json.dumps(cache))
    for sample, key in zip(samples, keys, strict=True):
        sample.math_verify = cache[key]
    return (f"plain math-verify {version('math-verify')}: {len(todo)} judged "
            f"({time.perf_counter() - started:.1f} s, {workers} workers), "
            f"{len(samples) - len(todo)} from {cache_path}")


def apply_truth(samples: Iterable[Sample], reviewed: Path) -> None:
    review = {(r["task"], r["idx"]): r for r in read_rows(reviewed)}
    for s in samples:
        r = review.get((s.task, s.idx))
        if r is not None and r["id"] != s.id:
            raise SystemExit(f"{reviewed.name}: {s.task} idx {s.idx} is {r['id']!r} in the "
                             f"review but {s.id!r} in this import")
        s.truth = s.label if r is None else None if r.get("gold_error") else r["verdict"]
        s.cls = None if r is None else r["class"]
        s.gold_error = None if r is None else r.get("gold_error")


def agreement(samples: list[Sample], grader: str) -> str:
    clear = [s for s in samples if s.truth is not None and getattr(s, grader) is not None]
    if not clear:
        return "-"
    agree = sum(getattr(s, grader) == s.truth for s in clear)
    return f"{agree}/{len(clear)} {100 * agree / len(clear):6.2f}%"


def report(samples: list[Sample], tasks: list[str], graders: list[str], show: list[str]) -> None:
    head = f"{'task':<14}{'samples':>8}{'unclear':>8}" + "".join(f"{g:>20}" for g in graders)
    print(head)
    for name, group in [(t, [s for s in samples if s.task == t]) for t in tasks] + [
        ("overall", samples)
    ]:
        unclear = sum(s.truth is None for s in group)
        print(f"{name:<14}{len(group):>8}{unclear:>8}"
              + "".join(f"{agreement(group, g):>20}" for g in graders))
    errors = [s for s in samples if s.gold_error]
    if errors:
        print(f"\nleft out, the benchmark's gold is wrong ({len(errors)}; "
              + ", ".join(graders) + "):")
        for s in errors:
            print(f"  {s.task:<14}{s.id:<8}" + "".join(f"{getattr(s, g)!s:<7}" for g in graders)
                  + f" {s.gold_error}")
    for grader in show:
        wrong = [s for s in samples if s.truth is not None and getattr(s, grader) is not None
                 and getattr(s, grader) != s.truth]
        print(f"\n{grader} disagrees with the truth on {len(wrong)} samples "
              "(task, id, idx, its verdict, truth, class):")
        for s in wrong:
            verdict = s.status if grader == "evalkit" else getattr(s, grader)
            print(f"  {s.task:<14}{s.id:<36}{s.idx:>5}  {verdict!s:<9} {s.truth!s:<6} "
                  f"{s.cls or 'unreviewed'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--reviewed", type=Path, default=REVIEWED)
    parser.add_argument("--grader-workers", type=int, default=2)
    parser.add_argument("--mv-workers", type=int, default=2)
    parser.add_argument("--no-math-verify", action="store_true",
                        help="skip plain math-verify (slow on first use; cached afterwards)")
    parser.add_argument("--no-cache", action="store_true",
                        help="judge every sample with plain math-verify again")
    parser.add_argument("--all", action="store_true",
                        help="also list math-verify's and the label's disagreements")
    args = parser.parse_args()
    tasks = args.tasks.split(",")
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        raise SystemExit(f"unknown task(s) {', '.join(unknown)}; choose from {', '.join(TASKS)}")
    samples: list[Sample] = []
    rows: dict[tuple[str, int], dict] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for task in tasks:
            path = args.data_dir / f"gemma-2-27b-it__{task}.jsonl"
            samples += run_evalkit(task, path, Path(tmp) / task, args.grader_workers)
            rows.update({(task, r["idx"]): r for r in read_rows(path)})
    evalkit_s = time.perf_counter() - started
    graders = ["evalkit", "label"]
    mv_line = ""
    if not args.no_math_verify:
        cache = None if args.no_cache else (
            CACHE_DIR / f"plain-math-verify-{version('math-verify')}.json")
        mv_line = "; " + run_math_verify(samples, rows, args.mv_workers, cache)
        graders.insert(1, "math_verify")
    apply_truth(samples, args.reviewed)
    print(f"{len(samples)} samples; evalkit import {evalkit_s:.1f} s "
          f"({args.grader_workers} grader workers){mv_line}; "
          f"total {time.perf_counter() - started:.1f} s\n")
    report(samples, tasks, graders, graders if args.all else ["evalkit"])


if __name__ == "__main__":
    main()
