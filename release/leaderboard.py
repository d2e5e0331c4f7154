"""Leaderboard data: published tables (YAML files with their sources) and reproduced runs.

A leaderboard folder holds one `<name>.yaml` per published table and a `runs/` folder where
users drop evalkit results (`runs/<name>.json` or `runs/<name>/results.json`). A run shows under
a published row when its model is that row's `hub_id`, and as a row of its own otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evalkit.errors import EvalkitError
from evalkit.results.schema import MetricValue, ModelInfo
from evalkit.runfolder.folder import read_results

from .lookup import metric_index


@dataclass(frozen=True)
class Column:
    """A table column: a task x metric score (reproducible) or a plain published figure."""

    label: str
    task: str | None = None
    metric: str | None = None
    format: str = "{:.1f}"


@dataclass(frozen=True)
class Row:
    """A published row: the model as the source names it, and its values in column order."""

    model: str
    values: tuple[float | None, ...]
    variant: str | None = None
    hub_id: str | None = None
    params: str | None = None


@dataclass(frozen=True)
class Board:
    """One published table with its source."""

    name: str
    title: str
    source: dict[str, str]
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Run:
    """A reproduced run dropped into runs/, with its figures by (task, metric)."""

    name: str
    model: ModelInfo
    metrics: dict[tuple[str, str], MetricValue]
    reproduces: tuple[str, str] | None = None  # (board, row) its results say it reproduces

    def matches(self, board: Board, row: Row) -> bool:
        """Whether this run reproduces ``row`` of ``board``: it says so, or its model is the
        row's Hub id."""
        if self.reproduces is not None:
            return self.reproduces == (board.name, row.model)
        return row.hub_id is not None and row.hub_id in (self.model.name, self.model.source)


def load_boards(folder: Path) -> list[Board]:
    """Every `*.yaml` table of the folder, by file name."""
    if not folder.is_dir():
        raise EvalkitError(
            f"no leaderboard folder {folder}: run from the repository root or pass --dir"
        )
    return [_load_board(path) for path in sorted(folder.glob("*.yaml"))]


def load_runs(folder: Path) -> list[Run]:
    """The results files under `runs/`, by path."""
    runs_dir = folder / "runs"
    paths = sorted([*runs_dir.glob("*.json"), *runs_dir.glob("*/results.json")])
    return [load_run(path) for path in paths]


def load_run(path: Path) -> Run:
    """One reproduced run: a run folder or a results file, named after it."""
    results = read_results(path)
    name = path.parent.name if path.name == "results.json" else path.stem if path.is_file() \
        else path.name
    published = results.published
    reproduces = (published["board"], published["row"]) if published else None
    return Run(name, results.model, metric_index(results), reproduces)


def _load_board(path: Path) -> Board:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        columns = tuple(_column(c) for c in data["columns"])
        rows = tuple(
            Row(r["model"], tuple(r["values"]), r.get("variant"), r.get("hub_id"), r.get("params"))
            for r in data["rows"]
        )
        board = Board(path.stem, data["title"], dict(data["source"]), columns, rows)
    except (OSError, yaml.YAMLError, KeyError, TypeError) as err:
        raise EvalkitError(f"leaderboard table {path} is malformed: {err!r}") from err
    for row in rows:
        if len(row.values) != len(columns):
            label = " ".join(filter(None, (row.model, row.variant)))
            raise EvalkitError(
                f"{path}: row {label} has {len(row.values)} values for {len(columns)} columns"
            )
    missing = {"citation", "url"} - set(board.source)
    if missing:
        raise EvalkitError(f"{path}: source needs {', '.join(sorted(missing))}")
    return board


def _column(raw: dict[str, Any]) -> Column:
    task, metric = raw.get("task"), raw.get("metric")
    label = raw.get("label") or f"{task} {metric}"
    return Column(label, task, metric, raw.get("format", "{:.1f}"))
