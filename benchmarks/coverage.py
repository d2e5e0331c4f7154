"""Coverage and width of 95% intervals for a task's score, by simulation.

    .venv/bin/python benchmarks/coverage.py           # the full grid: docs/statistics.md
    .venv/bin/python benchmarks/coverage.py --quick   # a smaller grid for a quick look

For every setting (N problems in {5, 30, 40, 500}, n samples per problem in {1, 4, 16, 64},
mean accuracy m in {2, 5, 10, 25, 50, 75, 90, 95, 98}%, three shapes of problem difficulty: see
benchmarks/simulate.py) it draws synthetic benchmarks, computes each interval method on each,
and counts how often the interval holds the population value of the figure. Figures: avg@n
(= pass@1), pass@4, pass@n, maj@4 and cons@n (= maj@n). For n = 1 the coverage is exact: the
sum over the binomial distribution of the number of problems solved (any difficulty shape gives
the same distribution when n = 1).

Methods considered:

* ``t``: Student-t over problems (the avg@n / pass@1 interval before this benchmark);
* ``bootstrap``: BCa bootstrap over problems (the pass@k / maj@k interval before); a point when
  all problems have the same value; 500 resamples, on the first 400 benchmarks of a setting
  (for time; its coverage is far from the band either way);
* ``wilson-kg`` / ``cp-kg``: Wilson / Clopper-Pearson on the Korn & Graubard (1998) effective
  sample size v(1-v)/SE^2 times (z / t_{N-1})^2, N where v is 0 or 1 or the values do not vary,
  at most N n;
* ``beta-binomial``: the posterior of the mean under the clustered beta-binomial model of
  Bowyer et al. (2025), uniform priors on the mean and on the ICC, equal-tailed (avg@n only:
  the model is for counts of correct samples);
* ``clustered-wilson``: evalkit's interval (:mod:`evalkit.statistics.intervals`).

Prints one markdown table: per figure, N and n, each method's lowest and highest coverage over
the means and shapes and its mean width (points), then the worst cells of evalkit's method, and
the n = 1 settings where no non-randomised interval can reach the band (binomial discreteness).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: the machine is shared
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from interval_candidates import (  # noqa: E402
    Interval,
    beta_binomial,
    bootstrap_interval,
    cp_kg,
    t_interval,
    wilson_kg,
)
from simulate import (  # noqa: E402
    FULL,
    QUICK,
    SHAPES,
    Setting,
    draw_votes,
    per_problem,
    solve_rates,
    true_value,
)

from evalkit.statistics.intervals import clustered_wilson  # noqa: E402

BAND = (0.93, 0.97)
CHOSEN = "clustered-wilson"
BOOTSTRAP_BENCHMARKS = 400
METHODS = ("t", "bootstrap", "wilson-kg", "cp-kg", "beta-binomial", CHOSEN)


def chosen(values: np.ndarray, n: int) -> Interval:
    return clustered_wilson(values, n)


METHOD_FUNCTIONS: dict[str, Callable[[np.ndarray, int], Interval]] = {
    "t": t_interval, "bootstrap": bootstrap_interval, "wilson-kg": wilson_kg, "cp-kg": cp_kg,
    "beta-binomial": beta_binomial, CHOSEN: chosen,
}


def figures(n: int) -> list[tuple[str, int, str]]:
    """(metric, k, label) of the figures checked for n samples per problem."""
    rows = [("avg", 1, "avg@n")]
    if n >= 4:
        rows += [("pass", 4, "pass@4")] if n > 4 else []
        rows += [("pass", n, "pass@n")]
        rows += [("maj", 4, "maj@4")] if n > 4 else []
        rows += [("maj", n, "cons@n")]
    return rows


def exact_binary(setting: Setting, method: str) -> tuple[float, float]:
    """n = 1: exact coverage and mean width, summing over the number of problems solved."""
    count = setting.problems
    solved = np.arange(count + 1)
    values = (np.arange(count)[None, :] < solved[:, None]).astype(float)
    low, high = METHOD_FUNCTIONS[method](values, 1)
    weight = stats.binom.pmf(solved, count, setting.mean)
    hit = (low <= setting.mean) & (setting.mean <= high)
    return float(weight @ hit), float(weight @ (high - low))


def simulated(
    setting: Setting, metric: str, k: int, reps: int, seed: int,
) -> tuple[dict[str, tuple[float, float]], bool]:
    """Coverage and mean width per method, and whether the band can be reached at all: for
    values that are all 0 or 1 (pass@n) as for n = 1 below, else not when more than 97% of
    the benchmarks are all-0 or all-1 (one data set, one interval)."""
    rng = np.random.default_rng(seed)
    rates = solve_rates(rng, setting, (reps, setting.problems))
    correct, first = draw_votes(rng, setting, rates)
    values = per_problem(metric, k, setting.samples, correct, first)
    truth = true_value(metric, k, setting)
    if np.all((values == 0) | (values == 1)):  # pass@n: one coin per problem
        reachable = band_reachable(setting.problems, truth)
    else:
        constant = np.mean(np.all(values == 0, axis=1) | np.all(values == 1, axis=1))
        reachable = bool(constant <= BAND[1])
    results = {}
    for method in METHODS:
        if method == "beta-binomial" and metric != "avg":
            continue
        used = values[:BOOTSTRAP_BENCHMARKS] if method == "bootstrap" else values
        low, high = METHOD_FUNCTIONS[method](used, setting.samples)
        results[method] = (float(np.mean((low <= truth) & (truth <= high))),
                           float(np.mean(high - low)))
    return results, reachable


def band_reachable(problems: int, value: float) -> bool:
    """For per-problem values that are 0 or 1 (n = 1, pass@n): whether some run of consecutive
    counts has binomial probability in the band (a monotone interval covers the value exactly
    when the count of 1s falls in such a run)."""
    pmf = stats.binom.pmf(np.arange(problems + 1), problems, value)
    sums = np.cumsum(np.r_[0.0, pmf])
    runs = sums[None, :] - sums[:, None]
    return bool(np.any((runs >= BAND[0]) & (runs <= BAND[1])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller grid, fewer benchmarks")
    parser.add_argument("--reps", type=int, default=None,
                        help="benchmarks per setting (default 1000; 200 with --quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cells", type=Path, default=None,
                        help="also write every setting's coverage and width to this CSV file")
    args = parser.parse_args()
    grid = QUICK if args.quick else FULL
    started = time.perf_counter()
    cells: list[tuple[str, Setting, dict[str, tuple[float, float]], bool]] = []
    for problems in grid["problems"]:
        for samples in grid["samples"]:
            for metric, k, label in figures(samples):
                reps = args.reps or (200 if args.quick else 1000)
                for mean in grid["means"]:
                    for shape in SHAPES if samples > 1 else SHAPES[:1]:
                        setting = Setting(problems, samples, mean, shape)
                        if samples == 1:
                            result = {m: exact_binary(setting, m) for m in METHODS}
                            reachable = band_reachable(problems, mean)
                        else:
                            result, reachable = simulated(setting, metric, k, reps, args.seed)
                        cells.append((label, setting, result, reachable))
            print(f"  done N={problems} n={samples} ({time.perf_counter() - started:.0f} s)",
                  file=sys.stderr, flush=True)
    print_tables(cells, args)
    if args.cells:
        write_cells(cells, args.cells)
    print(f"\n{len(cells)} settings in {time.perf_counter() - started:.0f} s")


def write_cells(cells, path: Path) -> None:
    lines = ["figure,problems,samples,mean,shape,reachable,method,coverage,width"]
    for label, setting, result, reachable in cells:
        for method, (coverage, width) in result.items():
            lines.append(f"{label},{setting.problems},{setting.samples},{setting.mean},"
                         f"{setting.shape},{reachable},{method},{coverage:.4f},{width:.5f}")
    path.write_text("\n".join(lines) + "\n")


def print_tables(cells, args) -> None:
    print(f"Coverage of 95% intervals (band {BAND[0]}-{BAND[1]}); each cell: lowest-highest "
          "coverage over the means and shapes where the band can be reached, and the mean "
          "width in points over all of them.\n")
    header = ["figure", "N", "n", *METHODS]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    groups: dict[tuple[str, int, int], list] = {}
    for label, setting, result, reachable in cells:
        groups.setdefault((label, setting.problems, setting.samples), []).append(
            (result, reachable))
    order = {label: i for i, label in enumerate(["avg@n", "pass@4", "pass@n", "maj@4", "cons@n"])}
    for key in sorted(groups, key=lambda g: (order[g[0]], g[1], g[2])):
        row = [key[0], str(key[1]), str(key[2])]
        for method in METHODS:
            found = [(r[method], ok) for r, ok in groups[key] if method in r]
            coverage = [c for (c, _), ok in found if ok]
            if not found or not coverage:
                row.append("–")
                continue
            width = 100 * np.mean([w for (_, w), _ in found])
            mark = "" if BAND[0] <= min(coverage) and max(coverage) <= BAND[1] else "*"
            row.append(f"{min(coverage):.3f}-{max(coverage):.3f}{mark} ({width:.1f})")
        print("| " + " | ".join(row) + " |")
    print("\n`*`: some setting outside the band.")
    reachable = [(label, s, r) for label, s, r, ok in cells if ok]
    for method in METHODS:
        found = [r[method][0] for _, _, r in reachable if method in r]
        inside = sum(BAND[0] <= c <= BAND[1] for c in found)
        print(f"- {method}: {inside} of {len(found)} settings in the band, lowest "
              f"{min(found):.3f}, highest {max(found):.3f}")
    ranked = sorted(((r[CHOSEN][0], label, s, r[CHOSEN][1]) for label, s, r in reachable),
                    key=lambda x: x[0])
    print(f"\n{CHOSEN}, lowest and highest settings:")
    for coverage, label, setting, width in ranked[:6] + ranked[-6:]:
        print(f"- {label} {setting.label()}: coverage {coverage:.3f}, width {100 * width:.1f} pts")
    out = [(label, s) for label, s, _, ok in cells if not ok]
    if out:
        names = "; ".join(f"{label} {s.label()}" for label, s in out)
        print(f"\nSettings where no interval can reach the band, left out above ({len(out)}): "
              f"values all 0 or 1 (n = 1, pass@n) where no run of counts has binomial "
              f"probability in the band, or more than 97% of the benchmarks all-0 or all-1: "
              f"{names}.")
    reps = args.reps or (200 if args.quick else 1000)
    print(f"\nbenchmarks per simulated setting: {reps} (bootstrap: the first "
          f"{min(reps, BOOTSTRAP_BENCHMARKS)}); seed {args.seed}; n = 1 exact.")


if __name__ == "__main__":
    main()
