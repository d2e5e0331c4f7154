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

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def _int_list(value: str | None) -> list[int]:
    if not value:
        return []
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError as err:
        raise EvalkitError(f"--k expects comma-separated integers like 1,8, got {value!r}") from err


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
@click.option("--engine", default="auto", show_default=True, help="auto or hf.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option(
    "--dtype",
    type=click.Choice(["auto", "float32", "bfloat16", "float16"]),
    default="auto",
    show_default=True,
)
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
    grader_workers: int,
    grader_timeout: float,
    output_dir: Path | None,
) -> None:
    """Generate, grade and score a model on benchmark tasks."""
    from evalkit.report import render_table
    from evalkit.runner import Runner, RunSpec

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
def report(run_dir: Path) -> None:
    """Print the results table of a finished run and rewrite its results.md."""
    from evalkit.report import render_table, to_markdown
    from evalkit.results import load_results

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
