"""Counts per reasoning mode, summed over shards, reported with their totals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any


class Tally:
    """How many items of each mode fell under each key (a vote decision, a filter rule...)."""

    def __init__(self, keys: Sequence[str], total: str) -> None:
        self.keys = tuple(keys)
        self.total = total  # the name of the sum over keys
        self.per_mode: dict[str, Counter] = {}

    def add(self, mode: str, key: str) -> None:
        assert key in self.keys, key
        self.per_mode.setdefault(mode, Counter())[key] += 1

    def to_json(self) -> dict[str, Any]:
        """``{total, key: count..., per_mode: {mode: {total, key: count...}}}``."""

        def row(counter: Counter) -> dict[str, int]:
            return {self.total: sum(counter.values()), **{k: counter[k] for k in self.keys}}

        overall = sum(self.per_mode.values(), Counter())
        return {**row(overall), "per_mode": {m: row(c) for m, c in self.per_mode.items()}}
