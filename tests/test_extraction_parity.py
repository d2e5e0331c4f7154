"""The `reasonlite` and `qwen25-math` extraction modes reproduce the reference evaluators on the
parity fixtures (tests/fixtures/parity/README.md), are part of the grader's identity, and reach
the grader from `evalkit run` (presets) and `evalkit regrade`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.grading import Grader, GraderConfig, GradeRequest, grader_info, load_grader_config
from evalkit.grading.grader import cache_key
from evalkit.grading.judge import judge_math
from evalkit.grading.reference_extraction import (
    qwen25_math_answer,
    reasonlite_answer_is,
    reasonlite_boxed,
)
from evalkit.grading.reference_grading import math_verify_whole_response
from evalkit.grading.version import cache_namespace
from evalkit.stages.grade import grader_identity

PARITY = Path(__file__).parent / "fixtures" / "parity"
REASONLITE = [json.loads(line) for line in
              (PARITY / "reasonlite_extraction.jsonl").read_text().splitlines()]
QWEN25_MATH = [json.loads(line) for line in
               (PARITY / "qwen25_math_extraction.jsonl").read_text().splitlines()]

# math-verify 0.9 (evalkit's) reads `50\%` as 50 where ReasonLite's pinned 0.7.0 does not
# (fixture README, check 3); ReasonLite's final verdict is the same either way.
MATH_VERIFY_09 = {"rl-13": True}
# evalkit's judge stands in for ReasonLite's math_equal in checks 1 and 2; where they differ on
# a fixture (the final verdict stays the same: math-verify's check 3 passes there too):
JUDGE_DEVIATIONS = {
    ("rl-15", "correct_boxed"): "evalkit's judge reads `x = 5` as 5, math_equal does not",
}


def _kind(row: dict) -> str:
    return "choice" if row["data_name"] == "mmlu_stem" else "math"


@pytest.fixture(scope="module")
def reasonlite_grader():
    with Grader(workers=0, config=GraderConfig(extraction="reasonlite")) as grader:
        yield grader


@pytest.fixture(scope="module")
def qwen_grader():
    with Grader(workers=0, config=GraderConfig(extraction="qwen25-math")) as grader:
        yield grader


@pytest.mark.parametrize("row", REASONLITE, ids=[row["id"] for row in REASONLITE])
def test_reasonlite_extracts_what_eval_py_extracts(row: dict) -> None:
    boxed, answer_is = reasonlite_boxed(row["response"]), reasonlite_answer_is(row["response"])
    assert (boxed, answer_is) == (row["extracted_boxed"], row["extracted_answer_is"])
    assert (boxed if boxed is not None else answer_is) == row["extracted"]


@pytest.mark.parametrize("row", REASONLITE, ids=[row["id"] for row in REASONLITE])
def test_reasonlite_checks_and_verdict_match_eval_py(row: dict, reasonlite_grader) -> None:
    equal, parsed = math_verify_whole_response(row["gold"], row["response"])
    assert (equal, parsed) == (MATH_VERIFY_09.get(row["id"], row["correct_math_verify"]),
                               row["math_verify_parsed"])
    for check, answer in (("correct_boxed", row["extracted_boxed"]),
                          ("correct_answer_is", row["extracted_answer_is"])):
        judged = bool(answer) and judge_math(row["gold"], answer)
        assert judged == (row[check] != ((row["id"], check) in JUDGE_DEVIATIONS)), check
    grade = reasonlite_grader.grade([GradeRequest(row["response"], row["gold"])])[0]
    assert grade.correct == row["correct"], grade


@pytest.mark.parametrize("row", QWEN25_MATH, ids=[row["id"] for row in QWEN25_MATH])
def test_qwen25_math_extracts_and_scores_as_the_toolkit(row: dict, qwen_grader) -> None:
    assert qwen25_math_answer(row["response"], _kind(row), row["gold"]) == row["extracted"]
    request = GradeRequest(row["response"], row["gold"], _kind(row), task=row["data_name"])
    grade = qwen_grader.grade([request])[0]
    assert grade.correct == row["correct"], grade
    if row["extracted"]:
        assert (grade.extracted, grade.rule) == (row["extracted"], "qwen25-math")


def test_the_toolkit_takes_a_letter_for_a_letter_gold_on_a_math_task() -> None:
    # math_eval.py's fix-up: a letter gold and a prediction that is not a letter
    assert qwen25_math_answer("So 12 apples. The answer is (C) 12", "math", "C") == "C"
    assert qwen25_math_answer("So 12 apples. The answer is 12", "math", "12") == "12"


def test_an_unclosed_think_is_graded_in_the_reference_modes_and_truncated_in_evalkits() -> None:
    cut = GradeRequest("<think>\nFirst 16 - 3 - 4 = 9 eggs, and 9 * 2 = 18, but", "18",
                       finish_reason="length", task="gsm8k")
    statuses = {}
    for mode in ("evalkit", "reasonlite", "qwen25-math"):
        with Grader(workers=0, config=GraderConfig(extraction=mode)) as grader:
            statuses[mode] = grader.grade([cut])[0].status
    assert statuses == {"evalkit": "truncated", "reasonlite": "correct",
                        "qwen25-math": "correct"}


def test_the_mode_is_part_of_the_graders_identity() -> None:
    modes = ("evalkit", "reasonlite", "qwen25-math")
    infos = [grader_info(config=GraderConfig(extraction=mode)) for mode in modes]
    assert [info["extraction"] for info in infos] == list(modes)
    assert "AMD-AGI/ReasonLite@" in infos[1]["extraction_source"]
    assert "QwenLM/Qwen2.5-Math@" in infos[2]["extraction_source"]
    assert len({cache_namespace(GraderConfig(extraction=mode)) for mode in modes}) == 3
    identities = set()
    for mode in modes:
        with Grader(workers=0, config=GraderConfig(extraction=mode)) as grader:
            identities.add(grader_identity(grader))
    assert len(identities) == 3  # stored grade rows of one mode are regraded in another


def test_a_cached_verdict_of_one_mode_is_not_used_by_another() -> None:
    request = GradeRequest("She makes \\boxed{18}", "18", task="gsm8k")
    planted = GraderConfig(extraction="qwen25-math")
    cache = {cache_key("18", "18", "math", cache_namespace(planted)): "wrong"}
    with Grader(workers=0, cache=dict(cache), config=planted) as grader:
        assert grader.grade([request])[0].status == "wrong"  # the mode's own cache is read
    for mode in ("evalkit", "reasonlite"):
        with Grader(workers=0, cache=dict(cache), config=GraderConfig(extraction=mode)) as grader:
            assert grader.grade([request])[0].status == "correct"


def test_a_verdict_on_the_whole_response_is_not_cached_under_its_answer() -> None:
    cache: dict[str, str] = {}
    with Grader(workers=0, cache=cache, config=GraderConfig(extraction="reasonlite")) as grader:
        grade = grader.grade([GradeRequest("We need 3+4 = 7, then multiply by", "7")])[0]
    assert (grade.status, grade.extracted, grade.rule) == ("correct", "7", "math_verify")
    assert cache == {}


def test_the_mode_is_chosen_by_option_not_in_a_grader_config_file(tmp_path: Path) -> None:
    config = tmp_path / "grader.yaml"
    config.write_text("extraction: reasonlite\n")
    with pytest.raises(EvalkitError, match="--extraction"):
        load_grader_config(config)
    with pytest.raises(EvalkitError, match="extraction 'lm-eval' is unknown"):
        GraderConfig(extraction="lm-eval")


def _results(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text())


def _grade_rows(folder: Path) -> list[dict]:
    return [json.loads(line) for path in sorted((folder / "grades").glob("*.jsonl"))
            for line in path.read_text().splitlines()]


def test_a_lightreasoner_run_records_the_mode_and_grades_with_it(tiny_model: Path,
                                                                 tmp_path: Path) -> None:
    from fake_openai_server import FakeOpenAIServer

    server = FakeOpenAIServer(served=str(tiny_model))  # the tokenizer is the local folder's
    text = "<think>\nFirst 16 - 3 - 4 = 9 eggs remain, and 9 * 2 = 18, but wait"
    server.answer = lambda path, body: {  # type: ignore[method-assign]
        "choices": [{"index": 0, "text": text, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 20}}
    out = tmp_path / "run"
    try:
        result = CliRunner().invoke(main, [
            "run", "--preset", "lightreasoner", "--model", str(tiny_model), "--engine", "openai",
            "--base-url", server.url, "--tasks", "gsm8k", "--limit", "1", "--output-dir",
            str(out)], catch_exceptions=False)
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    results = _results(out)
    assert results["grader"]["extraction"] == "qwen25-math"
    assert results["plan"]["sources"]["extraction"] == "preset lightreasoner"
    (row,) = _grade_rows(out)
    assert (row["status"], row["extracted"], row["rule"]) == ("correct", "18", "qwen25-math")

    kept = CliRunner().invoke(main, ["regrade", str(out)], catch_exceptions=False)
    assert kept.exit_code == 0, kept.output
    assert _results(out)["grader"]["extraction"] == "qwen25-math"
    assert _grade_rows(out)[0]["status"] == "correct"

    changed = CliRunner().invoke(main, ["regrade", str(out), "--extraction", "evalkit"],
                                 catch_exceptions=False)
    assert changed.exit_code == 0, changed.output
    assert _results(out)["grader"]["extraction"] == "evalkit"
    assert _grade_rows(out)[0]["status"] == "truncated"  # evalkit's think policy


def test_a_profiled_run_on_the_tiny_model_grades_in_the_profiles_mode(tiny_model: Path,
                                                                      tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "run", "--model", str(tiny_model), "--profile", "amd/ReasonLite-0.6B", "--tasks",
        "aime24", "--limit", "1", "--n", "2", "--k", "1,2", "--max-tokens", "4", "--output-dir",
        str(out)],
        catch_exceptions=False)
    assert result.exit_code == 0, result.output
    results = _results(out)
    assert results["grader"]["extraction"] == "reasonlite"
    assert results["plan"]["sources"]["extraction"] == "profile amd/ReasonLite-0.6B"
    rows = _grade_rows(out)
    assert len(rows) == 2
    assert {row["rule"] for row in rows} <= {"boxed", "answer_is", "math_verify", None}
