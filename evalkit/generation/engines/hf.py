"""transformers engine: continuous batching over a KV cache, per-sample seeded sampling."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psutil
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

from evalkit.generation.engines.base import BatchCallback, GenerationRequest, SamplingConfig
from evalkit.generation.engines.context import (
    budgets_within,
    check_prompt_lengths,
    model_context,
)
from evalkit.generation.engines.hf_batching import DecodeJob, Decoder, Finished
from evalkit.generation.engines.hf_sampling import TokenChooser
from evalkit.records import Completion

transformers.logging.disable_progress_bar()

MAX_AUTO_BATCH = 64  # beyond this a CPU gains no throughput (docs/engines.md, hf)
MEMORY_SHARE = 0.5  # of the memory available when generation starts


def _pick_dtype(name: str) -> torch.dtype:
    if name == "auto":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def row_bytes(config: Any, dtype: torch.dtype, tokens: int) -> int:
    """Memory one row of `tokens` (prompt + completion) needs: its KV cache and activations."""
    text = config.get_text_config()
    heads = text.num_attention_heads
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
    kv_heads = getattr(text, "num_key_value_heads", None) or heads
    size = torch.finfo(dtype).bits // 8
    kv = 2 * text.num_hidden_layers * kv_heads * head_dim * size
    intermediate = getattr(text, "intermediate_size", None) or 4 * text.hidden_size
    activations = (4 * text.hidden_size + 3 * intermediate) * size
    return tokens * (kv + activations) + 3 * text.vocab_size * 4  # float32 logits, probs, cdf


def available_memory(device: str) -> int:
    """Bytes free for generation on `device` right now."""
    if device == "cuda":
        return torch.cuda.mem_get_info()[0]
    return psutil.virtual_memory().available


@dataclass(frozen=True)
class _Prepared:
    """The work `prepare` readied: its requests and settings, their token ids, the batch size."""

    requests: tuple[GenerationRequest, ...]
    sampling: SamplingConfig
    encoded: tuple[list[int], ...]  # per request
    batch_size: int


class HFEngine:
    """The CPU default and reference engine.

    `batch_size` None: chosen from the free memory for each work (`prepare`). `max_model_len`
    None: the model's own context; prompts that leave too little of it for the token budget
    are refused before anything is generated, or with `cap_at_context` end at the context.
    """

    name = "hf"

    def __init__(
        self,
        model_path: str,
        batch_size: int | None = None,
        dtype: str = "auto",
        max_model_len: int | None = None,
        cap_at_context: bool = False,
    ) -> None:
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.dtype = _pick_dtype(dtype)
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.tokenizer.padding_side = "left"
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=self.dtype)
        self.model.to(self.device).eval()
        self.context = max_model_len or model_context(self.model.config)
        self.cap_at_context = cap_at_context
        self.stop_ids = self._stop_ids()
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token_id = self.stop_ids[0]
        self.decoder = Decoder(self.model, self.tokenizer.pad_token_id, self.stop_ids)
        self.prepared: _Prepared | None = None

    def _stop_ids(self) -> list[int]:
        ids = self.model.generation_config.eos_token_id
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in ids:
            ids.append(self.tokenizer.eos_token_id)
        return ids

    def info(self) -> dict[str, Any]:
        if self.decoder.reshapes:
            batching = ("continuous: finished rows leave the KV cache, waiting prompts join; "
                        "sorted by prompt length")
        else:
            batching = "static, left-padded, sorted by prompt length"
        if self.batch_size is not None:
            rule = "given"
        else:
            rule = f"{MEMORY_SHARE:.0%} of free memory, at most {MAX_AUTO_BATCH}"
        chosen = self.prepared.batch_size if self.prepared is not None else None
        return {
            "name": self.name,
            "device": self.device,
            "dtype": str(self.dtype).removeprefix("torch."),
            "batch_size": self.batch_size or chosen,
            "batch_size_rule": rule,
            "batching": batching,
            "context": self.context,
            "context_limit": "cap" if self.cap_at_context else "refuse",
        }

    def choose_batch_size(self, prompts: Sequence[list[int]], max_tokens: int) -> int:
        """The batch size given, else as many rows as fit in a share of the free memory."""
        if self.batch_size is not None:
            return self.batch_size
        longest = max(len(p) for p in prompts) + max_tokens
        if self.cap_at_context and self.context is not None:
            longest = min(longest, self.context)
        per_row = row_bytes(self.model.config, self.dtype, longest)
        fits = int(available_memory(self.device) * MEMORY_SHARE) // per_row
        return max(1, min(MAX_AUTO_BATCH, fits, len(prompts)))

    def check(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> None:
        """Refuse prompts too long for the context (see `check_prompt_lengths`)."""
        self._checked(requests, sampling)

    def _checked(self, requests: Sequence[GenerationRequest],
                 sampling: SamplingConfig) -> tuple[list[int], ...]:
        """The requests' prompt token ids, once each prompt is known to fit the context."""
        prompts = dict.fromkeys(r.prompt for r in requests)  # samples of a problem share one
        ids = {p: self.tokenizer(p.text, add_special_tokens=p.add_special_tokens).input_ids
               for p in prompts}
        encoded = tuple(ids[r.prompt] for r in requests)
        check_prompt_lengths(requests, [len(e) for e in encoded], sampling.max_tokens,
                             self.context, self.name, self.cap_at_context)
        return encoded

    def prepare(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> None:
        """Tokenize the prompts, refuse any too long for the context, choose the batch size."""
        encoded = self._checked(requests, sampling)
        size = self.choose_batch_size(encoded, sampling.max_tokens) if encoded else 1
        self.prepared = _Prepared(tuple(requests), sampling, encoded, size)

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        sampling: SamplingConfig,
        on_batch: BatchCallback,
    ) -> None:
        if not requests:
            return
        work = self.prepared
        if work is None or work.sampling != sampling or work.requests != tuple(requests):
            self.prepare(requests, sampling)
            work = self.prepared
        order = sorted(range(len(requests)), key=lambda i: len(work.encoded[i]))
        prompts = [work.encoded[i] for i in order]
        generators = (None if sampling.greedy else torch.Generator().manual_seed(requests[i].seed)
                      for i in order)
        budgets = budgets_within([len(p) for p in prompts], sampling.max_tokens, self.context,
                                 self.cap_at_context)
        job = DecodeJob(prompts, list(generators), TokenChooser(sampling), budgets,
                        self._stop_text(sampling.stop))

        def on_finished(finished: list[Finished]) -> None:
            on_batch([
                (requests[order[f.index]], self._completion(f, len(prompts[f.index])))
                for f in finished
            ])

        with torch.inference_mode():
            self.decoder.run(job, work.batch_size, on_finished)

    def _stop_text(self, stop: Sequence[str]) -> Callable[[list[int]], bool] | None:
        """Whether a row's generated ids end in text holding one of the `stop` strings: the
        tail decoded is long enough for the longest (each token carries at least one byte)."""
        stop = [s for s in stop if s]
        if not stop:
            return None
        tail = max(len(s.encode()) for s in stop) + 1

        def holds_stop(tokens: list[int]) -> bool:
            text = self.tokenizer.decode(tokens[-tail:], skip_special_tokens=True)
            return any(s in text for s in stop)

        return holds_stop

    def _completion(self, finished: Finished, prompt_tokens: int) -> Completion:
        on_stop_token = finished.reason == "stop" and finished.tokens[-1] in self.stop_ids
        kept = finished.tokens[:-1] if on_stop_token else finished.tokens
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        return Completion(text, len(finished.tokens), finished.reason, token_ids=kept,
                          prompt_tokens=prompt_tokens)
