"""Benchmark tasks: the vendored test sets, their gold normalisation, and user tasks.

Data provenance and checksums: data/PROVENANCE.md and data/SHA256SUMS next to this file.
"""

from .custom import load_custom_task
from .registry import DEFAULT_TASKS, TASK_NAMES, get_task, list_tasks
from .task import Task

__all__ = [
    "DEFAULT_TASKS",
    "TASK_NAMES",
    "Task",
    "get_task",
    "list_tasks",
    "load_custom_task",
]
