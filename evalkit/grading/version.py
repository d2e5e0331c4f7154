"""What produced a verdict: the grader's version and the versions of the libraries it uses."""

from __future__ import annotations

from importlib.metadata import version

# Bump whenever a change to extraction or judging can change a verdict. Cache keys name it and
# the library versions (CACHE_NAMESPACE), so stale cached verdicts are never reused.
GRADER_VERSION = "evalkit-grader/1"

DEFAULT_TIMEOUT_S = 10.0


def grader_info(timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, str]:
    """Provenance of the grading, for results files."""
    return {
        "name": "math-verify",
        "grader_version": GRADER_VERSION,
        "math_verify": version("math-verify"),
        "latex2sympy2_extended": version("latex2sympy2_extended"),
        "sympy": version("sympy"),
        "timeout_s": f"{timeout_s:g}",
    }


CACHE_NAMESPACE = " ".join(
    f"{name}={value}" for name, value in grader_info().items() if name not in ("name", "timeout_s")
)
