"""Bad input to `evalkit import` / `evalkit grade`: one line naming the fix, exit code 2."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


def _write(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _fails(args: list[str], *expected: str) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_unknown_format(tmp_path):
    source = _write(tmp_path / "a.jsonl", [{"question": "q", "response": "r"}])
    _fails(["import", str(source), "--format", "helm", "--output-dir", str(tmp_path / "o")],
           "unknown format 'helm'", "--format", "lm-eval")


def test_option_of_another_format(tmp_path):
    _fails(["import", str(FIXTURES / "lm_eval_gsm8k_samples.jsonl"), "--format", "lm-eval",
            "--response-field", "resps", "--output-dir", str(tmp_path / "o")],
           "--response-field does not apply to --format lm-eval", "--filter")


def test_misnamed_field_names_the_fields_and_the_option(tmp_path):
    source = _write(tmp_path / "a.jsonl", [{"question": "q", "completion": "r"}])
    _fails(["grade", str(source), "--response-field", "response", "--output-dir",
            str(tmp_path / "o")], "no field 'response'", "completion", "--response-field")


def test_missing_nested_field(tmp_path):
    source = _write(tmp_path / "a.jsonl", [{"question": "q", "m": {"solution": "r"}}])
    _fails(["grade", str(source), "--response-field", "m.answer", "--output-dir",
            str(tmp_path / "o")], "'m.answer'", "dotted")


def test_empty_file(tmp_path):
    source = tmp_path / "empty.jsonl"
    source.write_text("\n\n")
    _fails(["grade", str(source), "--response-field", "r", "--output-dir", str(tmp_path / "o")],
           "is empty")


def test_mixed_type_response_list(tmp_path):
    source = _write(tmp_path / "a.jsonl", [{"question": "q", "responses": ["a", 3, None]}])
    _fails(["grade", str(source), "--response-field", "responses", "--output-dir",
            str(tmp_path / "o")], "mixed types", "int", "str")


def test_label_list_of_the_wrong_length(tmp_path):
    source = _write(tmp_path / "a.jsonl", [{"question": "q", "r": ["a", "b"], "ok": [True]}])
    _fails(["grade", str(source), "--response-field", "r", "--label-field", "ok",
            "--output-dir", str(tmp_path / "o")], "1 verdicts for 2 responses")


@pytest.mark.parametrize(
    ("fixture", "named", "actual"),
    [
        ("openai_batch_gsm8k_output.jsonl", "qwen25-math", "openai-batch"),
        ("lm_eval_gsm8k_samples.jsonl", "openai-batch", "lm-eval"),
        ("lighteval_gsm8k_details.parquet", "jsonl", "lighteval"),
        ("lighteval_gsm8k_details.parquet", "lm-eval", "lighteval"),
    ],
)
def test_file_of_another_format_names_the_right_one(tmp_path, fixture, named, actual):
    _fails(["import", str(FIXTURES / fixture), "--format", named, "--output-dir",
            str(tmp_path / "o")], f"looks like {actual} output", f"--format {actual}")


def test_known_format_named_jsonl_without_fields(tmp_path):
    source = FIXTURES / "lm_eval_gsm8k_samples.jsonl"
    _fails(["import", str(source), "--format", "jsonl", "--output-dir", str(tmp_path / "o")],
           "looks like lm-eval output", "--format lm-eval")


def test_plain_jsonl_named_lighteval(tmp_path):
    source = _write(tmp_path / "a.jsonl", [{"question": "q", "response": "r"}])
    _fails(["import", str(source), "--format", "lighteval", "--output-dir", str(tmp_path / "o")],
           "not a parquet file")


def test_nothing_matched_names_task(tmp_path):
    source = _write(tmp_path / "a.jsonl", [{"question": "What is 2+2?", "response": "4"}])
    _fails(["grade", str(source), "--response-field", "response", "--task", "gsm8k",
            "--output-dir", str(tmp_path / "o")], "matched a problem of task gsm8k", "--task")


def test_unknown_questions_without_task(tmp_path):
    source = _write(tmp_path / "a.jsonl", [{"question": "What is 2+2?", "response": "4"}])
    _fails(["grade", str(source), "--response-field", "response", "--output-dir",
            str(tmp_path / "o")], "is in a bundled task", "--task")


def test_missing_source_file(tmp_path):
    _fails(["import", str(tmp_path / "nope.jsonl"), "--format", "jsonl", "--output-dir",
            str(tmp_path / "o")], "is not a file")


def test_refuses_the_folder_of_an_evalkit_run(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text(json.dumps({"engine": {"name": "hf"}}))
    _fails(["import", str(FIXTURES / "openai_batch_gsm8k_output.jsonl"), "--format",
            "openai-batch", "--output-dir", str(tmp_path / "run")], "another run's samples")
