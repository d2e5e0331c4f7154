"""A model's context length, and the check that every prompt leaves room in it for the budget."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.generation.engines.base import GenerationRequest


def model_context(config: Any) -> int | None:
    """The model's context as vLLM derives it: max_position_embeddings, times the rope
    scaling factor where the config scales rope (linear, dynamic, yarn)."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    context = getattr(text, "max_position_embeddings", None)
    rope = getattr(text, "rope_scaling", None) or getattr(text, "rope_parameters", None) or {}
    factor = rope.get("factor") if rope.get("rope_type", rope.get("type")) not in (
        None, "default", "llama3", "longrope", "su", "mrope") else None
    if context is None or not factor:
        return context
    base = rope.get("original_max_position_embeddings") or context
    return int(base * factor)


def check_prompt_lengths(
    requests: Sequence[GenerationRequest],
    prompt_lengths: Sequence[int],
    max_tokens: int,
    context: int | None,
    engine: str,
    cap: bool = False,
) -> None:
    """Refuse the work, before anything is generated, when a prompt plus `max_tokens` does not
    fit in `context` (None: unknown, nothing to check): one line naming the longest such
    prompt's problem, its length, the budget, the context and the fix. With `cap`
    (``--context-limit cap``) a sample may end at the context instead, so only a prompt that
    fills the context on its own is refused."""
    if context is None:
        return
    need = 1 if cap else max_tokens
    over = [(length, r.problem_id) for r, length in zip(requests, prompt_lengths, strict=True)
            if length + need > context]
    if not over:
        return
    length, problem = max(over)
    others = {p for _, p in over} - {problem}
    also = f" (and {len(others)} more problem{'s' * (len(others) > 1)})" if others else ""
    if cap:
        raise EvalkitError(
            f"problem {problem}: prompt of {length} tokens leaves no room in the context of "
            f"{context} tokens ({engine} engine){also}: set --max-model-len if the model allows "
            "more, or use a longer-context model")
    room = context - length
    lower = f"lower --max-tokens to at most {room}, " if room > 0 else ""
    raise EvalkitError(
        f"problem {problem}: prompt of {length} tokens + --max-tokens {max_tokens} exceed the "
        f"context of {context} tokens ({engine} engine){also}: {lower}--context-limit cap to "
        "end such samples at the context, set --max-model-len if the model allows more, or use "
        "a longer-context model"
    )


def budgets_within(prompt_lengths: Sequence[int], max_tokens: int, context: int | None,
                   cap: bool) -> list[int]:
    """Each prompt's token budget: `max_tokens`, or with `cap` what is left of the context
    after the prompt when that is less (as vLLM ends a sample at its max_model_len)."""
    if not cap or context is None:
        return [max_tokens] * len(prompt_lengths)
    return [min(max_tokens, context - length) for length in prompt_lengths]
