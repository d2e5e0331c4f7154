"""The Task record: one benchmark's data file, its provenance, and how to read its rows."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.records import Problem

from .jsonl import iter_rows


class RowError(ValueError):
    """A row that does not have the fields or values its task expects (message: what and fix)."""


# Turns one JSON row and its 0-based row index into a Problem; raises RowError for a bad row.
RowParser = Callable[[dict[str, Any], int], Problem]


@dataclass(frozen=True)
class Task:
    """A benchmark: where its problems live, where they came from, and how to load them."""

    name: str
    source: str  # upstream repository/path@commit, or the user's file
    licence: str
    gold_format: str  # one line: what the upstream gold looks like and how it is normalised
    variant: str  # which version of the benchmark this is, e.g. "amc23: 40 problems (...)"
    answer_kind: str  # "math" or "choice"
    default_max_tokens: int
    path: Path
    expected_sha256: str | None  # None for user tasks
    parse_row: RowParser = field(repr=False, compare=False)
    split: str = "test"

    def sha256(self) -> str:
        """The sha256 hex digest of the data file's bytes."""
        return hashlib.sha256(self._read_bytes()).hexdigest()

    def load(self, limit: int | None = None) -> list[Problem]:
        """The problems in file order (the first `limit` if given), after checking the sha256."""
        if limit is not None and limit < 0:
            raise EvalkitError(f"limit must be 0 or more, not {limit}; pass a non-negative --limit")
        data = self._read_bytes()
        if self.expected_sha256 is not None:
            actual = hashlib.sha256(data).hexdigest()
            if actual != self.expected_sha256:
                raise EvalkitError(
                    f"task data for {self.name} changed: sha256 {actual} != "
                    f"{self.expected_sha256}; restore the vendored file or define a custom task"
                )
        rows = itertools.islice(enumerate(iter_rows(data, self.path)), limit)
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for index, (line_no, row) in rows:
            try:
                problem = self.parse_row(row, index)
            except RowError as err:
                raise EvalkitError(f"{self.path} line {line_no}: {err}") from None
            if problem.id in seen:
                raise EvalkitError(
                    f"{self.path} line {line_no}: id {problem.id!r} repeats line "
                    f"{seen[problem.id]}; make the ids unique or leave out the id field"
                )
            seen[problem.id] = line_no
            problems.append(problem)
        return problems

    def _read_bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except OSError as err:
            raise EvalkitError(
                f"cannot read the data of task {self.name} at {self.path} ({err.strerror}); "
                "check the path, or reinstall evalkit for a built-in task"
            ) from None
