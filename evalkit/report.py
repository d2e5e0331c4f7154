"""Render results as a rich table (screen) and as markdown (results.md)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, task in results["tasks"].items():
        for m in task["metrics"]:
            stderr = "" if m["stderr"] is None else f"{100 * m['stderr']:.1f}"
            ci = (
                "" if m["ci95"] is None else f"[{100 * m['ci95'][0]:.1f}, {100 * m['ci95'][1]:.1f}]"
            )
            rows.append(
                [
                    name,
                    m["metric"],
                    f"{100 * m['value']:.1f}",
                    stderr,
                    ci,
                    str(m["problems"]),
                    str(m["n"]),
                    f"{100 * task['truncation_rate']:.0f}%",
                ]
            )
    return rows


HEADER = ["task", "metric", "score %", "± SE", "95% CI", "problems", "n", "truncated"]


def render_table(results: dict[str, Any], console: Console) -> None:
    """Print the results table."""
    model = results["model"]
    table = Table(title=f"{model['name']} ({model['revision'] or 'no revision'})")
    for column in HEADER:
        table.add_column(
            column, justify="left" if column in ("task", "metric", "95% CI") else "right"
        )
    for row in _rows(results):
        table.add_row(*row)
    console.print(table)
    for name, task in results["tasks"].items():
        counts = ", ".join(f"{k} {v}" for k, v in task["status_counts"].items() if v)
        console.print(f"  {name}: {counts}")


def to_markdown(results: dict[str, Any]) -> str:
    """A markdown report: the table plus the settings that produced it."""
    model, sampling = results["model"], results["sampling"]
    lines = [
        f"# evalkit results: {model['name']}",
        "",
        f"- model revision: `{model['revision']}`",
        f"- engine: {results['engine'].get('name')}; prompt: {results['prompt']['preset']}",
        f"- sampling: n={sampling['n']}, temperature={sampling['temperature']}, "
        f"top_p={sampling['top_p']}, seed={sampling['seed']}",
        f"- grader: {results['grader'].get('name')} {results['grader'].get('grader_version')}",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(results)]
    return "\n".join(lines) + "\n"
