"""The adapter interface: a format reads a file into ExternalRows and says what it states."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from evalkit.importers.fields import require, scalar_text
from evalkit.importers.gold import gold_answer
from evalkit.importers.rows import ExternalRow


@dataclass(frozen=True)
class ReadOptions:
    """How to read a source file: the fields of the generic format (dotted paths reach nested
    fields; formats with a fixed layout use them where they say so) and lm-eval's filter."""

    question: str | None = None  # None: the format's default ("question" for jsonl)
    response: str | None = None  # None: "response" for jsonl
    gold: str | None = None  # the file's own gold answer; None: the task's gold
    label: str | None = None  # the producer's verdict per response
    id: str | None = None  # the producer's problem id, matched when no question text is given
    filter: str | None = None  # lm-eval: the filter whose extraction and verdict are kept


class Adapter(ABC):
    """Reads one format. ``settings`` fills in, while reading, with what the file states about
    how it was produced (model, generation settings, prompt)."""

    name: ClassVar[str]
    producer: ClassVar[str]  # the tool and the version this adapter was checked against
    reads: ClassVar[tuple[str, ...]] = ("gold",)  # the ReadOptions this format uses

    def __init__(self, options: ReadOptions) -> None:
        self.options = options
        self.settings: dict[str, Any] = {}

    @abstractmethod
    def rows(self, path: Path) -> Iterator[ExternalRow]:
        """The rows of ``path``, read as a stream."""

    @classmethod
    def looks_like(cls, record: dict[str, Any]) -> bool:
        """Whether a first record has this format's shape (to name the right --format)."""
        return False

    def file_gold(self, row: dict[str, Any], where: str) -> str | None:
        """The gold answer the row carries, when --gold-field names it."""
        if self.options.gold is None:
            return None
        value = require(row, self.options.gold, where, "--gold-field")
        return gold_answer(scalar_text(value, self.options.gold, where))
