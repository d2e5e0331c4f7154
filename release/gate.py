"""`evalkit gate`: check a run's results.json against a release policy, rule by rule."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import EvalkitError
from evalkit.results.schema import Results
from evalkit.runfolder.folder import read_results
from evalkit.statistics.compare import compare_runs
from evalkit.statistics.estimators import METRIC_KINDS

from .lookup import find_metric, find_task
from .policy import (
    GraderVersionEqualsBaseline,
    NoRegression,
    Policy,
    Rule,
    Threshold,
    TruncationRate,
)


@dataclass(frozen=True)
class Verdict:
    """One row of the gate table: what was checked, the value found, the bound, the outcome."""

    rule: str
    value: str
    threshold: str
    passed: bool


@dataclass(frozen=True)
class GateReport:
    """Every verdict of one gate run and which runs it compared."""

    candidate: str
    candidate_path: Path
    baseline: str | None
    baseline_path: Path | None
    verdicts: tuple[Verdict, ...]

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)


def run_gate(policy: Policy, results_path: Path, baseline_path: Path | None = None) -> GateReport:
    """Evaluate every rule of `policy`; unusable input raises EvalkitError (exit 2)."""
    if policy.needs_baseline and baseline_path is None:
        raise EvalkitError(
            f"policy {policy.path} compares with a baseline: pass --baseline BASELINE_RESULTS"
        )
    results = read_results(results_path)
    baseline = read_results(baseline_path) if baseline_path is not None else None
    verdicts: list[Verdict] = []
    for rule in policy.rules:
        verdicts += _check(rule, results, results_path, baseline, baseline_path)
    return GateReport(
        candidate=_label(results), candidate_path=results_path,
        baseline=_label(baseline) if baseline is not None else None,
        baseline_path=baseline_path, verdicts=tuple(verdicts),
    )


def _check(
    rule: Rule, results: Results, results_path: Path,
    baseline: Results | None, baseline_path: Path | None,
) -> list[Verdict]:
    if isinstance(rule, Threshold):
        return [_threshold(rule, results, str(results_path))]
    if isinstance(rule, TruncationRate):
        return _truncation(rule, results, str(results_path))
    assert baseline is not None and baseline_path is not None  # run_gate checked needs_baseline
    if isinstance(rule, GraderVersionEqualsBaseline):
        return [_grader_version(results, baseline, str(results_path), str(baseline_path))]
    return _no_regression(rule, results_path, baseline_path)


def _threshold(rule: Threshold, results: Results, where: str) -> Verdict:
    entry = find_metric(results, rule.task, rule.metric, where)
    value = entry.value
    passed = (rule.min is None or value >= rule.min) and (rule.max is None or value <= rule.max)
    ci = entry.ci95
    shown = _pct(value) + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else "")
    if rule.min is not None and rule.max is not None:
        bound = f"{_pct(rule.min)} to {_pct(rule.max)}"
    elif rule.min is not None:
        bound = f">= {_pct(rule.min)}"
    else:
        bound = f"<= {_pct(rule.max)}"
    return Verdict(f"{rule.task} {rule.metric}", shown, bound, passed)


def _truncation(rule: TruncationRate, results: Results, where: str) -> list[Verdict]:
    names = [rule.task] if rule.task is not None else list(results.tasks)
    rates = {name: find_task(results, name, where).truncation_rate for name in names}
    return [
        Verdict(f"{name} truncation rate", _pct(rate), f"<= {_pct(rule.max)}", rate <= rule.max)
        for name, rate in rates.items()
    ]


def _grader_version(
    results: Results, baseline: Results, where: str, baseline_where: str
) -> Verdict:
    """The grader's version and extraction mode (runs from before the modes: evalkit's) must
    be the baseline's: otherwise the two runs' verdicts are not comparable."""
    versions = []
    for doc, name in ((results, where), (baseline, baseline_where)):
        version = doc.grader.get("grader_version")
        if not version:
            raise EvalkitError(f"{name} records no grader.grader_version: rerun it with evalkit")
        versions.append(f"{version}, extraction {doc.grader.get('extraction', 'evalkit')}")
    return Verdict(
        "grader version", versions[0], f"== baseline ({versions[1]})", versions[0] == versions[1]
    )


def _no_regression(rule: NoRegression, results_path: Path, baseline_path: Path) -> list[Verdict]:
    kind, k = _split_metric(rule.metric or "avg")
    comparisons = compare_runs(baseline_path, results_path, metric=kind, k=k, tasks=rule.tasks)
    bound = f"no drop > {100 * rule.max_drop:.1f} pts with p < {rule.p_value:g}"
    verdicts = []
    for c in comparisons:
        if rule.metric is not None and c.metric != rule.metric:
            raise EvalkitError(
                f"{c.task}: the runs compare as {c.metric}, not {rule.metric}: "
                "fix the policy's metric or rerun with the same n"
            )
        value = (f"{100 * c.diff:+.1f} pts [{100 * c.ci95[0]:+.1f}, {100 * c.ci95[1]:+.1f}], "
                 f"p={c.p_value:.2g}")
        regressed = -c.diff > rule.max_drop and c.p_value < rule.p_value
        verdicts.append(Verdict(f"{c.task} {c.metric} vs baseline", value, bound, not regressed))
    return verdicts


def _split_metric(metric: str) -> tuple[str, int | None]:
    """"avg@16" -> ("avg", None): avg's n comes from the runs; "pass@8" -> ("pass", 8)."""
    kind, _, k = metric.partition("@")
    if kind not in METRIC_KINDS or (k and not k.isdigit()):
        raise EvalkitError(
            f"no_regression metric {metric!r} must look like avg@16, pass@1 or maj@8 "
            f"(kinds: {', '.join(METRIC_KINDS)})"
        )
    return kind, int(k) if k and kind in ("pass", "maj") else None


def _label(results: Results) -> str:
    model = results.model
    return f"{model.name} ({model.revision})" if model.revision else model.name


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"
