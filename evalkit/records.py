"""Plain records passed between the stages of a run: problems, generations, grades."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

GRADE_STATUSES = ("correct", "wrong", "no_answer", "truncated", "timeout", "error")
AnswerClass = int | None  # a sample's equivalence class within its problem; None: no answer


@dataclass(frozen=True)
class Problem:
    """One benchmark item: a stable id, the prompt text, and the normalised gold answer."""

    id: str
    question: str
    gold: str
    answer_kind: str = "math"  # "math" (numeric / LaTeX) or "choice" (a letter A-J)
    choices: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Completion:
    """What an engine returns for one sample."""

    text: str
    num_tokens: int
    finish_reason: str  # "stop" or "length"
    token_ids: list[int] | None = None
    prompt_tokens: int = 0


@dataclass
class SampleRecord:
    """One stored generation: a line of a sample store."""

    problem_id: str
    sample_index: int
    seed: int
    text: str
    num_tokens: int  # generated tokens, the stop token included
    finish_reason: str
    prompt_tokens: int = 0
    token_ids: list[int] | None = None  # generated ids without the stop token, where known

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> SampleRecord:
        """The record of a store line; ValueError names the first field that is wrong."""
        if not isinstance(data, dict):
            raise ValueError("not a sample record (a JSON object)")
        for name, kinds in _SAMPLE_FIELDS.items():
            if name not in data:
                if name in _OPTIONAL:
                    continue
                raise ValueError(f"no field {name!r}")
            value = data[name]
            if not isinstance(value, kinds) or isinstance(value, bool):
                raise ValueError(f"field {name!r} has the wrong type ({type(value).__name__})")
        ids = data.get("token_ids")
        if ids is not None and not all(isinstance(i, int) for i in ids):
            raise ValueError("field 'token_ids' holds something other than integers")
        if data["sample_index"] < 0:
            raise ValueError("field 'sample_index' is negative")
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


_SAMPLE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "problem_id": str, "sample_index": int, "seed": int, "text": str, "num_tokens": int,
    "finish_reason": str, "prompt_tokens": int, "token_ids": (list, type(None)),
}
_OPTIONAL = ("prompt_tokens", "token_ids")


@dataclass
class Grade:
    """The verdict on one sample and how it was reached."""

    status: str  # one of GRADE_STATUSES
    extracted: str | None = None
    rule: str | None = None  # the extraction rule that fired
    detail: str | None = None  # why, for error / timeout / no_answer

    @property
    def correct(self) -> bool:
        return self.status == "correct"
