"""Find figures in a results.json document by task and metric name."""

from __future__ import annotations

from evalkit.errors import EvalkitError
from evalkit.results.schema import MetricValue, Results, TaskBlock


def metric_index(results: Results) -> dict[tuple[str, str], MetricValue]:
    """Every metric of a results document, keyed by (task, metric name)."""
    return {(task, m.metric): m for task, block in results.tasks.items() for m in block.metrics}


def find_task(results: Results, task: str, where: str) -> TaskBlock:
    """The block of `task`; a one-line error naming the tasks `where` does hold otherwise."""
    if task not in results.tasks:
        held = ", ".join(results.tasks) or "no tasks"
        raise EvalkitError(f"{where} has no task {task!r} (it holds {held})")
    return results.tasks[task]


def find_metric(results: Results, task: str, metric: str, where: str) -> MetricValue:
    """The metric of `task`; a one-line error naming what `where` does hold otherwise."""
    found = find_task(results, task, where).metric(metric)
    if found is not None:
        return found
    held = ", ".join(m.metric for m in results.tasks[task].metrics)
    raise EvalkitError(f"{where} has no metric {metric!r} for {task} (it holds {held})")
