"""The grade cache of a distillation run on disk: verdicts shared by its vote and filter steps.

Keys and values are the evalkit grader's (:func:`evalkit.grading.grader.cache_key`), so a rerun
judges nothing twice.
"""

from __future__ import annotations

import json
from pathlib import Path


def load_cache(path: Path) -> dict[str, str]:
    """A grade cache saved by :func:`save_cache` (empty if there is none yet)."""
    return json.loads(path.read_text()) if path.is_file() else {}


def save_cache(path: Path, cache: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cache, ensure_ascii=False))
    tmp.replace(path)
