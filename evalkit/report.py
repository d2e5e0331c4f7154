"""Render results as a rich table (screen) and as markdown (results.md)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _ci(metric: dict[str, Any]) -> str:
    low_high = metric["ci95"]
    return "" if low_high is None else f"[{100 * low_high[0]:.1f}, {100 * low_high[1]:.1f}]"


def _rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, task in results["tasks"].items():
        for m in task["metrics"]:
            stderr = "" if m["stderr"] is None else f"{100 * m['stderr']:.1f}"
            ci = _ci(m)
            rows.append(
                [
                    name,
                    m["metric"],
                    f"{100 * m['value']:.1f}",
                    stderr,
                    ci,
                    str(m["problems"]),
                    str(m["n"]),
                    str(m["k"]),
                    f"{100 * task['truncation_rate']:.0f}%",
                ]
            )
    return rows


HEADER = ["task", "metric", "score %", "± SE", "95% CI", "problems", "n", "k", "truncated"]
BUDGET_HEADER = ["task", "budget", "metric", "score %", "95% CI", "cut at budget"]
INTERVAL_NOTES = {
    "clustered-wilson": "95% CI: clustered Wilson interval over problems (docs/statistics.md)",
    "t": "95% CI: Student-t over problems (written by an older evalkit)",
    "bootstrap": "95% CI: BCa bootstrap over problems (written by an older evalkit)",
}
BUDGET_APPROXIMATE = ("approximate: samples whose answer was complete by the budget kept their "
                      "grade without regrading (written by an older evalkit)")


def interval_notes(results: dict[str, Any]) -> list[str]:
    """One line per interval method used in the results table."""
    methods = dict.fromkeys(m.get("interval") for task in results["tasks"].values()
                            for m in task["metrics"])
    return [INTERVAL_NOTES.get(method, f"95% CI: {method}") for method in methods if method]


def budget_title(results: dict[str, Any]) -> str:
    """The budget table's title, labelled when a curve was made by the old shortcut."""
    points = [p for task in results["tasks"].values() for p in task.get("budget_curve") or []]
    exact = all(p.get("method") == "regraded" for p in points)
    return "score at each token budget" + ("" if exact else f" ({BUDGET_APPROXIMATE})")


def _budget_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, task in results["tasks"].items():
        for point in task.get("budget_curve") or []:
            for m in point["metrics"]:
                rows.append([
                    name, str(point["budget"]), m["metric"], f"{100 * m['value']:.1f}", _ci(m),
                    f"{100 * point['truncation_rate']:.0f}%",
                ])
    return rows


def _length_lines(results: dict[str, Any]) -> list[str]:
    """Per task: the distribution of generated lengths in tokens."""
    lines = []
    for name, task in results["tasks"].items():
        lengths = task.get("lengths")
        if lengths:
            lines.append(
                f"{name}: tokens mean {lengths['mean']:.0f}, p10 {lengths['p10']:.0f}, "
                f"p50 {lengths['p50']:.0f}, p90 {lengths['p90']:.0f}, max {lengths['max']:.0f}; "
                f"{100 * task['truncation_rate']:.0f}% hit max tokens"
            )
    return lines


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
    for line in _length_lines(results) + interval_notes(results):
        console.print(f"  {line}", highlight=False)
    budget_rows = _budget_rows(results)
    if budget_rows:
        budget_table = Table(title=budget_title(results))
        for column in BUDGET_HEADER:
            justify = "left" if column in ("task", "metric") else "right"
            budget_table.add_column(column, justify=justify)
        for row in budget_rows:
            budget_table.add_row(*row)
        console.print(budget_table)


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
    lines += ["", *(f"- {line}" for line in _length_lines(results) + interval_notes(results))]
    budget_rows = _budget_rows(results)
    if budget_rows:
        title = budget_title(results)
        lines += ["", f"## {title[0].upper()}{title[1:]}", "", "![budget curve](budget_curve.png)",
                  "",
                  "| " + " | ".join(BUDGET_HEADER) + " |", "|" + "---|" * len(BUDGET_HEADER)]
        lines += ["| " + " | ".join(row) + " |" for row in budget_rows]
    return "\n".join(lines) + "\n"
