"""Budget curves: every cut sample graded again, and the curve against rerunning with smaller
max-tokens."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.grading import Grader, extract_answer
from evalkit.records import Problem, SampleRecord
from evalkit.stages.grade import grade_task
from evalkit.statistics.budget import budget_curve, check_budgets, length_summary


def chars(text: str) -> tuple[list[int], callable]:
    """Token ids of one character each, and their decoder."""
    return [ord(c) for c in text], lambda ids: "".join(map(chr, ids))


def test_an_answer_that_changes_and_changes_back_is_graded_at_every_budget():
    """\\boxed{12} ... \\boxed{15}; no: \\boxed{12}: cut between the second and the last box,
    the text answers 15, and a run with that max-tokens would be graded wrong."""
    text = "First \\boxed{12} by counting. Check again: \\boxed{15}; no: \\boxed{12} Done" + (
        " ok" * 9)
    ids, decode = chars(text)
    fifteen = [b for b in range(1, len(text) + 1) if extract_answer(text[:b])[0] == "15"]
    assert fifteen  # the cut text answers 15 at these budgets
    sample = SampleRecord("0", 0, 0, text, len(ids) + 1, "stop", token_ids=ids)  # + stop token
    budgets = list(range(1, len(ids) + 2))
    with Grader(workers=0) as grader:
        graded = grade_task([Problem("0", "", "12", "math")], [[sample]], grader, decode=decode,
                            budgets=budgets)
    table = graded.at_budget
    for budget in budgets:
        expected = budget > len(ids) or extract_answer(text[:budget])[0] == "12"
        assert table[budget][0][0] == expected, budget
    assert not any(table[b][0][0] for b in fifteen)
    (point,) = budget_curve({fifteen[0]: table[fifteen[0]]}, [[len(ids) + 1]], [["stop"]], [1])
    assert point.method == "regraded" and point.metrics[0].value == 0.0


def test_budget_checks_and_length_summary():
    assert check_budgets([8, 4, 8], 16) == [4, 8]
    with pytest.raises(EvalkitError, match="exceeds the run's max tokens 16"):
        check_budgets([32], 16)
    summary = length_summary([[1, 2, 3], [4, 5, 6]])
    assert summary["p50"] == 3.5 and summary["max"] == 6 and summary["mean"] == 3.5


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _run(model: Path, task: Path, out: Path, max_tokens: int, budgets: str | None = None,
         n: int = 3):
    args = ["run", "--model", str(model), "--tasks", str(task), "--n", str(n),
            "--k", "1" if n == 1 else "1,2",
            "--temperature", "1.0", "--max-tokens", str(max_tokens), "--output-dir", str(out)]
    result = CliRunner().invoke(main, args + (["--budgets", budgets] if budgets else []),
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads((out / "results.json").read_text())


def test_budget_curve_equals_rerunning_with_smaller_max_tokens(tiny_model, tmp_path):
    questions = [json.loads(line)["question"] for line in
                 (Path(__file__).parent.parent / "tasks/data/gsm8k/test.jsonl").open()][:2]
    rows = [{"question": q, "answer": "0"} for q in questions]
    probe = tmp_path / "budget.jsonl"
    probe.write_text("".join(json.dumps(r) + "\n" for r in rows))
    first = _run(tiny_model, probe, tmp_path / "probe", 16, n=1)  # sample 0: same seed as below
    # Gold := what the full sample 0 of each problem answers, so the long run scores > 0.
    grades = _lines(tmp_path / "probe" / first["tasks"]["budget"]["grades_file"])
    for row, pid in zip(rows, ("0", "1"), strict=True):
        found = [g["extracted"] for g in grades
                 if g["problem_id"] == pid and g["sample_index"] == 0]
        row["answer"] = found[0] if found[0] and found[0].lstrip("-").isdigit() else "0"
    task = tmp_path / "gold" / "budget.jsonl"
    task.parent.mkdir()
    task.write_text("".join(json.dumps(r) + "\n" for r in rows))

    long = _run(tiny_model, task, tmp_path / "long", 16, budgets="5,10,16")
    curve = {point["budget"]: point for point in long["tasks"]["budget"]["budget_curve"]}
    assert (tmp_path / "long" / "budget_curve.png").stat().st_size > 1000
    assert long["tasks"]["budget"]["metrics"][0]["value"] > 0
    long_samples = {(s["problem_id"], s["sample_index"]): s["token_ids"] for s in
                    _lines(tmp_path / "long" / long["tasks"]["budget"]["samples_file"])}
    for budget in (5, 10):
        short = _run(tiny_model, task, tmp_path / f"short{budget}", budget)
        task_short = short["tasks"]["budget"]
        for sample in _lines(tmp_path / f"short{budget}" / task_short["samples_file"]):
            key = (sample["problem_id"], sample["sample_index"])
            assert sample["token_ids"] == long_samples[key][: len(sample["token_ids"])]
        real = {m["metric"]: m["value"] for m in task_short["metrics"]}
        point = {m["metric"]: m["value"] for m in curve[budget]["metrics"]}
        assert point == {name: real[name] for name in point}, budget
        assert curve[budget]["truncation_rate"] == task_short["truncation_rate"]
    assert curve[16]["metrics"][0]["value"] == long["tasks"]["budget"]["metrics"][0]["value"]

    report = CliRunner().invoke(main, ["report", str(tmp_path / "long"), "--budgets", "5,10"])
    assert report.exit_code == 0, report.output
    again = json.loads((tmp_path / "long" / "results.json").read_text())
    assert again["tasks"]["budget"]["budget_curve"] == [curve[5], curve[10]]
    assert "score at each token budget" in report.output


def test_tables_name_the_interval_and_how_budget_points_were_made(tmp_path):
    from stats_runs import write_run

    from evalkit.reports.table import budget_title, interval_notes
    from evalkit.runfolder.folder import read_results

    run = read_results(write_run(tmp_path / "run", {"t": {"p0": [True, False]}}))
    from dataclasses import replace

    from evalkit.results.schema import BudgetPoint, MetricValue

    metric = MetricValue("avg@2", 2, 2, 1, 0.5, 0.1, (0.2, 0.8))
    block = replace(run.tasks["t"], metrics=[metric],
                    budget_curve=[BudgetPoint(8, 0.5, [metric])])
    results = replace(run, tasks={"t": block})
    assert budget_title(results) == "score at each token budget"
    assert interval_notes(results) == [
        "95% CI: clustered Wilson interval over problems (docs/statistics.md)"]
    other = replace(results, tasks={"t": replace(block, budget_curve=[
        BudgetPoint(8, 0.5, [metric], method="estimated")])})
    assert budget_title(other) == "score at each token budget (estimated)"
