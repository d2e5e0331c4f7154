"""Grading: extract the final answer of a completion and judge it against the gold answer.

Modules, one job each: :mod:`~evalkit.grading.extract` (answer extraction rules),
:mod:`~evalkit.grading.judge` (math-verify equality and its policies),
:mod:`~evalkit.grading.pool` (worker processes with a wall-clock deadline),
:mod:`~evalkit.grading.grader` (the stage: statuses, cache, order),
:mod:`~evalkit.grading.config` (the user's policies),
:mod:`~evalkit.grading.version` (provenance).
"""

from evalkit.grading.config import GraderConfig, load_grader_config
from evalkit.grading.extract import extract_answer
from evalkit.grading.grader import Grader, GradeRequest
from evalkit.grading.version import GRADER_VERSION, grader_info

__all__ = [
    "GRADER_VERSION",
    "GradeRequest",
    "Grader",
    "GraderConfig",
    "extract_answer",
    "grader_info",
    "load_grader_config",
]
