"""Published next to reproduced: a run's figures against the table its model was published in.

A run is matched to a published row by its profile's ``leaderboard`` entry, or by the row's
Hub id; the tables are the YAML files of leaderboards/ (shipped with evalkit). Each figure gets
a verdict: consistent when the published value lies inside the reproduced 95% interval, else
how far below or above it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from evalkit.results.schema import MetricValue, Results


@dataclass(frozen=True)
class PublishedFigure:
    """One published figure and the run's reproduction of it."""

    task: str
    metric: str
    published: float  # percent, as published
    reproduced: float  # fraction
    ci95: tuple[float, float] | None

    @property
    def inside(self) -> bool:
        return self.ci95 is not None and self.ci95[0] <= self.published / 100 <= self.ci95[1]

    def verdict(self) -> str:
        """"consistent with the published 57.1 (inside the 95% interval)" or how far off."""
        if self.inside:
            return f"consistent with the published {self.published:g} (inside the 95% interval)"
        gap = 100 * self.reproduced - self.published
        where = "below" if gap < 0 else "above"
        outside = "outside the interval" if self.ci95 is not None else "no interval"
        return f"{abs(gap):.1f} pts {where} the published {self.published:g}, {outside}"

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "metric": self.metric, "published": self.published,
                "reproduced": self.reproduced, "ci95": self.ci95, "verdict": self.verdict()}


def bundled_leaderboards() -> Path:
    """The folder of published tables that ships with evalkit."""
    return Path(str(resources.files("evalkit.leaderboards")))


def published_block(results: Results, board_name: str | None = None,
                    row_name: str | None = None, variant: str | None = None,
                    folder: Path | None = None) -> dict[str, Any] | None:
    """results.json's ``published``: the matched table and row (a profile names board, row and
    variant; otherwise a row whose Hub id is the run's model) and each figure with its
    verdict; None when no published row matches the run (or shares none of its figures)."""
    from evalkit.release.leaderboard import load_boards

    boards = load_boards(folder or bundled_leaderboards())
    for board in boards:
        if board_name is not None and board.name != board_name:
            continue
        for row in board.rows:
            named = row_name is not None and row.model == row_name and (
                variant is None or row.variant == variant)
            if not named and not (row_name is None and row.hub_id in (results.model.name,
                                                                      results.model.source)):
                continue
            figures = [
                PublishedFigure(c.task, c.metric, value, m.value, m.ci95)
                for c, value in zip(board.columns, row.values, strict=True)
                if c.task and value is not None and (m := _metric(results, c.task, c.metric))
            ]
            if figures:
                return {"board": board.name, "row": row.model, "title": board.title,
                        "source": board.source.get("url"),
                        "figures": [f.to_json() for f in figures]}
    return None


def published_lines(block: dict[str, Any]) -> list[str]:
    """One line per figure: task metric: reproduced [CI] vs published: verdict."""
    lines = [f"published in {block['title']} ({block['row']}; {block['source']}):"]
    for f in block["figures"]:
        ci = f" [{100 * f['ci95'][0]:.1f}, {100 * f['ci95'][1]:.1f}]" if f["ci95"] else ""
        lines.append(f"  {f['task']} {f['metric']}: {100 * f['reproduced']:.1f}{ci} "
                     f"reproduced; {f['verdict']}")
    return lines


def _metric(results: Results, task: str, metric: str | None) -> MetricValue | None:
    block = results.tasks.get(task)
    return block.metric(metric) if block is not None and metric else None
