"""Imports stream: memory does not grow with the size of the completions in the file."""

import json
import tracemalloc
from pathlib import Path

from evalkit.importers import ImportSpec, ReadOptions, import_file
from evalkit.tasks import get_task

ROWS = 1000
PROBLEMS = 50


def _write(path: Path, filler_words: int) -> int:
    """ROWS rows over the first PROBLEMS GSM8K problems, each a long reasoning then the gold."""
    problems = get_task("gsm8k").load(limit=PROBLEMS)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(ROWS):
            p = problems[i % PROBLEMS]
            text = " ".join(f"step{j}" for j in range(filler_words)) + f"\n\\boxed{{{p.gold}}}"
            out.write(json.dumps({"question": p.question, "response": text}) + "\n")
    return path.stat().st_size


def _import(source: Path, out: Path) -> dict:
    spec = ImportSpec(source, "jsonl", out, task="gsm8k", options=ReadOptions(),
                      grader_workers=0, chunk_size=64)
    return import_file(spec).to_json()


def _peak(source: Path, out: Path) -> int:
    tracemalloc.start()
    try:
        results = _import(source, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    task = results["tasks"]["gsm8k"]
    assert task["problems"] == PROBLEMS and task["n"] == ROWS // PROBLEMS
    assert task["status_counts"]["correct"] == ROWS
    return peak


def test_peak_memory_does_not_grow_with_completion_length(tmp_path):
    short_size = _write(tmp_path / "short.jsonl", 10)
    long_size = _write(tmp_path / "long.jsonl", 1000)
    assert long_size > 7 * 2**20 and long_size > 20 * short_size
    _import(tmp_path / "short.jsonl", tmp_path / "warm")  # module imports, caches: not traced
    short_peak = _peak(tmp_path / "short.jsonl", tmp_path / "short")
    long_peak = _peak(tmp_path / "long.jsonl", tmp_path / "long")
    # 7+ MB more completion text costs a few chunks of it (64 samples each: the chunk read,
    # its records, its encoded lines), never the whole file
    chunk_text = (long_size - short_size) * 64 / ROWS
    assert long_peak - short_peak < 4 * chunk_text, (short_peak, long_peak)
