"""The Engine protocol: turn prompts into completions, one stored sample per request."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from evalkit.generation.prompts import RenderedPrompt
from evalkit.records import Completion


@dataclass(frozen=True)
class SamplingConfig:
    """Decoding settings shared by every request of a task. temperature 0 means greedy;
    top_k 0, min_p 0 and repetition_penalty 1 are off; ``stop`` strings end a completion
    (the stop string itself is not kept)."""

    temperature: float
    top_p: float
    max_tokens: int
    top_k: int = 0
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    stop: tuple[str, ...] = ()

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def to_json(self) -> dict[str, Any]:
        """The settings; those left at their default (off) are left out, so runs made before
        they existed keep their store keys."""
        data = {name: value for name, value in asdict(self).items()
                if name not in _OFF or value != _OFF[name]}
        if "stop" in data:
            data["stop"] = list(data["stop"])
        return data


_OFF: dict[str, Any] = {"top_k": 0, "min_p": 0.0, "repetition_penalty": 1.0, "stop": ()}


def cut_at_stop(completion: Completion, stop: Sequence[str]) -> Completion:
    """The completion ended at the first of the ``stop`` strings it holds (the string itself
    dropped, finish reason ``stop``). Engines pass the strings on so generation ends early; this
    makes the stored text the same whichever engine ran. The token ids of a cut completion no
    longer match its text and are dropped."""
    ends = [at for at in (completion.text.find(s) for s in stop if s) if at >= 0]
    if not ends:
        return completion
    return replace(completion, text=completion.text[: min(ends)], finish_reason="stop",
                   token_ids=None)


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

    def check(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> None:
        """Refuse work that cannot run (a prompt too long for the context) with one line;
        nothing is loaded or generated. `prepare` checks too."""

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
