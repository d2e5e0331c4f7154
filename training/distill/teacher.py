"""Teacher prompts in a reasoning mode, and the default way to build the teacher's engine.

A reasoning mode ("medium", "high") is a setting of the teacher's system prompt. Chat templates
that take a ``reasoning_effort`` variable (gpt-oss writes "Reasoning: high" into its system
message) get the mode that way; for any other template the mode goes into a system message
``Reasoning: <mode>``, so the prompt always carries it and the solutions record it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from evalkit.generation.engines import Engine
from evalkit.generation.prompts import RenderedPrompt

from .recipe import TeacherSettings


def user_message(question: str, instruction: str) -> str:
    """The user turn, as ReasonLite's infer_prompt builds it: question, newline, instruction."""
    return f"{question}\n{instruction}" if instruction else question


def takes_reasoning_effort(tokenizer: Any) -> bool:
    template = getattr(tokenizer, "chat_template", None) or ""
    if isinstance(template, dict):
        template = " ".join(template.values())
    return "reasoning_effort" in template


def teacher_prompt(tokenizer: Any, question: str, mode: str, instruction: str) -> RenderedPrompt:
    """The chat prompt for one problem in one reasoning mode."""
    messages = [{"role": "user", "content": user_message(question, instruction)}]
    extra: dict[str, str] = {}
    if takes_reasoning_effort(tokenizer):
        extra["reasoning_effort"] = mode
    else:
        messages.insert(0, {"role": "system", "content": f"Reasoning: {mode}"})
    text = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=False, **extra
    )
    return RenderedPrompt(text, add_special_tokens=False)


def create_teacher_engine(teacher: TeacherSettings) -> Engine:
    """The teacher in the named evalkit engine, built as `evalkit run` builds it: the model
    resolved to a local folder, except for ``openai-chat``, which names a served model."""
    from evalkit.generation.engines import EngineOptions, create_engine, resolve_engine_name

    options = EngineOptions(**teacher.engine_options)
    options = replace(options, served_model=options.served_model or teacher.model)
    if resolve_engine_name(teacher.engine) == "openai-chat":
        path = ""
    else:
        from evalkit.generation.models import resolve_model

        path = resolve_model(teacher.model).path
    return create_engine(teacher.engine, path, teacher.batch_size, teacher.dtype, options)
