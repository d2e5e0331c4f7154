"""Grading: extract the final answer of a completion and judge it against the gold answer.

Modules, one job each: :mod:`~evalkit.grading.extract` (answer extraction rules),
:mod:`~evalkit.grading.reference_extraction` and :mod:`~evalkit.grading.reference_grading`
(the extraction modes of reference evaluators: ReasonLite, the Qwen2.5-Math toolkit),
:mod:`~evalkit.grading.judge` (math-verify equality and its fast paths),
:mod:`~evalkit.grading.parsing` (normalised and parsed answers: :mod:`~evalkit.grading.latexify`,
:mod:`~evalkit.grading.notation`, :mod:`~evalkit.grading.units`),
:mod:`~evalkit.grading.rules` (evalkit's rules beyond math-verify:
:mod:`~evalkit.grading.quantities`, :mod:`~evalkit.grading.evaluation`),
:mod:`~evalkit.grading.work` and :mod:`~evalkit.grading.worker` (one job in a worker),
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
