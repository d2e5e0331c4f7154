"""The grading policies a user may choose, and reading them from a YAML file.

``think_policy``       ``after_close`` (default): grade only the text after the last
                       ``</think>``, and call a never-closed ``<think>`` ``truncated``;
                       ``whole_text``: ignore think tags and search the whole completion.
``numeric_precision``  digits of numeric agreement (default 6): math-verify rounds decimals to
                       this many decimal places, and evalkit also requires numbers to agree to
                       within a relative ``10**(1 - numeric_precision)``, so tiny unequal values
                       (``1/2004!`` and ``1/2006!``) are not equal after rounding both to 0.
``percent``            ``strip`` (default): a trailing ``%`` is dropped on both sides, so ``9%``
                       equals ``9``; ``strict``: ``N%`` means ``N/100`` on both sides, so ``9%``
                       equals ``0.09`` and ``9%`` but not ``9``.
``extraction``         ``evalkit`` (default): evalkit's extraction cascade
                       (:mod:`~evalkit.grading.extract`); ``reasonlite`` / ``qwen25-math``: a
                       reference evaluator's (:mod:`~evalkit.grading.reference_grading`). Chosen
                       with ``--extraction`` or a preset / profile, not in a grader config file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from evalkit.errors import EvalkitError

THINK_POLICIES = ("after_close", "whole_text")
PERCENT_POLICIES = ("strip", "strict")
NUMERIC_POLICIES = ("exact", "significant-figures")
EXTRACTION_MODES = ("evalkit", "reasonlite", "qwen25-math")
# Per task: how numbers compare (evalkit/grading/quantities.py). Minerva Math's answers are
# physical quantities computed from rounded constants; every other task's numbers are exact.
TASK_NUMERIC_POLICIES = {"minerva_math": "significant-figures"}


@dataclass(frozen=True)
class GraderConfig:
    """How answers are extracted and compared (see the module docstring)."""

    think_policy: str = "after_close"
    numeric_precision: int = 6
    percent: str = "strip"
    extraction: str = "evalkit"

    def __post_init__(self) -> None:
        if self.think_policy not in THINK_POLICIES:
            raise EvalkitError(
                f"think_policy {self.think_policy!r} is unknown; use one of "
                f"{', '.join(THINK_POLICIES)}"
            )
        if self.percent not in PERCENT_POLICIES:
            raise EvalkitError(
                f"percent {self.percent!r} is unknown; use one of {', '.join(PERCENT_POLICIES)}"
            )
        if self.extraction not in EXTRACTION_MODES:
            raise EvalkitError(
                f"extraction {self.extraction!r} is unknown; use one of "
                f"{', '.join(EXTRACTION_MODES)}"
            )
        if not isinstance(self.numeric_precision, int) or not 1 <= self.numeric_precision <= 15:
            raise EvalkitError("numeric_precision must be an integer from 1 to 15")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def numeric_policy(task: str) -> str:
    """The numeric policy of a task: "significant-figures" for measured quantities (Minerva
    Math), else "exact"."""
    return TASK_NUMERIC_POLICIES.get(task, "exact")


def load_grader_config(path: Path) -> GraderConfig:
    """Read a grader config from a YAML mapping; unknown keys are refused."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise EvalkitError(f"cannot read the grader config {path}: {err}") from err
    if not isinstance(data, dict):
        raise EvalkitError(f"the grader config {path} must be a YAML mapping of policy: value")
    if "extraction" in data:
        raise EvalkitError(
            f"the grader config {path} sets extraction; choose the extraction mode with "
            "--extraction (or a preset or profile) instead"
        )
    known = {f.name for f in fields(GraderConfig)} - {"extraction"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise EvalkitError(
            f"the grader config {path} has unknown keys {', '.join(unknown)}; "
            f"known keys: {', '.join(sorted(known))}"
        )
    return GraderConfig(**data)
