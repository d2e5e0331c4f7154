"""The grade cache of a run folder: verdicts already judged, reused by every command that grades.

Keys are the grader's (:func:`evalkit.grading.grader.cache_key`), which name the grader and
library versions and the judging policies, so a verdict is only ever reused by the grader that
made it. The file carries a format tag and a sha256 of its entries: a cache that was cut short,
edited by hand or written by something else is never trusted; it is set aside with one warning
and rebuilt by judging again.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

from evalkit.runfolder.atomic import atomic_write, write_error

CACHE_NAME = "grade_cache.json"
FORMAT = "evalkit-grade-cache/1"
VERDICTS = ("correct", "wrong")


def _checksum(entries: dict[str, str]) -> str:
    canonical = json.dumps(entries, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


class GradeCache:
    """Verdicts keyed by question; ``entries`` is the dict a Grader reads and fills."""

    def __init__(self, path: Path, writable: bool = False) -> None:
        self.path = path
        self.writable = writable
        self.entries: dict[str, str] = {}
        self.warnings: list[str] = []
        if path.exists():
            self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_bytes())
            problem = _problem(data)
        except (OSError, ValueError) as err:
            problem = f"unreadable ({err})"
        if problem is None:
            self.entries = dict(data["entries"])
            return
        if not self.writable:
            self.warnings.append(f"{self.path.name} is not used: {problem}")
            return
        aside = self.path.with_name(
            f"{self.path.name}.bad-{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}")
        try:
            self.path.rename(aside)
        except OSError as err:
            raise write_error(err, aside) from None
        self.warnings.append(
            f"{self.path.name} {problem}: set aside as {aside.name}; verdicts are judged again")

    def save(self) -> None:
        """Write the entries atomically (only the holder of the folder's lock saves)."""
        if not self.writable:
            return
        document = {"format": FORMAT, "checksum": _checksum(self.entries),
                    "entries": self.entries}
        atomic_write(self.path, json.dumps(document, ensure_ascii=True))


def _problem(data: object) -> str | None:
    """Why a loaded cache cannot be trusted, or None."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return "was not written by this version of evalkit"
    entries = data.get("entries")
    if not isinstance(entries, dict) or not all(
        isinstance(k, str) and v in VERDICTS for k, v in entries.items()
    ):
        return "holds entries that are not verdicts"
    if data.get("checksum") != _checksum(entries):
        return "does not match its checksum (cut short or edited)"
    return None
