"""`evalkit run` and `evalkit tasks`.

The options of `run` are the fields of :class:`~evalkit.run.settings.RunSettings`, whose
defaults they show; only the options given on the command line form its layer, so a preset
or recipe below it fills the rest (:func:`evalkit.run.plan.make_plan`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from evalkit.run.settings import CHOICES, RunSettings, option_name

_DEFAULTS = {f.name: f.default for f in fields(RunSettings)}
_PROMPTS = ("boxed", "bare", "qwen25-math-cot", "plain")  # evalkit.generation.prompts.PRESETS


def _setting(name: str, help: str, **kwargs: Any) -> Callable[[Any], Any]:
    """An option for a RunSettings field: no click default (so a preset can fill it), the
    settings' default shown in the help."""
    default = _DEFAULTS[name]
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    if shown not in (None, ""):
        help = f"{help} [default: {shown}]"
    return click.option(option_name(name), name, default=None, help=help, **kwargs)


@click.command()
@_setting("model", "Hub id (org/name), local checkpoint folder, .gguf file, or smollm2-135m.")
@_setting("revision", "Hub revision (branch, tag or commit).")
@_setting("tasks", "Comma-separated task names or paths to custom .jsonl/.yaml tasks.")
@_setting("limit", "Evaluate only the first N problems of each task.", type=int)
@_setting("n", "Samples per problem.", type=int)
@_setting("k", "pass@k values, e.g. 1,8 (default: 1 and n).")
@_setting("temperature", "Sampling temperature (default: 0 = greedy when n is 1, else 0.6).",
          type=float)
@_setting("top_p", "Nucleus sampling mass (1 when greedy).", type=float)
@_setting("top_k", "Sample among the k most likely tokens only (0 or -1: off).", type=int)
@_setting("min_p", "Drop tokens less likely than min-p times the most likely (0: off).",
          type=float)
@_setting("repetition_penalty", "Penalty on tokens already generated (1: off).", type=float)
@_setting("stop", "A string that ends a completion; repeat for more.", multiple=True)
@_setting("max_tokens", "Generation budget (default: each task's own, see `evalkit tasks`).",
          type=int)
@_setting("seed", "Run seed; each sample's seed derives from it, the problem and the index.",
          type=int)
@_setting("prompt", "Prompt preset.", type=click.Choice(_PROMPTS))
@_setting("chat_template", "model: the model's own chat template; chatml: ChatML written out "
          "(as the Qwen2.5-Math evaluation toolkit does).", type=click.Choice(["model", "chatml"]))
@_setting("extraction", "Answer extraction: evalkit's, or a reference evaluator's.",
          type=click.Choice(CHOICES["extraction"]))
@_setting("profile", "auto: the model's published evaluation settings when evalkit knows them "
          "(see `evalkit profiles`); none: evalkit's defaults; or a profiled model's Hub id.")
@_setting("engine", "auto, hf, vllm, openai (completions endpoint) or openai-chat (chat "
          "endpoint); auto is vllm where vLLM is installed and can run (the CPU build too), else "
          "hf. See docs/engines.md.")
@_setting("batch_size", "hf: rows decoded together (default: as many as fit in half the "
          "free memory, at most 64); openai: requests in flight (default: 8).", type=int)
@_setting("dtype", "Weights dtype.", type=click.Choice(["auto", "float32", "bfloat16",
                                                       "float16"]))
@_setting("base_url", "openai engines: the server's OpenAI API root, e.g. "
          "http://127.0.0.1:8000/v1.")
@_setting("api_key_env", "openai engines: name of the environment variable holding the API key.")
@_setting("request_timeout", "openai engines: seconds to wait for one answer (default: max "
          "tokens at 5 tokens/s, at least 60 s).", type=float)
@_setting("retry_budget", "openai engines: seconds to keep retrying a failing request, e.g. "
          "through a server restart (before the server first answers: at most 30 s).",
          type=float)
@_setting("max_retries", "openai engines: retries of one request before the run stops.",
          type=int)
@_setting("tensor_parallel_size", "vllm: GPUs per engine.", type=int)
@_setting("max_model_len", "Context length: prompts that leave no room in it for max tokens "
          "are refused (default: the model's; vllm: longest prompt + max tokens, rounded up).",
          type=int)
@_setting("context_limit", "When a prompt + max tokens exceed the context: refuse the run "
          "before generating (refuse), or end such samples at the context, as vLLM does without "
          "--max-model-len (cap).", type=click.Choice(CHOICES["context_limit"]))
@_setting("gpu_memory_utilization", "vllm: the most of each GPU it may take (it takes what the "
          "work needs).", type=float)
@_setting("kv_cache_gb", "vllm: KV cache size in GiB (default: sized from the work and the "
          "free memory; see docs/engines.md).", type=float)
@_setting("max_num_seqs", "vllm: sequences in flight at most (default: 256, fewer if memory "
          "is short).", type=int)
@_setting("data_parallel", "Engine processes (one per --tensor-parallel-size GPUs), sharing "
          "problems.", type=int)
@_setting("preset", "Published settings: reasonlite, reasonlite-long or lightreasoner; "
          "options given on the command line override them.")
@_setting("grader_workers", "Grading worker processes.", type=int)
@_setting("grader_timeout", "Wall-clock seconds before a grading job is killed (status "
          "timeout).", type=float)
@_setting("output_dir", "Run folder (default: evalkit-runs/<model>). Reruns resume from it.",
          type=click.Path(path_type=Path))
@_setting("budgets", "Token budgets for the budget curve, e.g. 1024,2048,4096 (each <= max "
          "tokens).")
@_setting("grader_config", "YAML grading policies (see docs/grading.md).",
          type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True,
              help="Resolve and print the plan (each setting with its source); generate nothing.")
def run(dry_run: bool, **values: Any) -> None:
    """Generate, grade and score a model on benchmark tasks."""
    from rich.console import Console

    from evalkit.run.plan import make_plan
    from evalkit.run.settings import Layer
    from evalkit.runfolder.folder import check_output_dir

    ctx = click.get_current_context()
    given = {name: value for name, value in values.items()
             if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT}
    plan = make_plan([Layer("command line", given)])
    if not dry_run:
        check_output_dir(plan.output_dir)
    console = Console()
    notes = [plan.profile_line(),
             f"engine: {plan.engine} ({plan.engine_reason})" if plan.settings.engine == "auto"
             else None]
    for line in filter(None, notes if not dry_run else []):
        Console(stderr=True).print(line, highlight=False, markup=False, soft_wrap=True)
    if dry_run:
        for line in plan.describe():
            console.print(line, highlight=False, markup=False)
        return
    from evalkit.reports.table import render_table
    from evalkit.run.runner import Runner

    results = Runner(plan).run()
    render_table(results, console)
    console.print(f"results: {plan.output_dir / 'results.json'}")


@click.command("tasks")
def tasks_command() -> None:
    """List the built-in tasks with their data and default settings."""
    from rich.console import Console
    from rich.table import Table

    from evalkit.tasks import list_tasks

    table = Table(title="evalkit tasks")
    for column in ("task", "problems", "source", "sha256", "gold format", "max tokens"):
        table.add_column(column)
    for task in list_tasks():
        table.add_row(task.name, str(len(task.load())), task.source, task.sha256()[:16],
                      task.gold_format, str(task.default_max_tokens))
    Console(width=200).print(table)


@click.command("profiles")
@click.argument("model", required=False)
def profiles_command(model: str | None) -> None:
    """List the published evaluation settings evalkit knows (one MODEL: every value with its
    source)."""
    from rich.console import Console

    from evalkit.run.profiles import choose_profile, load_profiles

    console = Console(width=200)
    chosen = [choose_profile(model, model)] if model else list(load_profiles().values())
    for profile in chosen:
        console.print(f"[bold]{profile.model}[/]: {profile.evaluation}", highlight=False)
        if model:
            for name, item in profile.settings.items():
                console.print(f"  {name}: {item.value}  ({item.source})", highlight=False,
                              markup=False)
            if profile.notes:
                console.print(f"  notes: {profile.notes}", highlight=False, markup=False)
        else:
            console.print(f"  {profile.summary()}", highlight=False, markup=False)
