"""`evalkit import` on real outputs of other tools: counts, matched ids, agreement, run parity.

Fixtures: tests/fixtures/imports/ (README.md says how each was made) and the two labelled files
of ../shared/data/graded, read in part to keep the suite fast.
"""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA

from evalkit.cli import main
from evalkit.importers import ImportSpec, ReadOptions, import_file
from evalkit.run.plan import plan_from
from evalkit.run.runner import Runner
from evalkit.tasks import get_task

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
GRADED = SHARED_DATA / "graded"
QWEN = GRADED / "qwen25math_eval_rm_maj_example_math_cot_100.jsonl"
GSM8K_SOLUTIONS = GRADED / "openai_gsm8k_example_model_solutions.jsonl"
needs_graded = pytest.mark.skipif(not QWEN.exists(), reason="../shared/data/graded is absent")


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _rows_of(source: Path, dest: Path, indices: list[int]) -> Path:
    """Copy the given 0-based rows of a real file (read as a stream) into a smaller one."""
    wanted = set(indices)
    with open(source, encoding="utf-8") as src, open(dest, "w", encoding="utf-8") as out:
        for index, line in enumerate(src):
            if index in wanted:
                out.write(line)
            if index >= max(wanted):
                break
    return dest


def _import(source: Path, fmt: str, out: Path, **kw) -> dict:
    options = ReadOptions(**kw.pop("options", {}))
    return import_file(ImportSpec(source, fmt, out, options=options, grader_workers=0,
                                  **kw)).to_json()


def _recount(run_dir: Path, task: dict) -> tuple[int, int, int]:
    """(samples, ours correct & theirs wrong, ours wrong & theirs correct) from the files."""
    grades = _lines(run_dir / task["grades_file"])
    theirs = _lines(run_dir / task["external_file"])
    pairs = [(g["status"] == "correct", t["correct"]) for g, t in zip(grades, theirs, strict=True)]
    return len(pairs), pairs.count((True, False)), pairs.count((False, True))


@needs_graded
def test_qwen25_math_rows_match_math_and_agreement_is_counted(tmp_path):
    # rows 0-3 and 72: 72 is the problem whose gold Qwen2.5-Math writes "10{,}000"
    source = _rows_of(QWEN, tmp_path / "qwen.jsonl", [0, 1, 2, 3, 72])
    results = _import(source, "qwen25-math", tmp_path / "run")
    task = results["tasks"]["math"]  # found from the questions: no --task given
    order = [p.id for p in get_task("math").load()]
    by_question = {" ".join(p.question.split()): p.id for p in get_task("math").load()}
    rows = _lines(source)
    row_of = {by_question[" ".join(r["question"].split())]: r for r in rows}
    assert task["problem_ids"] == sorted(row_of, key=order.index)
    assert task["problems"] == 5 and task["n"] == 8
    assert sum(task["status_counts"].values()) == 40
    agreement = task["agreement"]
    assert agreement["samples"] == 40
    assert agreement["theirs_correct"] == sum(sum(r["score"]) for r in rows)
    assert agreement["ours_correct"] == task["status_counts"]["correct"]
    assert (agreement["samples"], agreement["ours_correct_theirs_wrong"],
            agreement["ours_wrong_theirs_correct"]) == _recount(tmp_path / "run", task)
    assert agreement["ours_correct_theirs_wrong"] >= 1  # "10{,}000" vs 10000
    external = _lines(tmp_path / "run" / task["external_file"])
    assert [e["extracted"] for e in external] == [
        pred for pid in task["problem_ids"] for pred in row_of[pid]["pred"]]
    info = results["import"]
    assert info["rows"] == 5 and info["unmatched_rows"]["count"] == 0
    assert info["file_sha256"] == results["model"]["file_sha256"]
    assert results["model"]["kind"] == "import" and results["model"]["path"] is None
    assert info["settings"]["system_prompt"].startswith("Please reason step by step")


@needs_graded
def test_gsm8k_solutions_one_model_through_dotted_fields(tmp_path):
    source = _rows_of(GSM8K_SOLUTIONS, tmp_path / "sol.jsonl", list(range(12)))
    results = _import(source, "jsonl", tmp_path / "run", options={
        "response": "175b_verification.solution", "label": "175b_verification.is_correct"})
    task = results["tasks"]["gsm8k"]
    assert task["problem_ids"] == [str(i) for i in range(12)] and task["n"] == 1
    rows = _lines(source)
    agreement = task["agreement"]
    assert agreement["theirs_correct"] == sum(r["175b_verification"]["is_correct"] for r in rows)
    assert (agreement["samples"], agreement["ours_correct_theirs_wrong"],
            agreement["ours_wrong_theirs_correct"]) == _recount(tmp_path / "run", task)


@needs_graded
def test_response_list_gives_several_samples_and_file_gold_is_used(tmp_path):
    models = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")
    rows = _lines(_rows_of(GSM8K_SOLUTIONS, tmp_path / "sol.jsonl", list(range(6))))
    source = tmp_path / "listed.jsonl"
    source.write_text("".join(json.dumps({
        "q": r["question"], "gold": r["ground_truth"],
        "solutions": [r[m]["solution"] for m in models],
        "ok": [r[m]["is_correct"] for m in models],
    }) + "\n" for r in rows))
    results = _import(source, "jsonl", tmp_path / "run", n=4, options={
        "question": "q", "response": "solutions", "label": "ok", "gold": "gold"})
    task = results["tasks"]["gsm8k"]
    assert task["n"] == 4 and task["problems"] == 6
    grades = _lines(tmp_path / "run" / task["grades_file"])
    # the gold is the file's worked solution reduced to its "A: N" line, equal to the task's
    assert [g["gold"] for g in grades[::4]] == [p.gold for p in get_task("gsm8k").load(limit=6)]
    assert results["import"]["gold"] == "file field 'gold'"
    assert results["import"]["gold_differs"]["count"] == 0
    assert task["agreement"]["samples"] == 24


def test_lm_eval_samples(tmp_path):
    source = FIXTURES / "lm_eval_gsm8k_samples.jsonl"
    lines = _lines(source)
    strict = [r for r in lines if r["filter"] == "strict-match"]
    results = _import(source, "lm-eval", tmp_path / "run", task="gsm8k")
    task = results["tasks"]["gsm8k"]
    assert task["problem_ids"] == [str(r["doc_id"]) for r in strict] and task["n"] == 1
    settings = results["import"]["settings"]
    assert settings["filter"] == "strict-match"
    assert settings["filters"] == ["strict-match", "flexible-extract"]
    assert results["sampling"]["temperature"] == 0.0 and results["sampling"]["max_tokens"] == 96
    external = _lines(tmp_path / "run" / task["external_file"])
    assert [e["correct"] for e in external] == [bool(r["exact_match"]) for r in strict]
    assert [e["extracted"] for e in external] == [r["filtered_resps"][0] for r in strict]
    flexible = _import(source, "lm-eval", tmp_path / "flex", task="gsm8k",
                       options={"filter": "flexible-extract"})
    assert flexible["tasks"]["gsm8k"]["agreement"]["theirs_correct"] == sum(
        r["exact_match"] for r in lines if r["filter"] == "flexible-extract")
    # the same completions whatever the filter: our verdicts do not change
    assert flexible["tasks"]["gsm8k"]["metrics"] == task["metrics"]


def test_lighteval_details(tmp_path):
    import pyarrow.parquet as pq

    source = FIXTURES / "lighteval_gsm8k_details.parquet"
    table = pq.read_table(source).to_pylist()
    results = _import(source, "lighteval", tmp_path / "run")
    task = results["tasks"]["gsm8k"]
    assert task["problems"] == len(table) and task["n"] == 1
    questions = {" ".join(p.question.split()): p.id for p in get_task("gsm8k").load()}
    assert task["problem_ids"] == sorted(
        (questions[" ".join(r["doc"]["specific"]["question"].split())] for r in table), key=int)
    grades = _lines(tmp_path / "run" / task["grades_file"])
    samples = {s["problem_id"]: s["text"] for s in _lines(tmp_path / "run" / task["samples_file"])}
    assert sorted(samples.values()) == sorted(r["model_response"]["text"][0] for r in table)
    assert len(grades) == len(table)


def test_openai_batch_output(tmp_path):
    results = _import(FIXTURES / "openai_batch_gsm8k_output.jsonl", "openai-batch",
                      tmp_path / "run")
    task = results["tasks"]["gsm8k"]
    assert task["problem_ids"] == ["0", "1", "2", "3"] and task["n"] == 2
    info = results["import"]
    assert info["failed_rows"]["count"] == 2 and info["unmatched_rows"]["count"] == 1
    assert "id 13190" in info["unmatched_rows"]["examples"][0]
    assert results["model"]["name"] == "gpt-4o-mini-2024-07-18"
    samples = _lines(tmp_path / "run" / task["samples_file"])
    assert [s["finish_reason"] for s in samples].count("length") == 1
    assert task["truncation_rate"] == 1 / 8
    assert task["agreement"] is None  # the Batch API gives no verdicts


def test_metrics_equal_those_of_the_run_path(tiny_model, tmp_path):
    """The same samples scored by `evalkit run` (stored, so regraded, not regenerated)."""
    imported = _import(FIXTURES / "openai_batch_gsm8k_output.jsonl", "openai-batch",
                       tmp_path / "imported")
    spec = plan_from(model=str(tiny_model), tasks=["gsm8k"], output_dir=tmp_path / "run",
                     limit=4, n=2, max_tokens=4, grader_workers=1)
    first = Runner(spec).run().to_json()
    store = tmp_path / "run" / first["tasks"]["gsm8k"]["samples_file"]
    store.write_text((tmp_path / "imported" / imported["tasks"]["gsm8k"]["samples_file"])
                     .read_text(encoding="utf-8"), encoding="utf-8")
    rerun = Runner(spec).run().to_json()
    ours, theirs = imported["tasks"]["gsm8k"], rerun["tasks"]["gsm8k"]
    assert ours["problem_ids"] == theirs["problem_ids"]
    assert ours["metrics"] == theirs["metrics"]
    assert ours["status_counts"] == theirs["status_counts"]
    assert ours["truncation_rate"] == theirs["truncation_rate"]
    assert _lines(tmp_path / "imported" / ours["grades_file"]) == _lines(
        tmp_path / "run" / theirs["grades_file"])


def test_imported_runs_work_with_every_command(tmp_path):
    cli = CliRunner()
    fixture = str(FIXTURES / "openai_batch_gsm8k_output.jsonl")
    a, b = tmp_path / "a", tmp_path / "b"
    result = cli.invoke(main, ["import", fixture, "--format", "openai-batch", "--output-dir",
                               str(a)])
    assert result.exit_code == 0, result.output
    assert "2 rows hold no completion" in result.output
    assert "1 rows matched no problem" in result.output
    result = cli.invoke(main, ["import", str(FIXTURES / "lm_eval_gsm8k_samples.jsonl"),
                               "--format", "lm-eval", "--task", "gsm8k", "--output-dir", str(b)])
    assert result.exit_code == 0, result.output
    assert "agreement with the producer's verdicts" in result.output
    for args in (["report", str(a)], ["compare", str(b), str(a)],
                 ["inspect", str(a), "--status", "wrong"], ["inspect", str(b), "--disagree"]):
        result = cli.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n  - rule: threshold\n    task: gsm8k\n    metric: pass@1\n"
                      "    min: 0.5\n  - rule: truncation_rate\n    max: 0.5\n")
    assert cli.invoke(main, ["gate", str(a), "--policy", str(policy)]).exit_code == 0
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    result = cli.invoke(main, ["card", str(model_dir), "--results", str(a)])
    assert result.exit_code == 0, result.output
    assert "gsm8k" in (model_dir / "README.md").read_text()
    result = cli.invoke(main, ["report", str(a), "--budgets", "16"])  # no token ids: refused
    assert result.exit_code == 2 and "carry no token ids" in result.output


def test_inspect_disagree_lists_both_verdicts(tmp_path):
    source = FIXTURES / "lm_eval_gsm8k_samples.jsonl"
    results = _import(source, "lm-eval", tmp_path / "run", task="gsm8k")
    agreement = results["tasks"]["gsm8k"]["agreement"]
    result = CliRunner().invoke(main, ["inspect", str(tmp_path / "run"), "--disagree"])
    assert result.exit_code == 0, result.output
    disagreements = agreement["samples"] - agreement["agree"]
    assert f"{agreement['agree']}/{agreement['samples']}" in result.output
    assert (result.output.count("(correct") + result.output.count("(wrong")) >= disagreements
    wrong = CliRunner().invoke(main, ["inspect", str(tmp_path / "run"), "--status", "wrong"])
    assert wrong.exit_code == 0 and "[invalid]" in wrong.output  # lm-eval's, shown verbatim
    none = CliRunner().invoke(main, ["inspect", str(tmp_path / "run"), "--status", "error"])
    assert "no sample matches" in none.output
