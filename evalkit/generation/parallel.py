"""--data-parallel N: N engine processes, each on its own GPUs, feeding one sample-store writer.

Problems are dealt round-robin to the workers (all samples of a problem stay on one worker, so
its prompt is cached once and its consecutive seeds form one vLLM request). Each worker builds
its engine with CUDA_VISIBLE_DEVICES set to its own `tensor_parallel_size` GPUs, renders its
prompts and sends every finished batch to the parent over a queue; the parent alone appends to
the sample store. A worker that dies loses only its requests in flight: the others finish,
then the run stops with an error and a rerun generates just the missing samples.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.generation.engines import (
    EngineOptions,
    GenerationRequest,
    SamplingConfig,
    create_engine,
)
from evalkit.records import Completion, Problem

POLL_S = 1.0


@dataclass(frozen=True)
class WorkItem:
    """One sample to generate, before its prompt is rendered (the worker renders it)."""

    problem_id: str
    sample_index: int
    seed: int
    problem: Problem


@dataclass(frozen=True)
class WorkerJob:
    """What every worker needs to build its engine and prompter."""

    engine: str
    model_path: str
    batch_size: int | None
    dtype: str
    options: EngineOptions
    prompt: str
    sampling: SamplingConfig
    chat_template: str = "model"


DoneCallback = Callable[[list[tuple[WorkItem, Completion]]], None]


def shard(items: Sequence[WorkItem], world: int) -> list[list[WorkItem]]:
    """Deal problems round-robin in order of first appearance; a problem stays whole."""
    order: dict[str, int] = {}
    shards: list[list[WorkItem]] = [[] for _ in range(world)]
    for item in items:
        rank = order.setdefault(item.problem_id, len(order) % world)
        shards[rank].append(item)
    return shards


def device_groups(world: int, tensor_parallel: int, visible: list[str]) -> list[str | None]:
    """CUDA_VISIBLE_DEVICES of each worker: consecutive groups of `tensor_parallel` GPUs."""
    if not visible:
        return [None] * world
    needed = world * tensor_parallel
    if needed > len(visible):
        raise EvalkitError(
            f"--data-parallel {world} x --tensor-parallel-size {tensor_parallel} needs {needed} "
            f"GPUs, {len(visible)} visible: lower one of them"
        )
    return [
        ",".join(visible[rank * tensor_parallel : (rank + 1) * tensor_parallel])
        for rank in range(world)
    ]


def visible_gpus() -> list[str]:
    """The GPU ids this process may use, as CUDA_VISIBLE_DEVICES entries."""
    from evalkit.generation.engines import gpu_count

    count = gpu_count()
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed:
        return [d.strip() for d in listed.split(",") if d.strip()][:count]
    return [str(i) for i in range(count)]


def _worker(
    rank: int, devices: str | None, job: WorkerJob, items: list[WorkItem], out: Any
) -> None:
    if devices is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = devices
    try:
        from evalkit.generation.prompts import Prompter, get_preset

        engine = create_engine(job.engine, job.model_path, job.batch_size, job.dtype, job.options)
        prompter = Prompter(get_preset(job.prompt), engine.tokenizer, job.chat_template)
        requests = [
            GenerationRequest(i.problem_id, i.sample_index, i.seed,
                              prompter.render_problem(i.problem))
            for i in items
        ]
        engine.prepare(requests, job.sampling)
        out.put(("ready", rank, engine.info()))

        def send(done: list[tuple[GenerationRequest, Completion]]) -> None:
            out.put(("batch", rank, [((r.problem_id, r.sample_index), c) for r, c in done]))

        engine.generate(requests, job.sampling, send)
        out.put(("done", rank, None))
    except EvalkitError as err:
        out.put(("error", rank, str(err)))
    except Exception as err:
        traceback.print_exc()
        out.put(("error", rank, f"{type(err).__name__}: {err}"))


@dataclass
class ParallelReport:
    """What the workers said about themselves: engine info per rank and load time."""

    engine_info: dict[int, dict[str, Any]]
    load_s: float


def generate_data_parallel(
    world: int, job: WorkerJob, items: Sequence[WorkItem], on_batch: DoneCallback
) -> ParallelReport:
    """Run `world` workers over `items`; call `on_batch` in this process for every batch."""
    by_key = {(i.problem_id, i.sample_index): i for i in items}
    shards = shard(items, world)
    devices = device_groups(world, job.options.tensor_parallel_size, visible_gpus())
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = {
        rank: context.Process(target=_worker, args=(rank, devices[rank], job, shards[rank], out))
        for rank in range(world)
        if shards[rank]
    }
    started = time.time()
    for process in workers.values():
        process.start()
    report = ParallelReport({}, 0.0)
    errors: list[str] = []
    alive = set(workers)
    try:
        while alive:
            try:
                kind, rank, payload = out.get(timeout=POLL_S)
            except queue_module.Empty:
                for rank in sorted(alive):
                    code = workers[rank].exitcode
                    if code is not None:  # gone without saying done: killed or crashed
                        errors.append(f"data-parallel worker {rank} died (exit code {code})")
                        alive.discard(rank)
                continue
            if kind == "batch":
                on_batch([(by_key[key], completion) for key, completion in payload])
            elif kind == "ready":
                report.engine_info[rank] = payload
                report.load_s = time.time() - started
            else:
                alive.discard(rank)
                if kind == "error":
                    errors.append(f"data-parallel worker {rank}: {payload}")
    finally:
        for process in workers.values():
            if process.is_alive() and alive:
                process.terminate()
            process.join()
    if errors:
        raise EvalkitError(
            "; ".join(errors) + ": finished samples are stored; rerun the same command to resume"
        )
    return report
