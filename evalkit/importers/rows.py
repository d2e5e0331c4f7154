"""What a format adapter yields: one row of someone else's output file, in evalkit's terms."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class ExternalSample:
    """One completion as the producing tool stored it, with its verdict where it has one."""

    text: str
    label: bool | None = None  # the producer's verdict (score / is_correct / exact_match / acc)
    extracted: str | None = None  # the producer's extracted answer, where it kept one
    finish_reason: str | None = None  # "stop" / "length" where stated
    num_tokens: int | None = None  # generated tokens where stated


@dataclass(slots=True)
class ExternalRow:
    """One problem's worth of a source file: how to find the problem, and its samples."""

    where: str  # "line 12" (for messages)
    question: str | None  # the problem text, matched to a task after normalisation
    source_id: str | None  # the producer's id of the problem, matched when there is no text
    samples: list[ExternalSample] = field(default_factory=list)
    gold: str | None = None  # the file's own gold answer (--gold-field)
    task: str | None = None  # a task name the row names itself (openai-batch "task:id")
    error: str | None = None  # why the producer has no completion for it (a failed request)
