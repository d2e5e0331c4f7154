"""Append-only JSONL sample store: one file per (model, task, settings), fsync'd per batch.

A rerun reads what is stored and generates only what is missing; raising --n adds samples to
the same file because per-sample seeds do not depend on n.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from evalkit.errors import EvalkitError
from evalkit.records import SampleRecord

SampleKey = tuple[str, int]


class SampleStore:
    """The samples of one (model, task, settings) key, read from and appended to one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[SampleKey, SampleRecord] = {}
        if path.exists():
            self._load()

    def _load(self) -> None:
        raw = self.path.read_bytes()
        complete, _, partial = raw.rpartition(b"\n")
        if partial:  # a crash mid-write left a partial last line: drop it, keep the rest
            with open(self.path, "r+b") as handle:
                handle.truncate(len(complete) + 1 if complete else 0)
        for number, line in enumerate(complete.decode().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = SampleRecord.from_json(json.loads(line))
            except (json.JSONDecodeError, TypeError) as err:
                raise EvalkitError(
                    f"sample store {self.path} is corrupt at line {number}: "
                    "move the file aside to regenerate those samples"
                ) from err
            self.records[(record.problem_id, record.sample_index)] = record

    def __contains__(self, key: SampleKey) -> bool:
        return key in self.records

    def __len__(self) -> int:
        return len(self.records)

    def append(self, records: Iterable[SampleRecord]) -> None:
        """Write records durably (flush + fsync) before returning."""
        records = list(records)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        for record in records:
            self.records[(record.problem_id, record.sample_index)] = record

    def get(self, problem_id: str, sample_index: int) -> SampleRecord:
        return self.records[(problem_id, sample_index)]
