"""What produced a verdict: the grader's version and the versions of the libraries it uses."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from evalkit.grading.config import TASK_NUMERIC_POLICIES, GraderConfig
from evalkit.grading.reference_extraction import SOURCES as REFERENCE_SOURCES

# Bump whenever a change to extraction or judging can change a verdict. Cache keys name it, the
# library versions, the judging policies and the extraction mode (cache_namespace), so stale
# verdicts are never reused.
# 2: relative guard on numbers, joined answer boxes; 3: issue 20 (units, thousands, decimal
# comma, CJK digits, answer sentences, last math span, ellipsis lists); 4: issue 16 (answer
# classes 1-10, per-task numeric policy)
GRADER_VERSION = "evalkit-grader/4"

DEFAULT_TIMEOUT_S = 10.0


def grader_info(
    timeout_s: float = DEFAULT_TIMEOUT_S, config: GraderConfig | None = None
) -> dict[str, str]:
    """Provenance of the grading, for results files: versions and the policies in force,
    with the extraction mode (and, for a reference evaluator's, where its code is)."""
    config = config or GraderConfig()
    policies = config.to_json()
    if config.extraction in REFERENCE_SOURCES:
        policies["extraction_source"] = REFERENCE_SOURCES[config.extraction]
    return {
        "name": "math-verify",
        "grader_version": GRADER_VERSION,
        "math_verify": version("math-verify"),
        "latex2sympy2_extended": version("latex2sympy2_extended"),
        "sympy": version("sympy"),
        "timeout_s": f"{timeout_s:g}",
        **{name: str(value) for name, value in policies.items()},
        "numeric_policies": "; ".join(
            [f"{task}: {policy}" for task, policy in sorted(TASK_NUMERIC_POLICIES.items())]
            + ["other tasks: exact"]
        ),
    }


def cache_namespace(config: GraderConfig | None = None) -> str:
    """What a cached verdict depends on besides its (gold, answer, kind): grader and library
    versions, the judging policies and the extraction mode (the think policy only changes
    evalkit's extraction, which the verdict on an answer does not depend on; a reference mode
    is named so that no verdict is ever shared between modes)."""
    return " ".join(
        f"{name}={value}"
        for name, value in grader_info(config=config).items()
        if name not in ("name", "timeout_s", "think_policy", "extraction_source")
    )


def recorded_extraction(info: dict[str, Any]) -> str:
    """The extraction mode a grader block of results.json records; ``evalkit`` for runs graded
    before the mode was recorded (their grader always used evalkit's extraction)."""
    return str(info.get("extraction", "evalkit"))
