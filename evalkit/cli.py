"""The `evalkit` command line: a thin layer over the runner, tasks and reports."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from evalkit import __version__
from evalkit.errors import EvalkitError
from evalkit.models import DEFAULT_MODEL
from evalkit.prompts import PRESETS
from evalkit.stats_cli import compare, plan

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def _int_list(value: str | None, option: str = "--k") -> list[int]:
    if not value:
        return []
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError as err:
        raise EvalkitError(
            f"{option} expects comma-separated integers like 1,8, got {value!r}"
        ) from err


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


main.add_command(compare)
main.add_command(plan)


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
                   "auto is vllm with a GPU and vLLM installed, else hf. See docs/engines.md.")
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
              help="vllm: context length (default: the model's); prompt + max tokens must fit.")
@click.option("--gpu-memory-utilization", type=click.FloatRange(0.0, 1.0, min_open=True),
              default=0.9, show_default=True, help="vllm: share of GPU memory it may take.")
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
        ks=_int_list(k),
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
        budgets=_int_list(budgets, "--budgets"),
        grader_config=load_grader_config(grader_config) if grader_config else GraderConfig(),
        engine_options=EngineOptions(
            tensor_parallel_size=tensor_parallel_size, max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization, base_url=base_url,
            api_key_env=api_key_env,
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

        results = add_budget_curves(run_dir, _int_list(budgets, "--budgets"), grader_workers)
    else:
        results = load_results(run_dir)
    render_table(results, Console())
    if run_dir.is_dir():
        (run_dir / "results.md").write_text(to_markdown(results))


def _slug(model: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in model.strip("./")) or "model"


@main.group()
def train() -> None:
    """Train checkpoints with the published recipes (needs the `train` extra)."""


# Training pipelines register their click groups here (their modules import heavy
# libraries lazily, inside the commands).


@main.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(path_type=Path),
    required=True,
    help="YAML release policy (see docs/ci-gate.md).",
)
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    default=None,
    help="results.json (or run folder) of the baseline checkpoint.",
)
@click.option(
    "--summary",
    "summary_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the markdown summary here ($GITHUB_STEP_SUMMARY gets it too).",
)
def gate(
    results: Path, policy_path: Path, baseline: Path | None, summary_file: Path | None
) -> None:
    """Check RESULTS against a release policy: exit 0 pass, 1 fail, 2 unusable input."""
    from evalkit.release.gate import run_gate
    from evalkit.release.policy import load_policy
    from evalkit.release.summary import render_table, write_summaries

    report = run_gate(load_policy(policy_path), results, baseline)
    render_table(report, Console(width=120))
    write_summaries(report, summary_file)
    if not report.passed:
        sys.exit(1)


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option(
    "--results",
    "results_paths",
    type=click.Path(path_type=Path),
    multiple=True,
    required=True,
    help="Run folder or results.json; repeat for more runs.",
)
@click.option(
    "--model-name",
    default=None,
    help="Name on the card and in model-index, e.g. org/name (default: folder name).",
)
@click.option("--license", "license_id", default=None, help="Hub licence id, e.g. apache-2.0.")
@click.option("--base-model", multiple=True, help="Hub id of the model this one derives from.")
@click.option("--dataset", multiple=True, help="Hub id of a training dataset; repeatable.")
@click.option("--tag", multiple=True, help="Extra Hub tag; repeatable.")
@click.option(
    "--recipe",
    type=click.Path(path_type=Path),
    default=None,
    help="Training recipe (YAML or JSON) to include in the card.",
)
@click.option(
    "--source-url",
    default=None,
    help="Where the evaluation can be checked (CI run, results file); cited per result.",
)
def card(
    model_dir: Path,
    results_paths: tuple[Path, ...],
    model_name: str | None,
    license_id: str | None,
    base_model: tuple[str, ...],
    dataset: tuple[str, ...],
    tag: tuple[str, ...],
    recipe: Path | None,
    source_url: str | None,
) -> None:
    """Write MODEL_DIR/README.md: a model card with the evaluation results as Hub metadata."""
    from evalkit.release.card import CardOptions, write_card

    options = CardOptions(
        model_name=model_name or model_dir.resolve().name,
        license=license_id,
        base_model=base_model,
        datasets=dataset,
        tags=tag,
        recipe=recipe,
        source_url=source_url,
    )
    path = write_card(model_dir, list(results_paths), options)
    click.echo(f"model card: {path}")


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--repo-id", required=True, help="Hub repository to publish to, as ORG/NAME.")
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Release policy to gate on first; needs --results.",
)
@click.option(
    "--results",
    type=click.Path(path_type=Path),
    default=None,
    help="results.json (or run folder) the policy is checked against.",
)
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    default=None,
    help="Baseline results for the policy's baseline rules.",
)
@click.option("--private", is_flag=True, help="Create the repo private.")
@click.option("--exist-ok", is_flag=True, help="Add a commit to a repo that already exists.")
@click.option("--commit-message", default="Upload model with evalkit", show_default=True)
@click.option("--dry-run", is_flag=True, help="List the files that would be uploaded; upload none.")
def publish(
    model_dir: Path,
    repo_id: str,
    policy_path: Path | None,
    results: Path | None,
    baseline: Path | None,
    private: bool,
    exist_ok: bool,
    commit_message: str,
    dry_run: bool,
) -> None:
    """Check MODEL_DIR, gate it if a policy is given, then upload it to the Hub."""
    from evalkit.release import publish as hub

    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise EvalkitError(f"--repo-id must look like ORG/NAME, got {repo_id!r}")
    plan = hub.upload_plan(model_dir)
    hub.check_model_folder(model_dir, plan)
    if policy_path is not None:
        from evalkit.release.gate import run_gate
        from evalkit.release.policy import load_policy
        from evalkit.release.summary import render_table

        if results is None:
            raise EvalkitError("--policy needs --results: the run the policy is checked against")
        report = run_gate(load_policy(policy_path), results, baseline)
        render_table(report, Console(width=120))
        if not report.passed:
            click.echo("gate failed: nothing uploaded", err=True)
            sys.exit(1)
    total = sum(f.size for f in plan)
    verb = "would upload" if dry_run else "uploading"
    click.echo(
        f"{verb} {len(plan)} files ({total:,} bytes) to {repo_id}{' (private)' if private else ''}:"
    )
    for f in plan:
        click.echo(f"  {f.size:>14,}  {f.path}")
    if dry_run:
        click.echo("dry run: nothing uploaded")
        return
    url = hub.publish(
        model_dir, repo_id, private=private, exist_ok=exist_ok, commit_message=commit_message
    )
    click.echo(f"published: {url}")


@main.command()
@click.option("--dir", "folder", type=click.Path(path_type=Path), default=Path("leaderboards"),
              show_default=True, help="Folder of published tables (*.yaml) and runs/.")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "html"]),
              default="table", show_default=True)
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Write markdown or HTML here instead of printing it.")
def leaderboard(folder: Path, fmt: str, output: Path | None) -> None:
    """Show published results next to reproduced runs: table, markdown or static HTML."""
    from evalkit.release.leaderboard import load_boards, load_runs
    from evalkit.release.leaderboard_render import render_rich, to_html, to_markdown

    boards, runs = load_boards(folder), load_runs(folder)
    if fmt == "table":
        if output is not None:
            raise EvalkitError("--output needs --format markdown or html")
        render_rich(boards, runs, Console(width=200))
        return
    text = to_markdown(boards, runs) if fmt == "markdown" else to_html(boards, runs)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")


from evalkit.training.lightr.cli import lightr  # noqa: E402

train.add_command(lightr)

from evalkit.training.distill.cli import distill  # noqa: E402

train.add_command(distill)

from evalkit.importers.cli import grade_command, import_command  # noqa: E402
from evalkit.records import GRADE_STATUSES  # noqa: E402

main.add_command(import_command)
main.add_command(grade_command)


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


@main.group()
def release() -> None:
    """Ship a new checkpoint: train -> evaluate -> gate -> card -> publish (docs/release-run.md)."""


_RELEASE_STAGES = click.Choice(["train", "evaluate", "gate", "card", "publish"])


@release.command("run")
@click.argument("recipe", type=click.Path(path_type=Path))
@click.option("--from", "start", type=_RELEASE_STAGES, default=None,
              help="Rerun from this stage on; earlier stages must be complete.")
@click.option("--until", type=_RELEASE_STAGES,
              default="publish", show_default=True, help="Stop after this stage.")
@click.option("--dry-run", is_flag=True, help="Everything but the upload; list what would go.")
@click.option("--run-dir", type=click.Path(path_type=Path), default=None,
              help="Run folder (default: the recipe's run_dir, else release-runs/<name>).")
def release_run(recipe: Path, start: str | None, until: str, dry_run: bool,
                run_dir: Path | None) -> None:
    """Run RECIPE: exit 0 done, 1 gate failed (nothing published), 2 unusable input."""
    from evalkit.release.pipeline import ReleaseRun
    from evalkit.release.release_recipe import load_release_recipe

    outcome = ReleaseRun(load_release_recipe(recipe, run_dir)).run(start, until, dry_run)
    if outcome.stopped:
        click.echo(f"{outcome.stopped}: nothing published", err=True)
        sys.exit(1)


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
