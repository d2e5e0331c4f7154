"""Split step: kept solutions -> chat examples for SFT stage 1 (short CoT) and 2 (long CoT).

ReasonLite splits by reasoning mode: short CoT = "medium" solutions, long CoT = "high" ones
(``split.by: mode``). ``split.by: length`` splits by the solution's token count instead:
short = at most ``max_short_tokens``. Each example is ``{"messages": [user, assistant]}``: the
user turn is the teacher's (question + instruction) and the assistant turn is
``<think>\\n{reasoning}\\n</think>\\n\\n{final}`` (ReasonLite's format) when the solution
separates its reasoning: a closed ``<think>`` block, or gpt-oss's analysis and final channels
(raw ``<|channel|>analysis<|message|>...<|channel|>final<|message|>...``, or as decoded without
special tokens, ``analysis...assistantfinal...``, as ReasonLite's saving_to_training_format.py
converts them); else the solution text as it is. Each example also carries its problem text
(``problem``), which the decontamination check reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from evalkit.records import Problem

from .recipe import SplitSettings
from .teacher import user_message

PARTS = ("short", "long")
_OPEN, _CLOSE = "<think>", "</think>"
_HARMONY = (  # (analysis opening, analysis end + final opening): raw, then decoded
    ("<|channel|>analysis<|message|>", "<|end|><|start|>assistant<|channel|>final<|message|>"),
    ("analysis", "assistantfinal"),
)


def reasoning_and_final(text: str) -> tuple[str, str] | None:
    """Split a solution into its reasoning and its final answer, if it separates them."""
    reasoning, closed, final = text.rpartition(_CLOSE)
    if closed:
        reasoning = reasoning.strip()
        return reasoning.removeprefix(_OPEN), final
    for opening, switch in _HARMONY:
        if text.startswith(opening) and switch in text:
            reasoning, _, final = text[len(opening):].partition(switch)
            return reasoning, final.removesuffix("<|return|>")
    return None


def assistant_content(text: str) -> str:
    """The assistant turn of a solution (see the module doc)."""
    parts = reasoning_and_final(text)
    if parts is None:
        return text.strip()
    reasoning, final = parts
    return f"{_OPEN}\n{reasoning.strip()}\n{_CLOSE}\n\n{final.strip()}"


def part_of(row: dict[str, Any], settings: SplitSettings) -> str | None:
    """"short", "long", or None for a solution in neither part."""
    if settings.by == "length":
        assert settings.max_short_tokens is not None
        return "short" if row["num_tokens"] <= settings.max_short_tokens else "long"
    if row["mode"] in settings.short_modes:
        return "short"
    return "long" if row["mode"] in settings.long_modes else None


def split_examples(
    kept: Iterable[dict[str, Any]],
    problems: Sequence[Problem],
    settings: SplitSettings,
    instruction: str,
    write: dict[str, Callable[[dict[str, Any]], None]],
) -> dict[str, int]:
    """Write each kept solution as an example of its part; return counts (examples and tokens
    per part, solutions in neither part)."""
    questions = {p.id: p.question for p in problems}
    counts = dict.fromkeys((*PARTS, *(f"{part}_tokens" for part in PARTS), "unused"), 0)
    for row in kept:
        part = part_of(row, settings)
        if part is None:
            counts["unused"] += 1
            continue
        question = questions[row["problem_id"]]
        write[part]({
            "messages": [
                {"role": "user", "content": user_message(question, instruction)},
                {"role": "assistant", "content": assistant_content(row["text"])},
            ],
            "problem_id": row["problem_id"], "problem": question, "mode": row["mode"],
            "num_tokens": row["num_tokens"],
        })
        counts[part] += 1
        counts[f"{part}_tokens"] += row["num_tokens"]
    return counts
