"""Show a gate report: a rich table on screen and a markdown summary for the CI job page."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .gate import GateReport

HEADER = ("rule", "value", "threshold", "verdict")


def render_table(report: GateReport, console: Console) -> None:
    """Print one row per verdict and the overall outcome."""
    table = Table(title=f"evalkit gate: {report.candidate}")
    for column in HEADER:
        table.add_column(column)
    for v in report.verdicts:
        verdict = "[green]PASS[/]" if v.passed else "[red]FAIL[/]"
        table.add_row(v.rule, v.value, v.threshold, verdict)
    console.print(table)
    if report.baseline is not None:
        console.print(f"baseline: {report.baseline}")
    failed = sum(not v.passed for v in report.verdicts)
    console.print(
        "[bold green]gate passed[/]" if report.passed
        else f"[bold red]gate failed[/]: {failed} of {len(report.verdicts)} checks"
    )


def to_markdown(report: GateReport) -> str:
    """The summary for a CI job page: outcome, compared runs and the verdict table."""
    outcome = "PASS" if report.passed else "FAIL"
    lines = [
        f"## evalkit gate: {'✅' if report.passed else '❌'} {outcome}",
        "",
        f"- candidate: `{report.candidate}` from `{report.candidate_path}`",
    ]
    if report.baseline is not None:
        lines.append(f"- baseline: `{report.baseline}` from `{report.baseline_path}`")
    lines += ["", "| " + " | ".join(HEADER) + " |", "|---|---|---|---|"]
    lines += [
        f"| {_cell(v.rule)} | {_cell(v.value)} | {_cell(v.threshold)} | "
        f"{'PASS' if v.passed else '**FAIL**'} |"
        for v in report.verdicts
    ]
    return "\n".join(lines) + "\n"


def write_summaries(report: GateReport, summary_file: Path | None) -> None:
    """Write the markdown to `summary_file` and append it to $GITHUB_STEP_SUMMARY when set."""
    text = to_markdown(report)
    if summary_file is not None:
        summary_file.parent.mkdir(parents=True, exist_ok=True)
        summary_file.write_text(text, encoding="utf-8")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
