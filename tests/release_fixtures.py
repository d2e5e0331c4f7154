"""Run folders in the results.json schema, built from verdict matrices, for release tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from evalkit.records import GRADE_STATUSES
from evalkit.results.schema import SCHEMA_VERSION
from evalkit.statistics.estimators import score_task


def verdicts(problems: int, n: int, correct: int) -> list[list[bool]]:
    """A problems x n matrix with `correct` True values spread row by row."""
    flat = [i < correct for i in range(problems * n)]
    return [flat[row * n:(row + 1) * n] for row in range(problems)]


def write_run(
    folder: Path,
    tasks: dict[str, list[list[bool]]],
    *,
    model: str = "org/candidate",
    revision: str | None = "0123abcd",
    ks: tuple[int, ...] = (1,),
    truncated: dict[str, int] | None = None,
    grader_version: str = "evalkit-grader/1",
    extraction: str = "evalkit",
    max_tokens: int = 4096,
) -> Path:
    """Write results.json and grades/<task>.jsonl into `folder`; return the folder.

    `truncated[task]` marks that many wrong samples as cut off by the token budget.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "grades").mkdir(exist_ok=True)
    n = len(next(iter(tasks.values()))[0])
    blocks = {}
    for name, matrix in tasks.items():
        cut = (truncated or {}).get(name, 0)
        lines, statuses = [], dict.fromkeys(GRADE_STATUSES, 0)
        for p, row in enumerate(matrix):
            for i, ok in enumerate(row):
                status = "correct" if ok else ("truncated" if cut else "wrong")
                cut -= status == "truncated"
                statuses[status] += 1
                lines.append(json.dumps({
                    "problem_id": f"{name}-{p}", "sample_index": i, "gold": str(p),
                    "status": status, "extracted": str(p) if ok else None, "rule": "boxed",
                    "detail": None, "num_tokens": 100,
                    "finish_reason": "length" if status == "truncated" else "stop",
                }))
        (folder / "grades" / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
        sampling = {"temperature": 0.6, "top_p": 0.95, "max_tokens": max_tokens}
        blocks[name] = {
            "task": name, "variant": f"{name}: {len(matrix)} problems", "source": "test data",
            "data_sha256": hashlib.sha256(name.encode()).hexdigest(),
            "problems": len(matrix), "problem_ids": [f"{name}-{p}" for p in range(len(matrix))],
            "n": n, "sampling": sampling,
            "metrics": [m.to_json() for m in score_task(matrix, list(ks))],
            "status_counts": statuses,
            "truncation_rate": statuses["truncated"] / (len(matrix) * n),
            "mean_tokens": 100.0, "answer_kind": "math", "lengths": {"mean": 100.0},
            "budget_curve": [], "samples_file": f"samples/{name}.jsonl",
            "grades_file": f"grades/{name}.jsonl",
            "wall_time_s": {"generate": 1.0, "grade": 0.1},
        }
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "evalkit_version": "0.1.0",
        "created": "2025-01-01T00:00:00+00:00",
        "model": {"name": model, "kind": "hub", "path": f"/cache/{model}", "revision": revision,
                  "source": model},
        "engine": {"name": "vllm", "dtype": "bfloat16"},
        "prompt": {"preset": "bare", "chat_template": True, "system": None,
                   "user_template": "{question}"},
        "sampling": {"n": n, "k": list(ks), "seed": 0, "seed_rule": "test", "temperature": 0.6,
                     "top_p": 0.95, "max_tokens": max_tokens, "limit": None},
        "grader": {"name": "math-verify", "grader_version": grader_version,
                   "extraction": extraction, "math_verify": "0.8.0", "timeout_s": "10"},
        "versions": {"evalkit": "0.1.0"},
        "hardware": {"machine": "x86_64"},
        "timings": {"total_s": 2.0},
        "tasks": blocks,
    }
    (folder / "results.json").write_text(json.dumps(results, indent=1))
    return folder
