"""Type-I error of `evalkit compare` on pairs of identical systems, by simulation.

    .venv/bin/python benchmarks/compare_type1.py           # the full grid: docs/statistics.md
    .venv/bin/python benchmarks/compare_type1.py --quick   # a smaller grid for a quick look

For every setting of benchmarks/coverage.py (N problems in {5, 30, 40, 500}, n samples in
{1, 4, 16, 64}, mean accuracy 2%-98%, three shapes of difficulty; see benchmarks/simulate.py)
it draws 1,000 pairs of runs of one system on the same N problems (independent samples, same
solve rates), compares their avg@n, and counts how often the verdict says "better" or "worse"
at alpha 0.05. Verdicts:

* ``sign-flip``: evalkit's (``evalkit.statistics.paired_test``): the paired sign-flip
  permutation test,
  9,999 random sign patterns (all 2^N when fewer), and the interval that inverts it; the script
  also counts pairs where the interval and the p-value disagree (0 by construction);
* ``paired-t``: the paired t-test;
* ``bootstrap``: the verdict before, "better/worse" when the BCa interval of the mean difference
  excludes 0 (500 resamples, on the first 400 pairs of a setting, for time).

With N = 5 no sign pattern set can reach p < 0.05 (the smallest exact p is 2/32), so a valid
permutation test never rejects there: those settings are reported apart.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: the machine is shared
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from interval_candidates import bootstrap_interval  # noqa: E402
from simulate import FULL, QUICK, SHAPES, Setting, solve_rates  # noqa: E402

from evalkit.statistics.paired_test import ALPHA, sign_flip  # noqa: E402

BAND = (0.03, 0.055)
PAIRS = 1000
BOOTSTRAP_PAIRS = 400
VERDICTS = ("sign-flip", "paired-t", "bootstrap")


def type_one(setting: Setting, pairs: int, seed: int) -> tuple[dict[str, float], int]:
    """Share of pairs called better or worse, per verdict, and how many sign-flip verdicts
    disagree with their interval."""
    rng = np.random.default_rng(seed)
    rates = solve_rates(rng, setting, (pairs, setting.problems))
    a = rng.binomial(setting.samples, rates) / setting.samples
    b = rng.binomial(setting.samples, rates) / setting.samples
    diffs = b - a
    p_values, low, high, _ = sign_flip(diffs, seed=0)
    rejected = p_values < ALPHA
    disagree = int(np.sum(rejected != ((low > 0) | (high < 0))))
    spread = diffs.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = diffs.mean(axis=1) / (spread / np.sqrt(setting.problems))
    t_p = np.where(spread > 0, 2 * stats.t.sf(np.abs(t), setting.problems - 1), 1.0)
    boot_low, boot_high = bootstrap_interval(diffs[:BOOTSTRAP_PAIRS], setting.samples)
    boot_rejected = (boot_low > 0) | (boot_high < 0)
    rates_by_verdict = {"sign-flip": float(rejected.mean()),
                        "paired-t": float(np.mean(t_p < ALPHA)),
                        "bootstrap": float(boot_rejected.mean())}
    return rates_by_verdict, disagree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller grid, 200 pairs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    grid, pairs = (QUICK, 200) if args.quick else (FULL, PAIRS)
    started = time.perf_counter()
    cells = []
    disagreements = 0
    for problems in grid["problems"]:
        for samples in grid["samples"]:
            for mean in grid["means"]:
                for shape in SHAPES:
                    setting = Setting(problems, samples, mean, shape)
                    rates, disagree = type_one(setting, pairs, args.seed)
                    disagreements += disagree
                    cells.append((setting, rates))
            print(f"  done N={problems} n={samples} ({time.perf_counter() - started:.0f} s)",
                  file=sys.stderr, flush=True)
    print_tables(cells, pairs)
    print(f"\nsign-flip verdicts that disagree with their own interval: {disagreements} "
          f"of {pairs * len(cells)}")
    print(f"{len(cells)} settings, {pairs} pairs each (bootstrap: the first "
          f"{min(pairs, BOOTSTRAP_PAIRS)}), seed {args.seed}, in "
          f"{time.perf_counter() - started:.0f} s")


def print_tables(cells, pairs) -> None:
    print(f"Type-I error at alpha {ALPHA} of pairs of identical systems, avg@n (band "
          f"{BAND[0]}-{BAND[1]}); each cell: lowest-highest over the means and shapes.\n")
    header = ["N", "n", *VERDICTS]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    groups: dict[tuple[int, int], list] = {}
    for setting, rates in cells:
        groups.setdefault((setting.problems, setting.samples), []).append(rates)
    for (problems, samples), found in sorted(groups.items()):
        row = [str(problems), str(samples)]
        for verdict in VERDICTS:
            values = [r[verdict] for r in found]
            mark = "" if BAND[0] <= min(values) and max(values) <= BAND[1] else "*"
            row.append(f"{min(values):.3f}-{max(values):.3f}{mark}")
        print("| " + " | ".join(row) + " |")
    print("\n`*`: some setting outside the band.")
    testable = [(s, r) for s, r in cells if s.problems > 5]
    for verdict in VERDICTS:
        values = [r[verdict] for _, r in testable]
        inside = sum(BAND[0] <= v <= BAND[1] for v in values)
        print(f"- {verdict}, N > 5: {inside} of {len(values)} settings in the band, lowest "
              f"{min(values):.3f}, highest {max(values):.3f}")
    ranked = sorted(testable, key=lambda cell: cell[1]["sign-flip"])
    print("\nsign-flip, N > 5, lowest and highest settings:")
    for setting, rates in ranked[:6] + ranked[-6:]:
        print(f"- {setting.label()}: {rates['sign-flip']:.3f}")
    print(f"\nN = 5: the sign-flip test cannot reject (smallest p 2/32); its type-I error there "
          f"is {max(r['sign-flip'] for s, r in cells if s.problems == 5):.3f} at most.")


if __name__ == "__main__":
    main()
