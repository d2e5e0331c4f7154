"""`evalkit card`: the model card round-trips its eval results through ModelCard.load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from huggingface_hub import ModelCard
from release_fixtures import verdicts, write_run

from evalkit.cli import main
from evalkit.release.card import eval_results
from evalkit.runfolder.folder import read_results


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen3"}))
    return folder


def _card(*args: object):
    return CliRunner().invoke(main, ["card", *map(str, args)])


def test_card_round_trips_eval_results(model_dir: Path, tmp_path: Path):
    first = write_run(tmp_path / "run1", {"aime24": verdicts(30, 8, 150),
                                          "aime25": verdicts(30, 8, 90)}, ks=(1, 8))
    second = write_run(tmp_path / "run2", {"amc23": verdicts(40, 8, 200)}, ks=(1, 8))
    (first / "budget_curve.png").write_bytes(b"\x89PNG fake")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("name: reasonlite-stage1\nlearning_rate: 1.0e-5\nepochs: 3\n")
    result = _card(model_dir, "--results", first, "--results", second / "results.json",
                   "--model-name", "org/tiny-math", "--license", "apache-2.0",
                   "--base-model", "Qwen/Qwen3-0.6B", "--dataset", "amd/ReasonLite-Dataset",
                   "--tag", "math", "--recipe", recipe, "--source-url", "https://ci.example/1")
    assert result.exit_code == 0, result.output

    card = ModelCard.load(model_dir / "README.md")
    expected = [r for run in (first, second)
                for r in eval_results(read_results(run),
                                      "https://ci.example/1")]
    assert card.data.eval_results == expected
    assert card.data.model_name == "org/tiny-math"
    loaded = {(r.dataset_type, r.metric_type): r.metric_value for r in card.data.eval_results}
    for run in (first, second):
        for task, block in json.loads((run / "results.json").read_text())["tasks"].items():
            for m in block["metrics"]:
                assert loaded.pop((task, m["metric"])) == m["value"]
    assert not loaded
    assert {r.task_type for r in card.data.eval_results} == {"text-generation"}

    meta = card.data.to_dict()
    assert meta["license"] == "apache-2.0" and meta["base_model"] == ["Qwen/Qwen3-0.6B"]
    assert meta["datasets"] == ["amd/ReasonLite-Dataset"]
    assert meta["tags"] == ["evalkit", "math"]
    assert meta["pipeline_tag"] == "text-generation" and meta["library_name"] == "transformers"

    body = card.text
    aime24 = json.loads((first / "results.json").read_text())["tasks"]["aime24"]
    avg = aime24["metrics"][0]
    assert (f"| aime24 | avg@8 | {100 * avg['value']:.1f} | "
            f"[{100 * avg['ci95'][0]:.1f}, {100 * avg['ci95'][1]:.1f}] |") in body
    assert f"`{aime24['data_sha256']}`" in body
    assert "grader: math-verify evalkit-grader/1" in body and "temperature=0.6" in body
    assert "learning_rate: 1.0e-05" in body and "![budget curve](budget_curve.png)" in body
    assert (model_dir / "budget_curve.png").read_bytes() == b"\x89PNG fake"
    assert 'model_id = "org/tiny-math"' in body and "@misc{tiny_math_2025" in body


def test_card_without_options_uses_folder_name(model_dir: Path, tmp_path: Path):
    run = write_run(tmp_path / "run", {"gsm8k": verdicts(10, 1, 7), "svamp": verdicts(1, 1, 1)})
    assert _card(model_dir, "--results", run).exit_code == 0
    card = ModelCard.load(model_dir / "README.md")
    assert card.data.model_name == "ckpt"
    assert card.data.eval_results == eval_results(read_results(run))
    assert [(r.dataset_name, r.metric_type, r.metric_value) for r in card.data.eval_results] == [
        ("gsm8k", "avg@1", 0.7), ("gsm8k", "pass@1", 0.7),
        ("svamp", "avg@1", 1.0), ("svamp", "pass@1", 1.0)]
    assert "stderr" not in card.data.eval_results[2].metric_args  # one problem: no SE
    assert card.data.eval_results[0].source_url is None
    assert "| svamp | avg@1 | 100.0 | [20.7, 100.0] | – | 1 | 1 | 0.0% |" in card.text  # Wilson


def test_card_refuses_duplicate_tasks_and_other_checkpoints(model_dir: Path, tmp_path: Path):
    a = write_run(tmp_path / "a", {"gsm8k": verdicts(10, 1, 7)})
    b = write_run(tmp_path / "b", {"gsm8k": verdicts(10, 1, 5)})
    duplicate = _card(model_dir, "--results", a, "--results", b)
    assert duplicate.exit_code == 2 and "task gsm8k is in both" in duplicate.stderr
    other = write_run(tmp_path / "c", {"gsm8k": verdicts(10, 1, 7)},
                      revision="folder-sha256:" + "0" * 64)
    mismatch = _card(model_dir, "--results", other)
    assert mismatch.exit_code == 2 and "different checkpoint" in mismatch.stderr
    assert not (model_dir / "README.md").exists()
