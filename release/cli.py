"""Release commands: gate a run, write a model card, publish to the Hub, render leaderboards.
(`evalkit release run`, the whole chain from a recipe, lives in evalkit.workflow.cli.)"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from evalkit.errors import EvalkitError


@click.command()
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


@click.command()
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


@click.command()
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


@click.command()
@click.option("--dir", "folder", type=click.Path(path_type=Path), default=Path("leaderboards"),
              show_default=True, help="Folder of published tables (*.yaml) and runs/.")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "html"]),
              default="table", show_default=True)
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Write markdown or HTML here instead of printing it.")
@click.option("--run", "run_paths", type=click.Path(path_type=Path), multiple=True,
              help="A run folder (or results.json) to show as reproduced; repeatable.")
def leaderboard(folder: Path, fmt: str, output: Path | None, run_paths: tuple[Path, ...]
                ) -> None:
    """Show published results next to reproduced runs: table, markdown or static HTML."""
    from evalkit.release.leaderboard import load_boards, load_run, load_runs
    from evalkit.release.leaderboard_render import render_rich, to_html, to_markdown

    boards = load_boards(folder)
    runs = load_runs(folder) + [load_run(path) for path in run_paths]
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
