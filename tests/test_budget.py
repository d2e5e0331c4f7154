"""Budget curves: answer positions, and the curve against rerunning with smaller max-tokens."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.grading import Grader, extract_answer
from evalkit.records import Problem
from evalkit.statistics.budget import (
    GradedSample,
    answer_token,
    budget_curve,
    check_budgets,
    correct_at_budgets,
    length_summary,
)


def chars(text: str) -> tuple[list[int], callable]:
    """Token ids of one character each, and their decoder."""
    return [ord(c) for c in text], lambda ids: "".join(map(chr, ids))


@pytest.mark.parametrize("text", [
    "Add 3 and 4. So \\boxed{42} is it, no doubt",
    "First 42, then 17, and finally 42",  # an early 42 must not count: 17 comes after it
    "The answer is 12.5\nbye",
])
def test_answer_token_is_where_the_final_answer_is_complete(text):
    ids, decode = chars(text)
    answer = extract_answer(text)[0]
    position = answer_token(ids, answer, "math", decode)
    assert all(extract_answer(text[:t])[0] == answer for t in range(position, len(text) + 1))
    assert extract_answer(text[: position - 1])[0] != answer


def test_an_answer_that_changes_and_changes_back_is_graded_at_every_budget():
    """\\boxed{12} ... \\boxed{15}; no: \\boxed{12}: cut between the second and the last box,
    the text answers 15, and a run with that max-tokens would be graded wrong."""
    text = "First \\boxed{12} by counting. Check again: \\boxed{15}; no: \\boxed{12} Done" + (
        " ok" * 9)
    ids, decode = chars(text)
    fifteen = [b for b in range(1, len(text) + 1) if extract_answer(text[:b])[0] == "15"]
    assert fifteen and answer_token(ids, "12", "math", decode) < fifteen[0]  # the old shortcut
    sample = GradedSample(num_tokens=len(ids) + 1, correct=True, token_ids=ids)  # + stop token
    budgets = list(range(1, len(ids) + 2))
    with Grader(workers=0) as grader:
        table = correct_at_budgets([Problem("0", "", "12", "math")], [[sample]], budgets, decode,
                                   grader)
    for budget in budgets:
        expected = budget > len(ids) or extract_answer(text[:budget])[0] == "12"
        assert table[budget][0][0] == expected, budget
    assert not any(table[b][0][0] for b in fifteen)
    (point,) = budget_curve({fifteen[0]: table[fifteen[0]]}, [[len(ids) + 1]], [["stop"]], [1])
    assert point["method"] == "regraded" and point["metrics"][0]["value"] == 0.0


def test_answer_token_without_an_answer_and_budget_checks():
    ids, decode = chars("no digits here")
    assert answer_token(ids, None, "math", decode) is None
    assert answer_token(ids, "7", "math", decode) is None  # the text does not yield it
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


def test_tables_label_curves_made_by_the_old_shortcut_and_name_the_interval():
    from evalkit.reports.table import budget_title, interval_notes, to_markdown

    metric = {"metric": "avg@2", "k": 2, "n": 2, "problems": 3, "value": 0.5, "stderr": 0.1,
              "ci95": [0.2, 0.8], "interval": "clustered-wilson", "se_sampling": None}
    point = {"budget": 8, "truncation_rate": 0.5, "metrics": [metric], "method": "regraded"}
    results = {
        "model": {"name": "m", "revision": "r"}, "engine": {"name": "hf"},
        "prompt": {"preset": "boxed"}, "grader": {"name": "g", "grader_version": "1"},
        "sampling": {"n": 2, "temperature": 0.6, "top_p": 1.0, "seed": 0},
        "tasks": {"t": {"metrics": [metric], "truncation_rate": 0.0, "status_counts": {},
                        "budget_curve": [point]}},
    }
    assert budget_title(results) == "score at each token budget"
    assert interval_notes(results) == [
        "95% CI: clustered Wilson interval over problems (docs/statistics.md)"]
    old = {**results, "tasks": {"t": {**results["tasks"]["t"], "budget_curve": [
        {k: v for k, v in point.items() if k != "method"}]}}}
    assert "approximate" in budget_title(old) and "approximate" in to_markdown(old)
    assert "approximate" not in to_markdown(results)
