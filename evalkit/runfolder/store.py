"""Append-only JSONL sample stores: one file per (model, task, settings) key, fsync'd per batch.

A rerun reads what is stored and generates only what is missing; raising --n adds samples to
the same file because per-sample seeds do not depend on n.

Lines are ASCII JSON (``ensure_ascii``), so no character of a completion (U+2028, U+0085, NUL,
lone surrogates) can split or spoil a line, and records are split on ``\\n`` alone. What a crash
or a hand edit can leave behind is handled without losing good samples:

* a torn last line (a crash mid-append): readers ignore it; only the writer (the holder of the
  run folder's lock) trims it before appending;
* a line that is not UTF-8, not JSON or not a sample record, or a key stored twice with
  different contents: a reader stops with one line naming file, line and key; the writer sets
  those lines aside in ``<stem>.rejected.jsonl`` and rewrites the store without them, so only
  those samples are generated again. A key stored twice with the same contents is harmless.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import EvalkitError
from evalkit.records import SampleRecord
from evalkit.runfolder.atomic import atomic_write, fsync_folder, write_error

SampleKey = tuple[str, int]
REJECTED_SUFFIX = ".rejected.jsonl"


@dataclass(frozen=True)
class BadLine:
    """A line of a store that cannot be trusted."""

    number: int  # 1-based
    reason: str
    key: SampleKey | None
    raw: bytes

    def describe(self) -> str:
        key = f" (sample {self.key[0]}#{self.key[1]})" if self.key else ""
        return f"line {self.number}{key}: {self.reason}"


def encode_record(record: SampleRecord) -> bytes:
    """One store line: ASCII JSON and a newline."""
    return (json.dumps(record.to_json(), ensure_ascii=True) + "\n").encode("ascii")


def parse_record(raw: bytes) -> SampleRecord:
    """A store line back to its record; ValueError says what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"not valid UTF-8 (byte {err.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err.msg})") from None
    return SampleRecord.from_json(data)


def rejected_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".jsonl") + REJECTED_SUFFIX)


class SampleStore:
    """The samples of one store file. ``writable`` only for the holder of the folder's lock."""

    def __init__(self, path: Path, writable: bool = False) -> None:
        self.path = path
        self.writable = writable
        self.records: dict[SampleKey, SampleRecord] = {}
        self.repairs: list[str] = []  # what the writer set aside, one line each
        if path.exists():
            self._load()

    def _load(self) -> None:
        try:
            raw = self.path.read_bytes()
        except OSError as err:
            raise EvalkitError(f"cannot read {self.path} ({err.strerror})") from None
        complete, _, torn = raw.rpartition(b"\n")
        bad: list[BadLine] = []
        first: dict[SampleKey, tuple[int, bytes]] = {}
        conflicting: set[SampleKey] = set()
        for number, line in enumerate(complete.split(b"\n") if complete else [], start=1):
            if not line.strip():
                continue
            try:
                record = parse_record(line)
            except ValueError as err:
                bad.append(BadLine(number, str(err), _key_of(line), line))
                continue
            key = (record.problem_id, record.sample_index)
            if key not in self.records:
                self.records[key] = record
                first[key] = (number, line)
            elif self.records[key] != record:  # the same sample twice is harmless; this is not
                bad.append(BadLine(number, f"stored twice with different contents (first at "
                                   f"line {first[key][0]})", key, line))
                conflicting.add(key)
        for key in conflicting:  # neither copy can be trusted
            del self.records[key]
            number, line = first[key]
            bad.append(BadLine(number, "stored twice with different contents", key, line))
        if bad:
            bad.sort(key=lambda b: b.number)
            if not self.writable:
                raise EvalkitError(
                    f"{self.path}: {bad[0].describe()}"
                    f"{f' (and {len(bad) - 1} more bad lines)' if len(bad) > 1 else ''}; rerun "
                    "the command that wrote this folder: it sets bad lines aside in "
                    f"{rejected_path(self.path).name} and makes only those samples again"
                )
            self._set_aside(bad, [first[key][1] for key in self.records])
        elif torn and self.writable:
            self._truncate(len(complete) + 1 if complete else 0)

    def _set_aside(self, bad: list[BadLine], good: list[bytes]) -> None:
        side = rejected_path(self.path)
        entries = "".join(
            json.dumps({"line": b.number, "reason": b.reason,
                        "raw": b.raw.decode("utf-8", "backslashreplace")}) + "\n"
            for b in bad
        )
        try:
            with open(side, "a", encoding="utf-8") as handle:
                handle.write(entries)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:
            raise write_error(err, side) from None
        atomic_write(self.path, b"".join(line + b"\n" for line in good))
        shown = "; ".join(b.describe() for b in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        self.repairs.append(
            f"{self.path.name}: set aside {len(bad)} bad line(s) in {side.name} ({shown}{more});"
            " those samples are generated again"
        )

    def _truncate(self, size: int) -> None:
        try:
            with open(self.path, "r+b") as handle:
                handle.truncate(size)
                os.fsync(handle.fileno())
        except OSError as err:
            raise write_error(err, self.path) from None

    def __contains__(self, key: SampleKey) -> bool:
        return key in self.records

    def __len__(self) -> int:
        return len(self.records)

    def append(self, records: Iterable[SampleRecord]) -> None:
        """Write records durably (flush + fsync) before returning."""
        if not self.writable:
            raise EvalkitError(f"{self.path} was opened read-only")
        records = list(records)
        new = not self.path.exists()
        try:
            with open(self.path, "ab") as handle:
                handle.write(b"".join(encode_record(r) for r in records))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:
            raise write_error(err, self.path) from None
        if new:
            fsync_folder(self.path.parent)
        for record in records:
            self.records[(record.problem_id, record.sample_index)] = record

    def get(self, problem_id: str, sample_index: int) -> SampleRecord:
        return self.records[(problem_id, sample_index)]


class StoreWriter:
    """Writes a new store file from scratch (an import), a chunk at a time, without keeping the
    records; the file appears under its name only when :meth:`commit` is called, so a failed
    import leaves nothing behind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            self._handle = open(self._tmp, "wb")
        except OSError as err:
            raise write_error(err, path) from None

    def append(self, records: Iterable[SampleRecord]) -> None:
        try:
            self._handle.write(b"".join(encode_record(r) for r in records))
            self._handle.flush()
        except OSError as err:
            raise write_error(err, self.path) from None

    def commit(self) -> None:
        try:
            os.fsync(self._handle.fileno())
            self._handle.close()
            os.replace(self._tmp, self.path)
        except OSError as err:
            raise write_error(err, self.path) from None
        fsync_folder(self.path.parent)

    def discard(self) -> None:
        self._handle.close()
        self._tmp.unlink(missing_ok=True)


def _key_of(line: bytes) -> SampleKey | None:
    """The sample key a damaged line names, where it can still be read."""
    try:
        data = json.loads(line.decode("utf-8", "replace"))
        return str(data["problem_id"]), int(data["sample_index"])
    except (ValueError, KeyError, TypeError):
        return None
