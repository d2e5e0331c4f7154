"""A gold answer taken from the source file: a final answer, or a worked solution ending in one."""

from __future__ import annotations

from evalkit.grading import extract_answer

# Rules that find an explicitly marked final answer; "last_number" and "bold" are guesses and a
# bare answer ("\\frac{1}{9}") must be kept whole, so they do not apply to golds.
_MARKED = ("boxed", "answer_is", "gsm8k_hash", "A:")


def gold_answer(value: str) -> str:
    """``value`` itself, or the final answer it marks (``\\boxed{}``, ``####``, ``A:``, "The
    answer is") when it is a worked solution."""
    answer, rule = extract_answer(value, "math")
    return answer if answer is not None and rule in _MARKED else value
