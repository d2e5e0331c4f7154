"""Render results as a rich table (screen) and as markdown (results.md)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from evalkit.reports.published import published_lines
from evalkit.results.schema import MetricValue, Results

HEADER = ["task", "metric", "score %", "± SE", "95% CI", "problems", "n", "k", "truncated"]
BUDGET_HEADER = ["task", "budget", "metric", "score %", "95% CI", "cut at budget"]
INTERVAL_NOTES = {
    "clustered-wilson": "95% CI: clustered Wilson interval over problems (docs/statistics.md)",
}


def interval_notes(results: Results) -> list[str]:
    """One line per interval method used in the results table."""
    methods = dict.fromkeys(m.interval for task in results.tasks.values() for m in task.metrics)
    return [INTERVAL_NOTES.get(method, f"95% CI: {method}") for method in methods]


def budget_title(results: Results) -> str:
    """The budget table's title, naming how its points were made when not by regrading."""
    methods = {p.method for task in results.tasks.values() for p in task.budget_curve}
    other = ", ".join(sorted(methods - {"regraded"}))
    return "score at each token budget" + (f" ({other})" if other else "")


def _ci(metric: MetricValue) -> str:
    if metric.ci95 is None:
        return ""
    return f"[{100 * metric.ci95[0]:.1f}, {100 * metric.ci95[1]:.1f}]"


def _rows(results: Results) -> list[list[str]]:
    return [
        [name, m.metric, f"{100 * m.value:.1f}",
         "" if m.stderr is None else f"{100 * m.stderr:.1f}", _ci(m), str(m.problems), str(m.n),
         str(m.k), f"{100 * task.truncation_rate:.0f}%"]
        for name, task in results.tasks.items()
        for m in task.metrics
    ]


def _budget_rows(results: Results) -> list[list[str]]:
    return [
        [name, str(point.budget), m.metric, f"{100 * m.value:.1f}", _ci(m),
         f"{100 * point.truncation_rate:.0f}%"]
        for name, task in results.tasks.items()
        for point in task.budget_curve
        for m in point.metrics
    ]


def _length_lines(results: Results) -> list[str]:
    """Per task: the distribution of generated lengths in tokens."""
    lines = []
    for name, task in results.tasks.items():
        lengths = task.lengths
        if lengths:
            lines.append(
                f"{name}: tokens mean {lengths['mean']:.0f}, p10 {lengths['p10']:.0f}, "
                f"p50 {lengths['p50']:.0f}, p90 {lengths['p90']:.0f}, max {lengths['max']:.0f}; "
                f"{100 * task.truncation_rate:.0f}% hit max tokens"
            )
    return lines


def render_table(results: Results, console: Console) -> None:
    """Print the results table."""
    model = results.model
    table = Table(title=f"{model.name} ({model.revision or 'no revision'})")
    for column in HEADER:
        table.add_column(
            column, justify="left" if column in ("task", "metric", "95% CI") else "right"
        )
    for row in _rows(results):
        table.add_row(*row)
    console.print(table)
    for name, task in results.tasks.items():
        counts = ", ".join(f"{k} {v}" for k, v in task.status_counts.items() if v)
        console.print(f"  {name}: {counts}")
    for line in _length_lines(results) + interval_notes(results):
        console.print(f"  {line}", highlight=False)
    if results.published:
        for line in published_lines(results.published):
            console.print(line, highlight=False, markup=False)
    budget_rows = _budget_rows(results)
    if budget_rows:
        budget_table = Table(title=budget_title(results))
        for column in BUDGET_HEADER:
            justify = "left" if column in ("task", "metric") else "right"
            budget_table.add_column(column, justify=justify)
        for row in budget_rows:
            budget_table.add_row(*row)
        console.print(budget_table)


def to_markdown(results: Results) -> str:
    """A markdown report: the table plus the settings that produced it."""
    model, sampling = results.model, results.sampling
    lines = [
        f"# evalkit results: {model.name}",
        "",
        f"- model revision: `{model.revision}`",
        f"- engine: {results.engine.get('name')}; prompt: {results.prompt.preset}",
        f"- sampling: n={sampling.n}, temperature={sampling.temperature}, "
        f"top_p={sampling.top_p}, seed={sampling.seed}",
        f"- grader: {results.grader.get('name')} {results.grader.get('grader_version')}",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(results)]
    lines += ["", *(f"- {line}" for line in _length_lines(results) + interval_notes(results))]
    if results.published:
        head, *figures = published_lines(results.published)
        lines += ["", f"## {head.rstrip(':').capitalize()}", "",
                  *(f"- {line.strip()}" for line in figures)]
    budget_rows = _budget_rows(results)
    if budget_rows:
        title = budget_title(results)
        lines += ["", f"## {title[0].upper()}{title[1:]}", "", "![budget curve](budget_curve.png)",
                  "",
                  "| " + " | ".join(BUDGET_HEADER) + " |", "|" + "---|" * len(BUDGET_HEADER)]
        lines += ["| " + " | ".join(row) + " |" for row in budget_rows]
    return "\n".join(lines) + "\n"
