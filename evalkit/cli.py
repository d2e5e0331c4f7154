"""The `evalkit` command line: a thin layer over the runner, tasks and reports."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from evalkit import __version__
from evalkit.errors import EvalkitError
from evalkit.importers.cli import grade_command, import_command
from evalkit.models import DEFAULT_MODEL
from evalkit.options import int_list
from evalkit.prompts import PRESETS
from evalkit.records import GRADE_STATUSES
from evalkit.release.cli import card, gate, leaderboard, publish, release
from evalkit.stats_cli import compare, plan
from evalkit.training.cli import train

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class EvalkitGroup(click.Group):
    """Turns EvalkitError into one line on stderr and a non-zero exit."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EvalkitError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(EXIT_USER_ERROR)
        except KeyboardInterrupt:
            click.echo(
                "interrupted: finished batches are stored; rerun the same command to resume",
                err=True,
            )
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=EvalkitGroup)
@click.version_option(__version__, prog_name="evalkit")
def main() -> None:
    """Evaluate, gate and publish small math-reasoning models."""


for command in (compare, plan, gate, card, publish, leaderboard, release, train,
                import_command, grade_command):
    main.add_command(command)


@main.command()
@click.option(
    "--model",
    default=DEFAULT_MODEL,
    show_default=True,
    help="Hub id (org/name), local checkpoint folder, .gguf file, or smollm2-135m.",
)
@click.option("--revision", default=None, help="Hub revision (branch, tag or commit).")
@click.option(
    "--tasks",
    "task_list",
    default="aime24,aime25,amc23",
    show_default=True,
    help="Comma-separated task names or paths to custom .jsonl/.yaml tasks.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Evaluate only the first N problems of each task.",
)
@click.option(
    "--n",
    "n",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Samples per problem.",
)
@click.option("--k", "k", default=None, help="pass@k values, e.g. 1,8 (default: 1 and n).")
@click.option(
    "--temperature",
    type=click.FloatRange(min=0.0),
    default=None,
    help="Sampling temperature (default: 0 = greedy when n is 1, else 0.6).",
)
@click.option(
    "--top-p", type=click.FloatRange(0.0, 1.0, min_open=True), default=0.95, show_default=True
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    default=None,
    help="Generation budget (default: each task's own, see `evalkit tasks`).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--prompt", type=click.Choice(list(PRESETS)), default="boxed", show_default=True)
@click.option("--engine", default="auto", show_default=True,
              help="auto, hf, vllm, openai (completions endpoint) or openai-chat (chat endpoint); "
                   "auto is vllm where vLLM is installed and can run (the CPU build too), "
                   "else hf. See docs/engines.md.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option(
    "--dtype",
    type=click.Choice(["auto", "float32", "bfloat16", "float16"]),
    default="auto",
    show_default=True,
)
@click.option("--base-url", default=None,
              help="openai engines: the server's OpenAI API root, e.g. http://127.0.0.1:8000/v1.")
@click.option("--api-key-env", default=None,
              help="openai engines: name of the environment variable holding the API key.")
@click.option("--tensor-parallel-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="vllm: GPUs per engine.")
@click.option("--max-model-len", type=click.IntRange(min=1), default=None,
              help="vllm: context length (default: longest prompt + max tokens, rounded up).")
@click.option("--gpu-memory-utilization", type=click.FloatRange(0.0, 1.0, min_open=True),
              default=0.9, show_default=True,
              help="vllm: the most of each GPU it may take (it takes what the work needs).")
@click.option("--kv-cache-gb", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="vllm: KV cache size in GiB (default: sized from the work and the free "
                   "memory; see docs/engines.md).")
@click.option("--max-num-seqs", type=click.IntRange(min=1), default=None,
              help="vllm: sequences in flight at most (default: 256, fewer if memory is short).")
@click.option("--data-parallel", type=click.IntRange(min=1), default=1, show_default=True,
              help="Engine processes (one per --tensor-parallel-size GPUs), sharing problems.")
@click.option("--preset", default=None,
              help="Published settings: reasonlite, reasonlite-long or lightreasoner; "
                   "options given on the command line override them.")
@click.option("--grader-workers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--grader-timeout",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Wall-clock seconds before a grading job is killed (status timeout).",
)
@click.option(
    "--output-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Run folder (default: evalkit-runs/<model>). Reruns resume from it.",
)
@click.option("--budgets", default=None,
              help="Token budgets for the budget curve, e.g. 1024,2048,4096 (each <= max tokens).")
@click.option("--grader-config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="YAML grading policies (see docs/grading.md).")
def run(
    model: str,
    revision: str | None,
    task_list: str,
    limit: int | None,
    n: int,
    k: str | None,
    temperature: float | None,
    top_p: float,
    max_tokens: int | None,
    seed: int,
    prompt: str,
    engine: str,
    batch_size: int,
    dtype: str,
    base_url: str | None,
    api_key_env: str | None,
    tensor_parallel_size: int,
    max_model_len: int | None,
    gpu_memory_utilization: float,
    kv_cache_gb: float | None,
    max_num_seqs: int | None,
    data_parallel: int,
    preset: str | None,
    grader_workers: int,
    grader_timeout: float,
    output_dir: Path | None,
    budgets: str | None,
    grader_config: Path | None,
) -> None:
    """Generate, grade and score a model on benchmark tasks."""
    from evalkit.engines import EngineOptions
    from evalkit.grading import GraderConfig, load_grader_config
    from evalkit.report import render_table
    from evalkit.runner import Runner, RunSpec

    preset_record = None
    if preset is not None:
        from evalkit.presets import apply_preset

        ctx = click.get_current_context()
        values = {"task_list": task_list, "prompt": prompt, "temperature": temperature,
                  "top_p": top_p, "max_tokens": max_tokens, "n": n, "k": k}
        explicit = {name for name in values
                    if ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT}
        values, preset_record = apply_preset(preset, values, explicit)
        task_list, prompt, temperature, top_p = (
            values["task_list"], values["prompt"], values["temperature"], values["top_p"])
        max_tokens, n, k = values["max_tokens"], values["n"], values["k"]
    tasks = [name.strip() for name in task_list.split(",") if name.strip()]
    if not tasks:
        raise EvalkitError("--tasks is empty: name at least one task (see `evalkit tasks`)")
    spec = RunSpec(
        model=model,
        revision=revision,
        tasks=tasks,
        limit=limit,
        n=n,
        ks=int_list(k),
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        seed=seed,
        prompt=prompt,
        engine=engine,
        batch_size=batch_size,
        dtype=dtype,
        grader_workers=grader_workers,
        grader_timeout=grader_timeout,
        output_dir=output_dir or Path("evalkit-runs") / _slug(model),
        budgets=int_list(budgets, "--budgets"),
        grader_config=load_grader_config(grader_config) if grader_config else GraderConfig(),
        engine_options=EngineOptions(
            tensor_parallel_size=tensor_parallel_size, max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization, base_url=base_url,
            api_key_env=api_key_env, kv_cache_gb=kv_cache_gb, max_num_seqs=max_num_seqs,
        ),
        data_parallel=data_parallel,
        preset=preset_record,
    )
    results = Runner(spec).run()
    console = Console()
    render_table(results, console)
    console.print(f"results: {spec.output_dir / 'results.json'}")


@main.command("tasks")
def tasks_command() -> None:
    """List the built-in tasks with their data and default settings."""
    from evalkit.tasks import list_tasks

    table = Table(title="evalkit tasks")
    for column in ("task", "problems", "source", "sha256", "gold format", "max tokens"):
        table.add_column(column)
    for task in list_tasks():
        table.add_row(
            task.name,
            str(len(task.load())),
            task.source,
            task.sha256()[:16],
            task.gold_format,
            str(task.default_max_tokens),
        )
    Console(width=200).print(table)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--budgets", default=None,
              help="Compute the budget curve at these token budgets from the stored samples.")
@click.option("--grader-workers", type=click.IntRange(min=1), default=1, show_default=True)
def report(run_dir: Path, budgets: str | None, grader_workers: int) -> None:
    """Print the results table of a finished run and rewrite its results.md."""
    from evalkit.report import render_table, to_markdown
    from evalkit.results import load_results

    if budgets:
        from evalkit.scoring import add_budget_curves

        results = add_budget_curves(run_dir, int_list(budgets, "--budgets"), grader_workers)
    else:
        results = load_results(run_dir)
    render_table(results, Console())
    if run_dir.is_dir():
        (run_dir / "results.md").write_text(to_markdown(results))


def _slug(model: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in model.strip("./")) or "model"


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--task", default=None, help="Only this task of the run.")
@click.option("--status", type=click.Choice(GRADE_STATUSES), default=None,
              help="Only samples our grader gave this status.")
@click.option("--disagree", is_flag=True,
              help="Only samples where the producer's verdict and ours differ (imported runs).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Show at most this many samples.")
def inspect(run_dir: Path, task: str | None, status: str | None, disagree: bool,
            limit: int) -> None:
    """Show graded samples side by side: problem, gold, verdicts, end of the completion."""
    from evalkit.agreement import Agreement, read_samples, render_samples
    from evalkit.importers.summary import agreement_line
    from evalkit.results import load_results

    console = Console(width=160)
    if disagree:
        for name, block in load_results(run_dir)["tasks"].items():
            if block.get("agreement") and task in (None, name):
                line = agreement_line(Agreement.from_json(block["agreement"]))
                console.print(f"{name}: {line}", highlight=False, markup=False)
    views = read_samples(run_dir, task=task, status=status, disagree=disagree, limit=limit)
    if not views:
        console.print("no sample matches")
        return
    render_samples(views, console)


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--grader-config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None,
              help="YAML of grading policies: think_policy, numeric_precision, percent.")
@click.option("--grader-workers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--grader-timeout", type=click.FloatRange(min=0.1), default=10.0,
              show_default=True,
              help="Wall-clock seconds before a grading job is killed (status timeout).")
def regrade(run_dir: Path, grader_config: Path | None, grader_workers: int,
            grader_timeout: float) -> None:
    """Grade a run's stored samples again (no generation): rewrite results.json, keep the old
    one as results.prev.json, and print what changed."""
    from evalkit.grading import load_grader_config
    from evalkit.regrade import PREVIOUS_RESULTS, regrade_run, render_diff

    config = load_grader_config(grader_config) if grader_config else None
    diff = regrade_run(run_dir, config, grader_workers, grader_timeout)
    render_diff(diff, Console(width=160))
    click.echo(f"wrote {run_dir / 'results.json'} (previous: {run_dir / PREVIOUS_RESULTS})")
