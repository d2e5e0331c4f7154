"""`evalkit run` end to end on the tiny random model: outputs, resume, extension, errors."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main


def _run(args: list[str]):
    result = CliRunner().invoke(main, ["run", *args], catch_exceptions=False)
    return result


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def base_args(tiny_model, tmp_path):
    return [
        "--model",
        str(tiny_model),
        "--tasks",
        "gsm8k",
        "--limit",
        "3",
        "--max-tokens",
        "8",
        "--output-dir",
        str(tmp_path / "run"),
    ]


def test_run_writes_results_samples_and_provenance(base_args, tmp_path):
    result = _run([*base_args, "--n", "2"])
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    task = results["tasks"]["gsm8k"]
    assert task["problems"] == 3 and task["n"] == 2
    assert [m["metric"] for m in task["metrics"]] == ["avg@2", "pass@1", "pass@2", "cons@2"]
    assert sum(task["status_counts"].values()) == 6
    assert len(task["data_sha256"]) == 64
    assert results["model"]["revision"].startswith("folder-sha256:")
    assert (
        results["prompt"]["preset"] == "boxed" and "\\boxed{}" in results["prompt"]["user_template"]
    )
    assert results["sampling"]["temperature"] == 0.6 and results["sampling"]["seed"] == 0
    assert {"math_verify", "grader_version"} <= set(results["grader"])
    assert {"torch", "transformers", "math-verify"} <= set(results["versions"])
    assert results["hardware"]["cpu_count"] >= 1
    assert results["engine"]["name"] == "hf"
    samples = _lines(tmp_path / "run" / task["samples_file"])
    assert len(samples) == 6
    assert all(s["finish_reason"] in ("stop", "length") and s["num_tokens"] <= 8 for s in samples)
    grades = _lines(tmp_path / "run" / task["grades_file"])
    assert len(grades) == 6 and all(g["status"] for g in grades)
    assert "gsm8k" in (tmp_path / "run" / "results.md").read_text()


def test_rerun_generates_nothing_and_raising_n_extends(base_args, tmp_path):
    assert _run([*base_args, "--n", "2"]).exit_code == 0
    first = json.loads((tmp_path / "run" / "results.json").read_text())
    samples_file = tmp_path / "run" / first["tasks"]["gsm8k"]["samples_file"]
    before = samples_file.read_text()
    again = _run([*base_args, "--n", "2"])
    assert again.exit_code == 0 and "0 to generate" in again.output
    rerun = json.loads((tmp_path / "run" / "results.json").read_text())
    assert "loading" not in again.output  # no engine was built
    assert rerun["timings"] == first["timings"]  # how the samples were made still stands
    assert samples_file.read_text() == before
    more = _run([*base_args, "--n", "3"])
    assert more.exit_code == 0 and "6 stored, 3 to generate" in more.output
    assert samples_file.read_text().startswith(before)
    assert len(_lines(samples_file)) == 9


def test_samples_do_not_depend_on_batch_layout(tiny_model, tmp_path):
    texts = []
    for batch in ("1", "4"):
        out = tmp_path / f"b{batch}"
        result = _run(
            [
                "--model",
                str(tiny_model),
                "--tasks",
                "gsm8k",
                "--limit",
                "3",
                "--n",
                "2",
                "--temperature",
                "1.0",
                "--max-tokens",
                "6",
                "--batch-size",
                batch,
                "--output-dir",
                str(out),
            ]
        )
        assert result.exit_code == 0, result.output
        rows = _lines(next((out / "samples").glob("*.jsonl")))
        texts.append({(r["problem_id"], r["sample_index"]): r["token_ids"] for r in rows})
    assert texts[0] == texts[1]


def test_killed_run_resumes_without_losing_stored_samples(tiny_model, tmp_path):
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "evalkit",
        "run",
        "--model",
        str(tiny_model),
        "--tasks",
        "gsm8k",
        "--limit",
        "4",
        "--n",
        "2",
        "--max-tokens",
        "16",
        "--batch-size",
        "1",
        "--output-dir",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    stored = []
    while time.time() < deadline and proc.poll() is None:
        files = list((out / "samples").glob("*.jsonl")) if (out / "samples").exists() else []
        if files and len(files[0].read_text().splitlines()) >= 2:
            proc.kill()
            stored = files[0].read_text().splitlines()
            break
        time.sleep(0.05)
    proc.wait()
    assert 2 <= len(stored) < 8, "the run should have been killed midway"
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "to generate" in resumed.stderr
    final = next((out / "samples").glob("*.jsonl")).read_text().splitlines()
    assert len(final) == 8
    kept = final[: len(stored)]
    assert [json.loads(x) for x in kept] == [json.loads(x) for x in stored]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--tasks", "gsm9k"], "unknown task"),
        (["--n", "2", "--k", "1,8"], "k=8 is larger than n=2"),
        (["--k", "a,b"], "--k expects"),
        (["--engine", "warp"], "unknown engine"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(tiny_model, tmp_path, args, message):
    result = _run(["--model", str(tiny_model), "--output-dir", str(tmp_path / "r"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_missing_and_unreadable_models_are_clear_errors(tmp_path):
    junk = tmp_path / "broken.gguf"
    junk.write_bytes(b"not a gguf file")
    cases = [
        ("org/definitely-not-cached-model", "offline"),
        (str(tmp_path / "nowhere"), "not found"),
        (str(junk), "not a readable GGUF"),
        (str(tmp_path), "no config.json"),
    ]
    for model, message in cases:
        result = _run(
            [
                "--model",
                model,
                "--tasks",
                "gsm8k",
                "--limit",
                "1",
                "--output-dir",
                str(tmp_path / "r"),
            ]
        )
        assert result.exit_code == 2, model
        assert message in result.output, result.output


def test_malformed_custom_task_is_an_error_and_keeps_stored_samples(base_args, tmp_path):
    assert _run([*base_args, "--n", "1"]).exit_code == 0
    stored = {p: p.read_text() for p in (tmp_path / "run" / "samples").glob("*.jsonl")}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "1+1?", "answer": "2"}\n{"question": \n')
    result = _run([*base_args[:2], "--tasks", f"gsm8k,{bad}", *base_args[4:]])
    assert result.exit_code == 2 and "line 2" in result.output
    assert {p: p.read_text() for p in stored} == stored


def test_grader_config_is_applied_and_recorded(base_args, tmp_path):
    config = tmp_path / "grader.yaml"
    config.write_text("think_policy: whole_text\npercent: strict\n")
    result = _run([*base_args, "--grader-config", str(config)])
    assert result.exit_code == 0, result.output
    grader = json.loads((tmp_path / "run" / "results.json").read_text())["grader"]
    assert grader["think_policy"] == "whole_text" and grader["percent"] == "strict"
