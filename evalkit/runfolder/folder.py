"""RunFolder: the one owner of a run folder's files.

```
RUN/results.json            the results (evalkit.results.schema); results.md beside it
RUN/history/NNNN-*.json     every earlier results.json this folder held (regrade keeps them all)
RUN/samples/<stem>.jsonl    sample stores (evalkit.runfolder.store); <stem>.meta.json: their key
RUN/grades/<stem>.jsonl     grades (evalkit.runfolder.grades); <stem>.external.jsonl: imports
RUN/grade_cache.json        verdicts already judged (evalkit.runfolder.cache)
RUN/budget_curve.png        the budget-curve plot, when a run has budgets
RUN/.lock                   the writer lock (evalkit.runfolder.lock)
```

Writers open the folder with :meth:`RunFolder.writing`, which holds the lock for the whole
command; readers with :meth:`RunFolder.reading`, and never change anything. Every file is
written atomically, and every path that a results.json names is checked to lie inside the
folder before it is read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.results.schema import Results, SchemaError, parse_document
from evalkit.runfolder.atomic import atomic_write, write_error
from evalkit.runfolder.cache import CACHE_NAME, GradeCache
from evalkit.runfolder.grades import (
    ExternalLabel,
    GradeRow,
    external_path,
    read_external,
    read_grades,
    write_external,
    write_grades,
)
from evalkit.runfolder.lock import RunLock
from evalkit.runfolder.store import SampleStore, StoreWriter

RESULTS_NAME = "results.json"
HISTORY = "history"
SAMPLES = "samples"
GRADES = "grades"
PLOT_NAME = "budget_curve.png"
_VOLATILE = ("created", "timings", "wall_time_s")  # results fields that change on every write


class RunFolder:
    """A run folder, opened for reading or (holding its lock) for writing."""

    def __init__(self, root: Path, results_name: str = RESULTS_NAME,
                 lock: RunLock | None = None) -> None:
        self.root = root
        self.results_name = results_name
        self._lock = lock

    @classmethod
    @contextmanager
    def writing(cls, root: Path, command: str) -> Iterator[RunFolder]:
        """Create the folder if needed and hold its lock while the block runs."""
        _make_folder(root)
        with RunLock(root, command) as lock:
            _remove_leftovers(root)
            yield cls(root, lock=lock)

    @classmethod
    def reading(cls, path: Path) -> RunFolder:
        """A run folder, or a results file (any name) and the folder around it."""
        if path.is_dir():
            return cls(path)
        if path.is_file():
            return cls(path.parent, path.name)
        raise EvalkitError(f"{path} does not exist: pass a run folder or its results.json")

    @property
    def writable(self) -> bool:
        return self._lock is not None

    def inside(self, relative: str) -> Path:
        """``root / relative``, refused unless it lies inside the folder (no ``..``, no
        absolute path, no link leading out)."""
        parts = PurePosixPath(relative).parts
        if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
            raise EvalkitError(
                f"{self.root / self.results_name} names {relative!r}, which is not a path inside "
                "the run folder: the results file was edited; rerun the command that made it")
        path = self.root.joinpath(*parts)
        try:
            path.resolve().relative_to(self.root.resolve())
        except ValueError:
            raise EvalkitError(
                f"{path} leads outside the run folder {self.root} (a link): refusing to use it"
            ) from None
        return path

    # -- samples ---------------------------------------------------------------------------

    def samples_file(self, stem: str) -> str:
        return f"{SAMPLES}/{stem}.jsonl"

    def grades_file(self, stem: str) -> str:
        return f"{GRADES}/{stem}.jsonl"

    def sample_store(self, relative: str) -> SampleStore:
        """The store at ``relative``: writable (repairable) only while the lock is held."""
        if self.writable:
            self._make(self.inside(relative).parent)
        return SampleStore(self.inside(relative), writable=self.writable)

    def store_writer(self, relative: str) -> StoreWriter:
        """A store written from scratch; it appears under its name on ``commit``."""
        self._require_lock()
        path = self.inside(relative)
        self._make(path.parent)
        return StoreWriter(path)

    def write_store_key(self, relative: str, key: dict[str, Any]) -> None:
        """``<stem>.meta.json``: what the samples of a store depend on, spelled out."""
        self._require_lock()
        path = self.inside(relative.removesuffix(".jsonl") + ".meta.json")
        atomic_write(path, json.dumps(key, indent=1, ensure_ascii=False, allow_nan=False))

    # -- grades ----------------------------------------------------------------------------

    def write_grades(self, relative: str, rows: list[GradeRow]) -> None:
        self._require_lock()
        path = self.inside(relative)
        self._make(path.parent)
        write_grades(path, rows)

    def read_grades(self, relative: str) -> list[GradeRow]:
        return read_grades(self.inside(relative))

    def previous_grades(self, relative: str) -> dict[tuple[str, int], GradeRow]:
        """The grades a file holds, by sample; empty when there is none or it is damaged (the
        samples are then graded again)."""
        path = self.inside(relative)
        if not path.is_file():
            return {}
        try:
            rows = read_grades(path)
        except EvalkitError:
            return {}
        return {(row.problem_id, row.sample_index): row for row in rows}

    def write_external(self, grades_relative: str, labels: list[ExternalLabel]) -> str:
        """The producer's verdicts beside a grades file; returns their relative path."""
        self._require_lock()
        relative = str(PurePosixPath(external_path(Path(grades_relative))))
        write_external(self.inside(relative), labels)
        return relative

    def read_external(self, relative: str) -> Iterator[ExternalLabel]:
        return read_external(self.inside(relative))

    # -- grade cache -----------------------------------------------------------------------

    def grade_cache(self) -> GradeCache:
        return GradeCache(self.root / CACHE_NAME, writable=self.writable)

    # -- results ---------------------------------------------------------------------------

    @property
    def results_path(self) -> Path:
        return self.root / self.results_name

    def has_results(self) -> bool:
        return self.results_path.is_file()

    def read_results(self) -> Results:
        """The typed results; one line naming the fault when there are none or they are bad."""
        path = self.results_path
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            raise EvalkitError(
                f"{self.root} holds no {self.results_name}: pass a folder written by `evalkit "
                "run` or `evalkit import` (or run one into it)") from None
        except OSError as err:
            raise EvalkitError(f"cannot read {path} ({err.strerror})") from None
        try:
            return Results.from_json(parse_document(text), where=str(path))
        except SchemaError as err:
            message = str(err)
            if not message.startswith(str(path)):
                message = f"{path} {message}"
            raise EvalkitError(
                f"{message}: it was not written by this evalkit; rerun the command that made "
                "it into this folder (stored samples are reused, not regenerated)") from None

    def write_results(self, results: Results, markdown: str) -> Path | None:
        """Write results.json and results.md; an earlier results.json that differs is kept in
        history/ first. Returns the path it was kept under, if any."""
        self._require_lock()
        text = results.dumps()
        kept = self._keep_previous(results)
        atomic_write(self.results_path, text)
        atomic_write(self.root / "results.md", markdown)
        return kept

    def history(self) -> list[Path]:
        folder = self.root / HISTORY
        return sorted(folder.glob("*.json")) if folder.is_dir() else []

    def _keep_previous(self, results: Results) -> Path | None:
        path = self.results_path
        if not path.is_file():
            return None
        old_bytes = path.read_bytes()
        try:
            old = parse_document(old_bytes)
        except SchemaError:
            old = None
        new = results.to_json()
        if isinstance(old, dict) and _stable(old) == _stable(json.loads(json.dumps(new))):
            return None
        folder = self.root / HISTORY
        self._make(folder)
        created = old.get("created", "unknown") if isinstance(old, dict) else "unreadable"
        stamp = "".join(c for c in str(created) if c.isalnum())[:15] or "unknown"
        kept = folder / f"{len(self.history()) + 1:04d}-{stamp}.json"
        atomic_write(kept, old_bytes)
        return kept

    @property
    def plot_path(self) -> Path:
        return self.root / PLOT_NAME

    # -- helpers ---------------------------------------------------------------------------

    def _require_lock(self) -> None:
        if not self.writable:
            raise EvalkitError(f"{self.root} was opened for reading; writing needs its lock")

    def _make(self, folder: Path) -> None:
        _make_folder(folder)


def _stable(document: Any) -> Any:
    """The document without the fields that change on every write, at any depth."""
    if isinstance(document, dict):
        return {key: _stable(value) for key, value in document.items() if key not in _VOLATILE}
    if isinstance(document, list):
        return [_stable(value) for value in document]
    return document


def _remove_leftovers(root: Path) -> None:
    """Delete the half-written files of writers that died (kill -9, power loss): with the lock
    held, no other writer can own a ``.*.tmp`` or ``.*.partial`` file in the folder."""
    for folder in (root, root / SAMPLES, root / GRADES, root / HISTORY):
        for pattern in (".*.tmp", ".*.partial"):
            for leftover in folder.glob(pattern):
                try:
                    leftover.unlink()
                except OSError:
                    pass  # a read-only folder fails later, with its own one-line error


def check_output_dir(folder: Path) -> None:
    """Refuse, before any work starts, a run folder that is a file or lies under one."""
    if folder.is_file():
        raise EvalkitError(f"{folder} is a file, not a folder: choose another --output-dir")
    blocker = next((p for p in folder.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise EvalkitError(
            f"cannot create {folder}: {blocker} is a file; choose another --output-dir")


def _make_folder(folder: Path) -> None:
    """mkdir -p with one-line errors for the usual faults."""
    check_output_dir(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        check_output_dir(folder)  # a file put in the way since the check above: named
        raise write_error(err, folder) from None
    except OSError as err:
        raise write_error(err, folder) from None


def read_results(path: Path) -> Results:
    """The results of a run folder, or of a results file of any name."""
    return RunFolder.reading(path).read_results()
