"""`evalkit regrade`: stored samples graded again, results rewritten, verdict changes shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.grading import GraderConfig, load_grader_config
from evalkit.run.regrade import regrade_run

# A reasoning model cut off while thinking: graded `truncated` by default, `correct` (gold 18 is
# the answer to GSM8K test problem 0) when the whole text is graded.
THINKING = "<think>\nShe sells 16 - 3 - 4 = 9 eggs, so she makes 9 * 2 = 18"


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def run_dir(tiny_model: Path, tmp_path: Path) -> Path:
    """A finished 3-problem GSM8K run of the tiny model whose first sample is replaced by an
    unclosed reasoning trace (the sample store is rewritten as if the model had written it)."""
    folder = tmp_path / "run"
    args = ["run", "--model", str(tiny_model), "--tasks", "gsm8k", "--limit", "3",
            "--max-tokens", "8", "--output-dir", str(folder)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    block = json.loads((folder / "results.json").read_text())["tasks"]["gsm8k"]
    samples = folder / block["samples_file"]
    records = _lines(samples)
    first = next(r for r in records if (r["problem_id"], r["sample_index"]) == (
        block["problem_ids"][0], 0))
    first.update(text=THINKING, token_ids=None, finish_reason="stop")
    samples.write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def _grades(run_dir: Path) -> list[dict]:
    block = json.loads((run_dir / "results.json").read_text())["tasks"]["gsm8k"]
    return _lines(run_dir / block["grades_file"])


def _regrade(run_dir: Path, *options: str) -> str:
    result = CliRunner().invoke(main, ["regrade", str(run_dir), *options], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_regrade_rewrites_results_and_prints_the_changed_verdicts(run_dir: Path, tmp_path):
    # The tiny model's 8-token texts all stop at the length limit: truncated, nothing extracted.
    assert [g["status"] for g in _grades(run_dir)] == ["truncated"] * 3
    output = _regrade(run_dir)
    assert "no verdict changed" in output
    assert _grades(run_dir)[0]["detail"] == "the <think> block was never closed"

    config = tmp_path / "grader.yaml"
    config.write_text("think_policy: whole_text\n")
    default_results = (run_dir / "results.json").read_text()
    output = _regrade(run_dir, "--grader-config", str(config))
    kept = sorted((run_dir / "history").glob("*.json"))
    assert kept[-1].read_text() == default_results  # the earlier results are kept, not replaced
    assert f"previous: {kept[-1]}" in output
    first = _grades(run_dir)[0]
    assert (first["status"], first["extracted"], first["rule"]) == ("correct", "18", "last_number")
    assert [g["status"] for g in _grades(run_dir)[1:]] == ["truncated"] * 2
    results = json.loads((run_dir / "results.json").read_text())
    task = results["tasks"]["gsm8k"]
    assert task["status_counts"]["correct"] == 1 and task["status_counts"]["truncated"] == 2
    avg = next(m for m in task["metrics"] if m["metric"].startswith("avg"))
    assert avg["value"] == pytest.approx(1 / 3)
    assert results["grader"]["think_policy"] == "whole_text"
    assert results["regraded"]["previous_grader"]["think_policy"] == "after_close"
    assert results["regraded"]["changed_samples"] == 1
    assert "1 samples changed verdict" in output
    assert "18 (correct)" in output and "- (truncated)" in output
    assert "avg@1: 0.0000 -> 0.3333" in output
    shown = CliRunner().invoke(
        main, ["inspect", str(run_dir), "--task", "gsm8k", "--status", "correct"],
        catch_exceptions=False,
    ).output
    assert "18 (correct, last_number)" in shown and "9 * 2 = 18" in shown
    assert shown.count("(correct") == 1 and "truncated" not in shown

    output = _regrade(run_dir)  # back to the default policy: the verdict changes back
    assert _grades(run_dir)[0]["status"] == "truncated"
    assert "1 samples changed verdict" in output and "- (truncated)" in output
    history = sorted((run_dir / "history").glob("*.json"))
    assert len(history) == len(kept) + 1  # a second regrade loses nothing either
    assert history[-2].read_text() == default_results


def test_regrade_without_changes_reports_none(run_dir: Path) -> None:
    regrade_run(run_dir)
    diff, _ = regrade_run(run_dir)
    assert diff.changes == []
    assert sum(diff.transitions["gsm8k"].values()) == 3
    assert all(old == new for old, new in diff.transitions["gsm8k"])


def test_a_missing_sample_is_a_clear_error(run_dir: Path) -> None:
    block = json.loads((run_dir / "results.json").read_text())["tasks"]["gsm8k"]
    samples = run_dir / block["samples_file"]
    samples.write_text("".join(json.dumps(r) + "\n" for r in _lines(samples)[1:]))
    grades_before = (run_dir / block["grades_file"]).read_text()
    results_before = (run_dir / "results.json").read_text()
    with pytest.raises(EvalkitError, match="missing"):
        regrade_run(run_dir)
    assert (run_dir / block["grades_file"]).read_text() == grades_before
    assert (run_dir / "results.json").read_text() == results_before


def test_grader_configs_are_validated(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("think_policy: whole_text\nnumeric_precision: 4\npercent: strict\n")
    assert load_grader_config(good) == GraderConfig("whole_text", 4, "strict")
    bad = tmp_path / "bad.yaml"
    for text, message in [
        ("percent: loose\n", "percent"),
        ("think: whole_text\n", "unknown keys"),
        ("numeric_precision: 0\n", "numeric_precision"),
        ("- a list\n", "mapping"),
    ]:
        bad.write_text(text)
        with pytest.raises(EvalkitError, match=message):
            load_grader_config(bad)
