"""Orchestrates `evalkit run`: tasks -> prompts -> engine -> sample store -> grader -> metrics."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evalkit.budget import check_budgets
from evalkit.engines import (
    SERVER_ENGINES,
    Engine,
    EngineOptions,
    GenerationRequest,
    SamplingConfig,
    create_engine,
    resolve_engine_name,
    sample_seed,
)
from evalkit.errors import EvalkitError
from evalkit.grading import Grader, GraderConfig, GradeRequest
from evalkit.manifest import build_manifest
from evalkit.models import ModelRef, resolve_model
from evalkit.prompts import Prompter, get_preset
from evalkit.records import SampleRecord
from evalkit.results import TaskResult, build_results, write_grades, write_results
from evalkit.scoring import score_samples, tokenizer_decoder
from evalkit.store import SampleStore
from evalkit.tasks import Task, get_task


@dataclass
class RunSpec:
    """Everything `evalkit run` was asked to do."""

    model: str
    tasks: list[str]
    output_dir: Path
    engine: str = "auto"
    prompt: str = "boxed"
    n: int = 1
    ks: list[int] = field(default_factory=list)
    temperature: float | None = None  # None: 0 (greedy) when n == 1, else 0.6
    top_p: float = 0.95
    max_tokens: int | None = None  # None: each task's default
    seed: int = 0
    limit: int | None = None
    revision: str | None = None
    batch_size: int = 8
    dtype: str = "auto"
    grader_workers: int = 1
    grader_timeout: float = 10.0
    grader_config: GraderConfig = field(default_factory=GraderConfig)
    budgets: list[int] = field(default_factory=list)  # token budgets of the budget curve
    engine_options: EngineOptions = field(default_factory=EngineOptions)
    data_parallel: int = 1  # engine processes (evalkit.parallel)
    preset: dict[str, Any] | None = None  # the --preset record (evalkit.presets.apply_preset)

    def resolved_temperature(self) -> float:
        if self.temperature is not None:
            return self.temperature
        return 0.0 if self.n == 1 else 0.6

    def resolved_ks(self) -> list[int]:
        ks = sorted(set(self.ks or ([1, self.n] if self.n > 1 else [1])))
        too_big = [k for k in ks if k > self.n]
        if too_big:
            raise EvalkitError(
                f"k={too_big[0]} is larger than n={self.n}: raise --n to at least "
                f"{max(too_big)} or drop that k from --k"
            )
        if any(k < 1 for k in ks):
            raise EvalkitError("--k values must be positive integers")
        return ks


def _store_key(ref: ModelRef, task: Task, spec: RunSpec, sampling: SamplingConfig) -> dict:
    """What must match for stored samples to be reused (n and limit are not part of it)."""
    return {
        "model": {"source": ref.source, "revision": ref.revision},
        "task": {"name": task.name, "sha256": task.sha256()},
        "prompt": get_preset(spec.prompt).to_json(),
        "sampling": sampling.to_json(),
        "seed": spec.seed,
        "engine": resolve_engine_name(spec.engine),
    }


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


class Runner:
    """Runs one RunSpec; the engine is built only if some sample is missing."""

    def __init__(self, spec: RunSpec, console: Console | None = None) -> None:
        self.spec = spec
        self.console = console or Console(stderr=True)
        self.engine: Engine | None = None
        self.engine_info: dict[str, Any] | None = None
        self.engine_load_s = 0.0
        self.generate_s = 0.0

    def run(self) -> dict[str, Any]:
        spec = self.spec
        started = time.time()
        ks = spec.resolved_ks()
        tasks = [get_task(name) for name in spec.tasks]
        get_preset(spec.prompt)
        engine_name = resolve_engine_name(spec.engine)
        if spec.data_parallel > 1 and engine_name in SERVER_ENGINES:
            raise EvalkitError(
                "--data-parallel is for in-process engines: a server engine scales with "
                "--batch-size (requests in flight) and the server's own replicas"
            )
        if engine_name == "openai-chat":
            from evalkit.engines.openai import served_model_ref

            ref = self.ref = served_model_ref(spec.model, spec.revision)
        else:
            ref = self.ref = resolve_model(spec.model, spec.revision)
        spec.output_dir.mkdir(parents=True, exist_ok=True)
        cache_path = spec.output_dir / "grade_cache.json"
        cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
        task_results = []
        with Grader(
            workers=spec.grader_workers, timeout_s=spec.grader_timeout, cache=cache,
            config=spec.grader_config,
        ) as grader:
            for task in tasks:
                task_results.append(self._run_task(task, ref, ks, grader))
                cache_path.write_text(json.dumps(cache))
        results = build_results(
            spec=spec,
            ref=ref,
            task_results=task_results,
            engine_info=self.engine_info or {"name": engine_name},
            timings={
                "total_s": time.time() - started,
                "engine_load_s": self.engine_load_s,
                "generate_s": self.generate_s,
            },
        )
        manifest = self._manifest()
        if manifest is not None:
            results["manifest"] = manifest
        if spec.preset is not None:
            results["preset"] = spec.preset
        write_results(results, spec.output_dir)
        if spec.budgets:
            from evalkit.plot import plot_budget_curves

            plot_budget_curves(results, spec.output_dir / "budget_curve.png")
        return results

    def _manifest(self) -> dict[str, Any] | None:
        """This run's engine manifest; a rerun that generated nothing keeps the previous one."""
        spec = self.spec
        if self.engine_info is not None:
            return build_manifest(self.engine_info, spec.data_parallel, spec.batch_size)
        previous = spec.output_dir / "results.json"
        if previous.is_file():
            return json.loads(previous.read_text()).get("manifest")
        return None

    def _sampling(self, task: Task) -> SamplingConfig:
        spec = self.spec
        temperature = spec.resolved_temperature()
        return SamplingConfig(
            temperature=temperature,
            top_p=spec.top_p if temperature > 0 else 1.0,
            max_tokens=spec.max_tokens or task.default_max_tokens,
        )

    def _run_task(self, task: Task, ref: ModelRef, ks: list[int], grader: Grader) -> TaskResult:
        spec = self.spec
        problems = task.load(limit=spec.limit)
        sampling = self._sampling(task)
        budgets = check_budgets(spec.budgets, sampling.max_tokens)
        key = _store_key(ref, task, spec, sampling)
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
        stem = f"{task.name}-{digest}"
        samples_dir = spec.output_dir / "samples"
        samples_dir.mkdir(exist_ok=True)
        store = SampleStore(samples_dir / f"{stem}.jsonl")
        (samples_dir / f"{stem}.meta.json").write_text(json.dumps(key, indent=1))
        missing = [(p, i) for p in problems for i in range(spec.n) if (p.id, i) not in store]
        stored = len(problems) * spec.n - len(missing)
        self.console.print(
            f"[bold]{task.name}[/]: {len(problems)} problems x {spec.n} samples, "
            f"{stored} stored, {len(missing)} to generate"
        )
        gen_started = time.time()
        if missing:
            self._generate(task, missing, sampling, store)
        gen_s = time.time() - gen_started
        samples = [[store.get(p.id, i) for i in range(spec.n)] for p in problems]
        grade_started = time.time()
        requests = [
            GradeRequest(s.text, p.gold, p.answer_kind, s.finish_reason, task.name)
            for p, row in zip(problems, samples, strict=True)
            for s in row
        ]
        with _progress(self.console) as bar:
            job = bar.add_task(f"grading {task.name}", total=len(requests))
            grades = grader.grade(requests, progress=lambda k: bar.advance(job, k))
        stats = score_samples(
            problems, samples, grades, grader,
            tokenizer_decoder(self.engine.tokenizer if self.engine else ref.path),
            ks, budgets, spec.seed,
        )
        grade_s = time.time() - grade_started
        result = TaskResult(
            task=task,
            problems=problems,
            samples=samples,
            grades=grades,
            metrics=stats.metrics,
            sampling=sampling,
            samples_file=store.path,
            generate_s=gen_s,
            grade_s=grade_s,
            classes=stats.classes,
            answer_tokens=stats.answer_tokens,
            budget_curve=stats.budget_curve,
        )
        write_grades(result)
        return result

    def _generate(
        self, task: Task, missing: list, sampling: SamplingConfig, store: SampleStore
    ) -> None:
        started, load_before = time.time(), self.engine_load_s
        with _progress(self.console) as bar:
            job = bar.add_task(f"generating {task.name}", total=len(missing))

            def on_batch(done: list) -> None:
                store.append(
                    SampleRecord(
                        problem_id=r.problem_id,
                        sample_index=r.sample_index,
                        seed=r.seed,
                        text=c.text,
                        num_tokens=c.num_tokens,
                        finish_reason=c.finish_reason,
                        prompt_tokens=c.prompt_tokens,
                        token_ids=c.token_ids,
                    )
                    for r, c in done
                )
                bar.advance(job, len(done))

            if self.spec.data_parallel > 1:
                self._generate_data_parallel(missing, sampling, on_batch)
            else:
                engine = self._engine()
                prompter = Prompter(get_preset(self.spec.prompt), engine.tokenizer)
                requests = [
                    GenerationRequest(
                        p.id, i, sample_seed(self.spec.seed, p.id, i), prompter.render(p.question)
                    )
                    for p, i in missing
                ]
                engine.generate(requests, sampling, on_batch)
        # Engine start-up inside this call is model load, not generation.
        self.generate_s += time.time() - started - (self.engine_load_s - load_before)

    def _generate_data_parallel(self, missing: list, sampling: SamplingConfig, on_batch) -> None:
        from evalkit.parallel import WorkerJob, WorkItem, generate_data_parallel

        spec = self.spec
        job = WorkerJob(
            spec.engine, self.ref.path, spec.batch_size, spec.dtype, spec.engine_options,
            spec.prompt, sampling,
        )
        items = [WorkItem(p.id, i, sample_seed(spec.seed, p.id, i), p.question) for p, i in missing]
        report = generate_data_parallel(spec.data_parallel, job, items, on_batch)
        if report.engine_info:
            self.engine_info = report.engine_info[min(report.engine_info)]
        self.engine_load_s += report.load_s

    def _engine(self) -> Engine:
        if self.engine is None:
            spec = self.spec
            started = time.time()
            with self.console.status(f"loading {spec.model} ({resolve_engine_name(spec.engine)})"):
                self.engine = create_engine(
                    spec.engine, self.ref.path, spec.batch_size, spec.dtype,
                    replace(spec.engine_options, served_model=spec.model),
                )
            self.engine_load_s = time.time() - started
            self.engine_info = self.engine.info()
        return self.engine
