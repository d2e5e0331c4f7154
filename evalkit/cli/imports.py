"""`evalkit import` and `evalkit grade`: the command-line face of :func:`import_file`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from evalkit.cli.options import FiniteFloat, int_list

FORMAT_NAMES = "jsonl, lm-eval, lighteval, qwen25-math, openai-batch"


def _read_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options `import` and `grade` share."""
    options = [
        click.option("--task", default=None,
                     help="Task the problems come from: a bundled name or path/to/task.jsonl "
                          "(default: the bundled task whose questions the file matches)."),
        click.option("--output-dir", type=click.Path(path_type=Path), default=None,
                     help="Run folder to write (default: evalkit-runs/import-<file name>)."),
        click.option("--question-field", default=None,
                     help="Field holding the question (jsonl: default 'question'; lm-eval and "
                          "lighteval: a field of the doc). Dotted paths reach nested fields."),
        click.option("--response-field", default=None,
                     help="jsonl: field holding the completion or a list of completions "
                          "(default 'response'), e.g. 6b_finetuning.solution."),
        click.option("--gold-field", default=None,
                     help="Field holding the file's own gold answer, used instead of the "
                          "task's (a worked solution is reduced to its marked final answer)."),
        click.option("--label-field", default=None,
                     help="jsonl: field holding the producer's verdict per completion "
                          "(true/false or 0/1), e.g. is_correct."),
        click.option("--id-field", default=None,
                     help="jsonl: field holding the problem id, matched when rows have no "
                          "question text."),
        click.option("--n", "n", type=click.IntRange(min=1), default=None,
                     help="Samples per problem to score (default: the fewest any problem has)."),
        click.option("--k", "k", default=None, help="pass@k values, e.g. 1,8 (default: 1 and n)."),
        click.option("--name", default=None,
                     help="Model name in reports (default: what the file states, else its name)."),
        click.option("--grader-workers", type=click.IntRange(min=1), default=1,
                     show_default=True),
        click.option("--grader-timeout", type=FiniteFloat(0.1, 86_400), default=10.0,
                     show_default=True, help="Wall-clock seconds before a grading job is killed."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run_import(path: Path, fmt: str, **kw: Any) -> None:
    from evalkit.importers import ImportSpec, ReadOptions, import_file
    from evalkit.importers.summary import print_import
    from evalkit.reports.table import render_table

    output_dir = kw["output_dir"] or Path("evalkit-runs") / f"import-{path.stem}"
    spec = ImportSpec(
        path=path,
        format=fmt,
        output_dir=output_dir,
        task=kw["task"],
        options=ReadOptions(
            question=kw["question_field"], response=kw["response_field"], gold=kw["gold_field"],
            label=kw["label_field"], id=kw["id_field"], filter=kw.get("filter"),
        ),
        n=kw["n"],
        ks=int_list(kw["k"]),
        name=kw["name"],
        grader_workers=kw["grader_workers"],
        grader_timeout=kw["grader_timeout"],
    )
    console = Console()
    with Console(stderr=True).status(f"importing {path} ({fmt})"):
        results = import_file(spec)
    render_table(results, console)
    print_import(results, output_dir, console)
    console.print(f"results: {output_dir / 'results.json'}")


@click.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "fmt", required=True, help=f"Format of the file: {FORMAT_NAMES}.")
@click.option("--filter", "filter_name", default=None,
              help="lm-eval: the filter whose extraction and verdict are kept "
                   "(default: the first in the file, e.g. strict-match).")
@_read_options
def import_command(path: Path, fmt: str, filter_name: str | None, **kw: Any) -> None:
    """Grade and score completions another tool made: PATH becomes an evalkit run folder."""
    _run_import(path, fmt, filter=filter_name, **kw)


@click.command("grade")
@click.argument("path", type=click.Path(path_type=Path))
@_read_options
def grade_command(path: Path, **kw: Any) -> None:
    """Grade a JSONL file of questions and completions (`import --format jsonl`)."""
    _run_import(path, "jsonl", **{**kw, "response_field": kw["response_field"] or "response"})
