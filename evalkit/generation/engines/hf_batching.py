"""Continuous batching for the hf engine: finished rows leave the KV cache, waiting prompts join.

`Decoder.run` prefills left-padded prompts, then feeds every running row one token per step
through a transformers causal LM with a DynamicCache. Each row's position ids count its own
real tokens (as `generate` computes them from the attention mask), so greedy rows get the
tokens `generate` gives them.

When every cache layer is a plain full-attention DynamicLayer the running batch is reshaped as
it goes: a row that finishes is dropped from the cache at once, padding columns that no row
still needs are cut off, and waiting prompts are prefilled and merged in (all caches
left-padded to a common width) whenever slots are free; prompts that join together are
prefilled in groups of similar length, which wastes less on padding than one wide prefill (on a
2-core CPU, 20 GSM8K prompts: 4.5 s in groups of 4-5 against 6.1 s at once). Those layers also
keep spare columns, so a step writes its keys and values in place instead of copying the whole
cache. Other caches (sliding-window or linear-attention layers) keep static batches: finished
rows ride along, fed the pad token, until the whole batch ends, as in `generate`.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from evalkit.generation.engines.hf_sampling import TokenChooser

PREFILL_TOKENS = 512  # padded prompt tokens per prefill forward (benchmarks/peers.py, 2-core CPU)


@dataclass(frozen=True)
class DecodeJob:
    """What one `Decoder.run` decodes, and how each row chooses its tokens and ends."""

    prompts: Sequence[list[int]]  # token ids, in the order they are admitted
    generators: Sequence[torch.Generator | None]  # prompt i's, handed to `choose` with its logits
    choose: TokenChooser
    budgets: Sequence[int]  # prompt i's most new tokens
    stop_text: Callable[[list[int]], bool] | None = None  # whether generated ids hold a stop string


@dataclass
class Finished:
    """A row that ended: its prompt's position in the job, its ids, why it ended."""

    index: int
    tokens: list[int]  # generated ids, the stop token included when it ended on one
    reason: str  # "stop" (a stop token or stop string) or "length"


FinishedCallback = Callable[[list[Finished]], None]


@dataclass
class _Batch:
    """The running rows: their KV cache, left-padded attention mask and per-row state."""

    cache: Any  # a transformers DynamicCache
    mask: torch.Tensor  # rows x columns, 1 where a real token is cached
    positions: torch.Tensor  # position id of each row's next input token
    last: torch.Tensor  # each row's next input token
    index: list[int]
    tokens: list[list[int]]
    generators: list[Any]
    done: list[bool]  # finished rows that a static batch keeps


class _SlackLayer(DynamicLayer):
    """A DynamicLayer whose keys and values are views of buffers with spare columns.

    DynamicLayer concatenates, copying the layer's whole cache on every step; here a step
    writes into the spare columns and a copy happens only when they run out.
    """

    spare = 64

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
            self.hold(key_states, value_states)
            return self.keys, self.values
        length, new = self.keys.shape[-2], key_states.shape[-2]
        if length + new > self._key_buffer.shape[-2]:
            self.hold(self.keys, self.values, room=new)
        self._key_buffer[:, :, length : length + new] = key_states
        self._value_buffer[:, :, length : length + new] = value_states
        self.keys = self._key_buffer[:, :, : length + new]
        self.values = self._value_buffer[:, :, : length + new]
        return self.keys, self.values

    def hold(self, keys: torch.Tensor, values: torch.Tensor, room: int = 0) -> None:
        """Make `keys` and `values` (batch x heads x columns x dim) this layer's whole cache,
        with spare columns for `room` more and then some."""
        batch, heads, length, dim = keys.shape
        columns = length + room + self.spare
        self._key_buffer = keys.new_empty((batch, heads, columns, dim))
        self._value_buffer = values.new_empty((batch, heads, columns, values.shape[-1]))
        self._key_buffer[:, :, :length] = keys
        self._value_buffer[:, :, :length] = values
        self.keys = self._key_buffer[:, :, :length]
        self.values = self._value_buffer[:, :, :length]


def _pad_left(tensor: torch.Tensor, width: int, dim: int) -> torch.Tensor:
    missing = width - tensor.shape[dim]
    if missing == 0:
        return tensor
    pad = [0, 0] * (tensor.dim() - 1 - dim) + [missing, 0]
    return F.pad(tensor, pad)


class Decoder:
    """Greedy or per-row sampled decoding of many prompts through one model, batch by batch."""

    def __init__(self, model: Any, pad_id: int, stop_ids: Sequence[int]) -> None:
        self.model = model
        self.pad_id = pad_id
        self.stop_ids = frozenset(stop_ids)
        params = inspect.signature(model.forward).parameters
        self.cache_arg = "cache" if "cache" in params else "past_key_values"
        layers = DynamicCache(config=self.model.config).layers
        self.reshapes = bool(layers) and all(type(layer) is DynamicLayer for layer in layers)

    def _new_cache(self) -> Any:
        cache = DynamicCache(config=self.model.config)
        if self.reshapes:
            cache.layers = [_SlackLayer() for _ in cache.layers]
        return cache

    def run(self, job: DecodeJob, batch_size: int, on_finished: FinishedCallback) -> None:
        """Decode the job's prompts in order, at most `batch_size` rows at a time; report rows
        as they end."""
        waiting = deque(range(len(job.prompts)))
        batch: _Batch | None = None
        while waiting or batch is not None:
            free = batch_size - (len(batch.index) if batch is not None else 0)
            if waiting and free > 0 and (batch is None or self.reshapes):
                take = [waiting.popleft() for _ in range(min(free, len(waiting)))]
                fresh = [self._prefill(group, job)
                         for group in self._prefill_groups(take, job.prompts)]
                batch = self._merge(([batch] if batch is not None else []) + fresh)
            else:
                self._step(batch, job)
            batch, finished = self._collect(batch, job)
            if finished:
                on_finished(finished)

    def _prefill_groups(
        self, take: list[int], prompts: Sequence[list[int]]
    ) -> list[list[int]]:
        """Split prompts joining together into prefills of at most PREFILL_TOKENS padded tokens
        (one prefill for a static batch): small groups of similar length waste less on padding
        than one wide prefill."""
        if not self.reshapes:
            return [take]
        groups: list[list[int]] = [[]]
        for i in take:
            group = groups[-1]
            width = max(len(prompts[j]) for j in [*group, i])
            if group and (len(group) + 1) * width > PREFILL_TOKENS:
                groups.append([])
            groups[-1].append(i)
        return groups

    def _forward(
        self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: Any
    ) -> torch.Tensor:
        output = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
            **{self.cache_arg: cache},
        )
        return output.logits[:, -1].float()

    def _prefill(self, take: list[int], job: DecodeJob) -> _Batch:
        prompts, device = job.prompts, self.model.device
        width = max(len(prompts[i]) for i in take)
        ids = torch.full((len(take), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(take), width), dtype=torch.long)
        for row, i in enumerate(take):
            ids[row, width - len(prompts[i]) :] = torch.tensor(prompts[i])
            mask[row, width - len(prompts[i]) :] = 1
        ids, mask = ids.to(device), mask.to(device)
        positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
        cache = self._new_cache()
        logits = self._forward(ids, mask, positions, cache)
        batch = _Batch(
            cache=cache,
            mask=mask,
            positions=mask.sum(-1),
            last=ids[:, -1],
            index=list(take),
            tokens=[[] for _ in take],
            generators=[job.generators[i] for i in take],
            done=[False] * len(take),
        )
        self._append(batch, logits, job)
        return batch

    def _step(self, batch: _Batch, job: DecodeJob) -> None:
        batch.mask = torch.cat([batch.mask, batch.mask.new_ones((batch.mask.shape[0], 1))], dim=1)
        logits = self._forward(
            batch.last.unsqueeze(1), batch.mask, batch.positions.unsqueeze(1), batch.cache
        )
        batch.positions = batch.positions + 1
        self._append(batch, logits, job)

    def _append(self, batch: _Batch, logits: torch.Tensor, job: DecodeJob) -> None:
        vocabulary = logits.shape[-1]
        tokens = job.choose(logits, lambda: self._history(batch, job, vocabulary),
                            batch.generators)
        if any(batch.done):
            done = torch.tensor(batch.done, device=tokens.device)
            tokens = tokens.masked_fill(done, self.pad_id)
        batch.last = tokens
        for row, token in enumerate(tokens.tolist()):
            if not batch.done[row]:
                batch.tokens[row].append(token)

    def _history(self, batch: _Batch, job: DecodeJob, vocabulary: int) -> torch.Tensor:
        """Each row's prompt and generated ids, right-padded with the id past the vocabulary."""
        rows = [torch.tensor(job.prompts[i] + tokens)
                for i, tokens in zip(batch.index, batch.tokens, strict=True)]
        return pad_sequence(rows, batch_first=True, padding_value=vocabulary)

    def _collect(self, batch: _Batch, job: DecodeJob) -> tuple[_Batch | None, list[Finished]]:
        """Take the rows that just ended out of the batch (or mark them, in a static batch)."""
        finished, ended = [], []
        for row, tokens in enumerate(batch.tokens):
            if batch.done[row]:
                continue
            if tokens[-1] in self.stop_ids or (job.stop_text is not None and job.stop_text(tokens)):
                reason = "stop"
            elif len(tokens) >= job.budgets[batch.index[row]]:
                reason = "length"
            else:
                continue
            finished.append(Finished(batch.index[row], tokens, reason))
            ended.append(row)
        if not ended:
            return batch, finished
        if not self.reshapes:
            for row in ended:
                batch.done[row] = True
            return (None if all(batch.done) else batch), finished
        gone = set(ended)
        keep = [row for row in range(len(batch.index)) if row not in gone]
        if not keep:
            return None, finished
        return self._select(batch, keep), finished

    def _select(self, batch: _Batch, keep: list[int]) -> _Batch:
        """Keep only rows `keep`, and cut the left padding columns none of them needs."""
        rows = torch.tensor(keep, device=batch.mask.device)
        mask = batch.mask[rows]
        start = int(mask.any(dim=0).int().argmax())
        for layer in batch.cache.layers:
            layer.hold(layer.keys[rows, :, start:], layer.values[rows, :, start:])
        return _Batch(
            cache=batch.cache,
            mask=mask[:, start:],
            positions=batch.positions[rows],
            last=batch.last[rows],
            index=[batch.index[r] for r in keep],
            tokens=[batch.tokens[r] for r in keep],
            generators=[batch.generators[r] for r in keep],
            done=[False] * len(keep),
        )

    def _merge(self, batches: list[_Batch]) -> _Batch:
        """One batch of all: each left-padded to the widest, rows stacked (the first's cache)."""
        if len(batches) == 1:
            return batches[0]
        width = max(b.mask.shape[1] for b in batches)
        layers = zip(*(b.cache.layers for b in batches), strict=True)
        for layer in layers:
            layer[0].hold(
                torch.cat([_pad_left(one.keys, width, 2) for one in layer]),
                torch.cat([_pad_left(one.values, width, 2) for one in layer]),
            )
        return _Batch(
            cache=batches[0].cache,
            mask=torch.cat([_pad_left(b.mask, width, 1) for b in batches]),
            positions=torch.cat([b.positions for b in batches]),
            last=torch.cat([b.last for b in batches]),
            index=[i for b in batches for i in b.index],
            tokens=[t for b in batches for t in b.tokens],
            generators=[g for b in batches for g in b.generators],
            done=[d for b in batches for d in b.done],
        )
