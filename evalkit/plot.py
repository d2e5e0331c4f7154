"""The budget-curve plot: score against token budget, one panel per task, one line per metric
(avg@n and pass@k for k > 1; pass@1 equals avg@n) with its 95% interval as a band, and the
share of samples cut at each budget (dotted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError


def plot_budget_curves(results: dict[str, Any], path: Path) -> Path:
    """Write a PNG of every task's ``budget_curve`` in ``results`` to ``path``."""
    try:
        import matplotlib
    except ImportError as err:
        raise EvalkitError(
            "the budget plot needs matplotlib: pip install matplotlib (the table and "
            "results.json are written without it)"
        ) from err
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    curves = {
        name: task["budget_curve"]
        for name, task in results["tasks"].items()
        if task.get("budget_curve")
    }
    if not curves:
        raise EvalkitError("no budget curve to plot: pass --budgets")
    figure, axes = plt.subplots(
        1, len(curves), figsize=(5 * len(curves), 4), squeeze=False, constrained_layout=True
    )
    for ax, (task, points) in zip(axes[0], curves.items(), strict=True):
        budgets = [p["budget"] for p in points]
        names = [m["metric"] for m in points[0]["metrics"] if m["metric"] != "pass@1"]
        for index, metric in enumerate(names):  # pass@1 is avg@n's line again
            rows = [next(m for m in p["metrics"] if m["metric"] == metric) for p in points]
            color = f"C{index}"
            ax.plot(budgets, [100 * m["value"] for m in rows], "o-", color=color, label=metric)
            if all(m["ci95"] for m in rows):
                ax.fill_between(
                    budgets, [100 * m["ci95"][0] for m in rows], [100 * m["ci95"][1] for m in rows],
                    color=color, alpha=0.2, linewidth=0,
                )
        ax.plot(budgets, [100 * p["truncation_rate"] for p in points], ":", color="gray",
                label="cut at budget")
        if budgets[-1] >= 4 * budgets[0]:
            ax.set_xscale("log", base=2)
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.set_title(task)
        ax.set_xlabel("token budget")
        ax.set_ylabel("%")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    exact = all(p.get("method") == "regraded" for points in curves.values() for p in points)
    figure.suptitle(f"{results['model']['name']}: score vs token budget (95% CI bands)"
                    + ("" if exact else "\napproximate: answers complete by the budget kept "
                       "their grade (older evalkit)"))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
