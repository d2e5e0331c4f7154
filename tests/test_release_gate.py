"""`evalkit gate`: verdicts, exit codes and summaries on constructed results."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from release_fixtures import verdicts, write_run

from evalkit.cli import main
from evalkit.release.gate import run_gate
from evalkit.release.policy import load_policy


def _policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def _gate(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, ["gate", *map(str, args)], env=env)


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """aime24: 30 problems x 4 samples, 87 of 120 correct (72.5%); 6 samples truncated."""
    return write_run(
        tmp_path / "cand", {"aime24": verdicts(30, 4, 87), "amc23": verdicts(40, 4, 100)},
        ks=(1, 4), truncated={"aime24": 6},
    )


THRESHOLDS = """\
rules:
  - rule: threshold
    task: aime24
    metric: avg@4
    min: 0.70
  - rule: truncation_rate
    max: 0.10
"""


def test_gate_passes_and_writes_summaries(run: Path, tmp_path: Path):
    step_summary = tmp_path / "step.md"
    step_summary.write_text("earlier step\n")
    result = _gate(run, "--policy", _policy(tmp_path, THRESHOLDS), "--summary",
                   tmp_path / "out" / "gate.md", env={"GITHUB_STEP_SUMMARY": str(step_summary)})
    assert result.exit_code == 0, result.output
    assert "aime24 avg@4" in result.stdout and "72.5%" in result.stdout
    summary = (tmp_path / "out" / "gate.md").read_text()
    assert summary.startswith("## evalkit gate: ✅ PASS")
    assert "| aime24 avg@4 | 72.5% [" in summary and "| >= 70.0% | PASS |" in summary
    assert "| aime24 truncation rate | 5.0% | <= 10.0% | PASS |" in summary
    assert "| amc23 truncation rate | 0.0% |" in summary
    assert step_summary.read_text() == "earlier step\n" + summary + "\n"


def test_gate_fails_below_threshold(run: Path, tmp_path: Path):
    policy = _policy(tmp_path, THRESHOLDS.replace("min: 0.70", "min: 0.75").replace(
        "max: 0.10", "max: 0.04"))
    result = _gate(run, "--policy", policy, "--summary", tmp_path / "gate.md")
    assert result.exit_code == 1, result.output
    assert "gate failed" in result.stdout and "2 of 3 checks" in result.stdout
    summary = (tmp_path / "gate.md").read_text()
    assert summary.startswith("## evalkit gate: ❌ FAIL")
    assert "| >= 75.0% | **FAIL** |" in summary
    assert "| aime24 truncation rate | 5.0% | <= 4.0% | **FAIL** |" in summary


def test_threshold_with_max_and_range(run: Path, tmp_path: Path):
    policy = load_policy(_policy(tmp_path, """\
rules:
  - {rule: threshold, task: amc23, metric: pass@1, min: 0.6, max: 0.65}
  - {rule: threshold, task: amc23, metric: pass@4, max: 0.6}
"""))
    report = run_gate(policy, run)
    assert [(v.threshold, v.passed) for v in report.verdicts] == [
        ("60.0% to 65.0%", True), ("<= 60.0%", False)]


def test_grader_version_must_equal_baseline(run: Path, tmp_path: Path):
    policy = _policy(tmp_path, "rules:\n  - rule: grader_version_equals_baseline\n")
    same = write_run(tmp_path / "same", {"aime24": verdicts(30, 4, 80)})
    other = write_run(tmp_path / "other", {"aime24": verdicts(30, 4, 80)},
                      grader_version="evalkit-grader/0")
    assert _gate(run, "--policy", policy, "--baseline", same).exit_code == 0
    result = _gate(run, "--policy", policy, "--baseline", other)
    assert result.exit_code == 1
    assert "== baseline (evalkit-grader/0, extraction evalkit)" in result.stdout
    reference = write_run(tmp_path / "reference", {"aime24": verdicts(30, 4, 80)},
                          extraction="reasonlite")  # same version, another extraction mode
    result = _gate(run, "--policy", policy, "--baseline", reference)
    assert result.exit_code == 1
    assert "reasonlite" in result.stdout


@pytest.mark.parametrize("policy_text, message", [
    ("rules: [\n", "is not valid YAML"),
    ("rules: []\n", "needs a non-empty `rules:` list"),
    ("rules:\n  - rule: vibes\n", "unknown rule 'vibes'; known rules: threshold"),
    ("rules:\n  - {rule: threshold, task: aime24, metric: avg@16, min: 0.7}\n",
     "has no metric 'avg@16' for aime24 (it holds avg@4, pass@1, pass@4)"),
    ("rules:\n  - {rule: threshold, task: aime25, metric: avg@4, min: 0.7}\n",
     "has no task 'aime25' (it holds aime24, amc23)"),
    ("rules:\n  - {rule: threshold, task: aime24, metric: avg@4, min: 70}\n",
     "min must be a fraction between 0 and 1 (0.70 means 70%), got 70"),
    ("rules:\n  - {rule: threshold, task: aime24, metric: avg@4}\n", "needs min, max or both"),
    ("rules:\n  - {rule: truncation_rate, max: 0.1, tsk: aime24}\n",
     "has unknown keys tsk; allowed: max, task"),
    ("rules:\n  - {rule: no_regression}\n", "(no_regression) is missing max_drop"),
    ("rules:\n  - rule: grader_version_equals_baseline\n", "pass --baseline BASELINE_RESULTS"),
])
def test_unusable_policy_exits_2_with_one_line(run: Path, tmp_path: Path, policy_text, message):
    result = _gate(run, "--policy", _policy(tmp_path, policy_text))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")


def test_missing_files_exit_2(run: Path, tmp_path: Path):
    policy = _policy(tmp_path, THRESHOLDS)
    missing_results = _gate(tmp_path / "nope", "--policy", policy)
    assert missing_results.exit_code == 2 and "does not exist" in missing_results.stderr
    missing_policy = _gate(run, "--policy", tmp_path / "nope.yaml")
    assert missing_policy.exit_code == 2 and "cannot read policy" in missing_policy.stderr


REGRESSION = """\
rules:
  - rule: no_regression
    max_drop: 0.02
    p_value: 0.05
  - rule: grader_version_equals_baseline
"""


@pytest.mark.parametrize("candidate_correct, passed", [
    (60, False),   # 80% -> 50% on 9 problems: a significant 30-point drop
    (94, True),    # 80% -> 78.3%: a drop under 2 points
    (110, True),   # an improvement
])
def test_no_regression_against_baseline(tmp_path: Path, candidate_correct: int, passed: bool):
    baseline = write_run(tmp_path / "base", {"aime24": verdicts(30, 4, 96)}, model="org/base")
    candidate = write_run(tmp_path / "cand", {"aime24": verdicts(30, 4, candidate_correct)})
    result = _gate(candidate, "--policy", _policy(tmp_path, REGRESSION), "--baseline", baseline,
                   "--summary", tmp_path / "gate.md")
    assert result.exit_code == (0 if passed else 1), result.output
    summary = (tmp_path / "gate.md").read_text()
    diff = 100 * (candidate_correct - 96) / 120
    assert f"| aime24 avg@4 vs baseline | {diff:+.1f} pts [" in summary
    assert "| no drop > 2.0 pts with p < 0.05 |" in summary
    assert "- baseline: `org/base (0123abcd)`" in summary


def test_insignificant_drop_passes_and_filters_apply(tmp_path: Path):
    baseline = write_run(tmp_path / "base", {"gsm8k": verdicts(4, 1, 4),
                                             "math": verdicts(4, 1, 4)}, ks=(1,))
    candidate = write_run(tmp_path / "cand", {"gsm8k": verdicts(4, 1, 3),
                                              "math": verdicts(4, 1, 0)}, ks=(1,))
    policy = load_policy(_policy(tmp_path, """\
rules:
  - {rule: no_regression, max_drop: 0.02, metric: pass@1, tasks: [gsm8k]}
"""))
    [verdict] = run_gate(policy, candidate, baseline).verdicts
    assert verdict.rule == "gsm8k pass@1 vs baseline" and verdict.passed
    assert verdict.value.startswith("-25.0 pts") and "p=1" in verdict.value


@pytest.mark.parametrize("rule, message", [
    ("{rule: no_regression, max_drop: 0.02, metric: avg@16}",
     "the runs compare as avg@4, not avg@16"),
    ("{rule: no_regression, max_drop: 0.02, metric: best@4}",
     "metric 'best@4' must look like avg@16, pass@1 or maj@8"),
    ("{rule: no_regression, max_drop: 0.02, tasks: [aime25]}", "task 'aime25' is not in both runs"),
])
def test_unusable_regression_rule_exits_2(tmp_path: Path, rule: str, message: str):
    baseline = write_run(tmp_path / "base", {"aime24": verdicts(30, 4, 96)})
    candidate = write_run(tmp_path / "cand", {"aime24": verdicts(30, 4, 90)})
    result = _gate(candidate, "--policy", _policy(tmp_path, f"rules:\n  - {rule}\n"),
                   "--baseline", baseline)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_documented_policy_and_workflow_parse(tmp_path: Path):
    docs = Path(__file__).resolve().parent.parent / "docs"
    text = (docs / "ci-gate.md").read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    policy = load_policy(_policy(tmp_path, block))
    assert [type(r).__name__ for r in policy.rules] == [
        "Threshold", "Threshold", "TruncationRate", "GraderVersionEqualsBaseline", "NoRegression"]
    workflow = yaml.safe_load((docs / "examples" / "github-actions-gate.yml").read_text())
    steps = {step.get("name"): step for step in workflow["jobs"]["gate"]["steps"]}
    assert steps["Gate"]["run"].startswith("evalkit gate runs/candidate --policy release-policy")
    assert "--policy release-policy.yaml" in steps["Publish"]["run"]
    assert steps["Publish"]["env"]["HF_TOKEN"] == "${{ secrets.HF_TOKEN }}"


def test_truncation_rule_for_one_task(run: Path, tmp_path: Path):
    policy = load_policy(_policy(tmp_path, "rules:\n  - {rule: truncation_rate, max: 0.01, "
                                            "task: amc23}\n"))
    assert [(v.rule, v.passed) for v in run_gate(policy, run).verdicts] == [
        ("amc23 truncation rate", True)]
    missing = _policy(tmp_path, "rules:\n  - {rule: truncation_rate, max: 0.1, task: gsm8k}\n")
    result = _gate(run, "--policy", missing)
    assert result.exit_code == 2 and "has no task 'gsm8k' (it holds aime24, amc23)" in result.stderr
