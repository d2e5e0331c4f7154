"""The Engine protocol: turn prompts into completions, one stored sample per request."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from evalkit.prompts import RenderedPrompt
from evalkit.records import Completion


@dataclass(frozen=True)
class SamplingConfig:
    """Decoding settings shared by every request of a run. temperature 0 means greedy."""

    temperature: float
    top_p: float
    max_tokens: int

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GenerationRequest:
    """One sample to generate: its problem, index among that problem's samples, seed, prompt."""

    problem_id: str
    sample_index: int
    seed: int
    prompt: RenderedPrompt


BatchCallback = Callable[[list[tuple[GenerationRequest, Completion]]], None]


class Engine(Protocol):
    """Generates completions; calls `on_batch` as soon as each batch is done (for the store)."""

    name: str
    tokenizer: Any  # a transformers tokenizer: prompts are rendered with its chat template

    def prepare(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> None:
        """Get ready for this work before `generate` (vllm sizes its memory and loads here);
        `generate` prepares by itself when it was not called."""

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        sampling: SamplingConfig,
        on_batch: BatchCallback,
    ) -> None: ...

    def info(self) -> dict[str, Any]: ...


def sample_seed(run_seed: int, problem_id: str, sample_index: int) -> int:
    """Seed of one sample from (run seed, problem id, sample index): independent of batching."""
    digest = hashlib.sha256(f"{run_seed}:{problem_id}:{sample_index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
