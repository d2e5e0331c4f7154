"""The files of a distillation run and the markers that say which steps are complete.

Solutions live in shards of ``teacher.shard_size`` problems (``solutions/<mode>/00000.jsonl``)
so that every step holds one shard in memory at a time, whatever the size of the run; the
other files are written and read as streams.

A step is complete when its marker (``done/<step>.json``) holds the fingerprint of the step's
settings chained with the fingerprint of the step it reads from; changing a setting, or
rerunning an upstream step with other settings, makes every later step run again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError

STEPS = ("generate", "vote", "filter", "split", "stage1", "stage2")
RELEASED_DATA_STEPS = ("split", "stage1", "stage2")  # recipes with sft_data: no teacher steps
_UPSTREAM = {"vote": "generate", "filter": "vote", "split": "filter", "stage1": "split",
             "stage2": "stage1"}


class WorkDir:
    """Paths of every step's inputs and outputs under one folder.

    `released_data`: the split step imports released data and reads no earlier step.
    """

    def __init__(self, root: Path, released_data: bool = False) -> None:
        self.root = Path(root)
        self.upstream = {k: v for k, v in _UPSTREAM.items()
                         if not (released_data and k == "split")}
        self.problems = self.root / "problems.jsonl"
        self.votes = self.root / "votes.jsonl"
        self.kept = self.root / "kept.jsonl"
        self.sft_data = self.root / "sft_data"
        self.grade_cache = self.root / "grade_cache.json"

    def solutions_dir(self, mode: str) -> Path:
        return self.root / "solutions" / mode

    def solutions(self, mode: str, shard: int) -> Path:
        return self.solutions_dir(mode) / f"{shard:05d}.jsonl"

    def split_file(self, part: str) -> Path:
        """``short`` (stage 1 data) or ``long`` (stage 2 data)."""
        return self.sft_data / f"{part}.jsonl"

    def stage_dir(self, stage: str) -> Path:
        return self.root / stage

    def marker(self, step: str) -> Path:
        return self.root / "done" / f"{step}.json"

    def fingerprint(self, step: str, settings: dict[str, Any]) -> str:
        """sha256 of the step's settings and its upstream step's recorded fingerprint."""
        upstream = self.upstream.get(step)
        chained = self.read_marker(upstream)["fingerprint"] if upstream else None
        payload = json.dumps([step, settings, chained], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()

    def read_marker(self, step: str) -> dict[str, Any]:
        path = self.marker(step)
        if not path.is_file():
            raise EvalkitError(
                f"step {step} has not run in {self.root}: run `evalkit train distill {_cli(step)}`"
                " first (or `run` for the whole chain)"
            )
        return json.loads(path.read_text())

    def is_complete(self, step: str, fingerprint: str) -> bool:
        path = self.marker(step)
        return path.is_file() and json.loads(path.read_text()).get("fingerprint") == fingerprint

    def mark_complete(self, step: str, fingerprint: str, counts: dict[str, Any]) -> None:
        """Write the step's marker atomically, with the counts it reports."""
        path = self.marker(step)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"step": step, "fingerprint": fingerprint, "counts": counts},
                                  indent=1))
        os.replace(tmp, path)


def _cli(step: str) -> str:
    return {"stage1": "sft --stage 1", "stage2": "sft --stage 2"}.get(step, step)


def shards(items: Sequence, size: int) -> list[Sequence]:
    """Consecutive slices of ``size`` items (the last may be shorter)."""
    return [items[start : start + size] for start in range(0, len(items), size)]


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


@contextmanager
def jsonl_writer(path: Path) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Write rows one by one to a temporary file, moved into place only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        yield lambda row: handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write all rows (see :func:`jsonl_writer`); return the row count."""
    count = 0
    with jsonl_writer(path) as write:
        for row in rows:
            write(row)
            count += 1
    return count
