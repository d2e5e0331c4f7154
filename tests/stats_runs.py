"""Build run folders (results.json + grades file) with chosen verdicts, for statistics tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalkit.results.schema import SCHEMA_VERSION


def write_run(
    folder: Path,
    tasks: dict[str, dict[str, list[list[Any]]]],
    sampling: dict[str, Any] | None = None,
    engine: str = "hf",
) -> Path:
    """A run folder whose task ``name`` has, per problem id, a row of per-sample answers.

    A sample is True (correct), False (wrong, no class), None (no answer), or a string: a wrong
    answer whose string is its answer class. Returns the folder.
    """
    folder.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "evalkit_version": "test", "created": "2025-01-01",
        "model": {"name": folder.name, "kind": "local", "revision": None},
        "engine": {"name": engine},
        "versions": {"evalkit": "test"},
        "grader": {"name": "math-verify", "grader_version": "test"},
        "prompt": {"preset": "boxed"},
        "sampling": {"n": 1, "k": [1], "seed": 0, "seed_rule": None, "temperature": 0.6,
                     "top_p": 0.95, "max_tokens": 1024, "limit": None, **(sampling or {})},
        "hardware": {}, "timings": {},
        "tasks": {},
    }
    for name, rows in tasks.items():
        grades_file = Path("grades") / f"{name}.jsonl"
        (folder / "grades").mkdir(exist_ok=True)
        lines = []
        for pid, row in rows.items():
            strings = sorted({x for x in row if isinstance(x, str)})
            labels = {v: i + 1 for i, v in enumerate(strings)}
            for index, value in enumerate(row):
                status = {True: "correct", None: "no_answer"}.get(value, "wrong")
                answer_class = 0 if value is True else labels.get(value)
                if value is False:  # wrong with a class of its own
                    answer_class = 1000 + index
                lines.append(json.dumps({
                    "problem_id": pid, "sample_index": index, "gold": "g", "status": status,
                    "extracted": None if value is None else str(value),
                    "answer_class": answer_class, "num_tokens": 10, "finish_reason": "stop",
                }))
        (folder / grades_file).write_text("\n".join(lines) + "\n")
        doc["tasks"][name] = {
            "task": name, "variant": None, "source": None, "problems": len(rows),
            "problem_ids": list(rows), "grades_file": str(grades_file), "data_sha256": "x" * 64,
            "n": len(next(iter(rows.values()))), "sampling": {}, "metrics": [],
            "status_counts": {}, "truncation_rate": 0.0, "mean_tokens": 10.0,
            "answer_kind": "math", "lengths": None, "samples_file": f"samples/{name}.jsonl",
            "wall_time_s": {},
        }
    (folder / "results.json").write_text(json.dumps(doc))
    return folder


def verdict_rows(counts: list[int], n: int, prefix: str = "p") -> dict[str, list[Any]]:
    """Problem rows with ``counts[i]`` correct samples out of n (the rest wrong, one class)."""
    return {f"{prefix}{i}": [True] * c + ["7"] * (n - c) for i, c in enumerate(counts)}
