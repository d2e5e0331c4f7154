"""Find figures in a results.json document by task and metric name."""

from __future__ import annotations

from typing import Any

from evalkit.errors import EvalkitError


def metric_index(results: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every metric entry of a results document, keyed by (task, metric name)."""
    return {
        (task, entry["metric"]): entry
        for task, block in results["tasks"].items()
        for entry in block["metrics"]
    }


def find_task(results: dict[str, Any], task: str, where: str) -> dict[str, Any]:
    """The block of `task`; a one-line error naming the tasks `where` does hold otherwise."""
    if task not in results["tasks"]:
        held = ", ".join(results["tasks"]) or "no tasks"
        raise EvalkitError(f"{where} has no task {task!r} (it holds {held})")
    return results["tasks"][task]


def find_metric(results: dict[str, Any], task: str, metric: str, where: str) -> dict[str, Any]:
    """The metric entry of `task`; a one-line error naming what `where` does hold otherwise."""
    for entry in find_task(results, task, where)["metrics"]:
        if entry["metric"] == metric:
            return entry
    held = ", ".join(m["metric"] for m in results["tasks"][task]["metrics"])
    raise EvalkitError(f"{where} has no metric {metric!r} for {task} (it holds {held})")
