"""`evalkit release run` end to end on CPU: the tiny recipe, the tiny random Qwen3, a fake Hub.

One dry run (train -> evaluate -> gate -> card -> listed upload) feeds every test; each test
copies its run folder, so training and evaluation are skipped there and only what the test is
about runs again.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import httpx2
import huggingface_hub
import pytest
import yaml
from click.testing import CliRunner
from huggingface_hub import ModelCard

from evalkit.cli import main
from evalkit.generation.models import resolve_model
from evalkit.workflow.release_run import STAGES

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "training" / "recipes" / "release-tiny.yaml"
SHIPPED = ["README.md", "chat_template.jinja", "config.json", "generation_config.json",
           "model.safetensors", "results.json", "tokenizer.json", "tokenizer_config.json",
           "training_data.json", "training_recipe.yaml"]
PASS = [{"rule": "threshold", "task": "gsm8k", "metric": "pass@1", "min": 0.0}]
FAIL = [{"rule": "threshold", "task": "gsm8k", "metric": "pass@1", "min": 1.0}]


def _recipe(folder: Path, tiny_model: Path, rules: list[dict]) -> Path:
    """release-tiny.yaml with the tiny Qwen3 as teacher and student, and the given gate."""
    data = yaml.safe_load(TINY.read_text())
    data["train"]["set"].update({"teacher.model": str(tiny_model), "sft.model": str(tiny_model)})
    data["gate"] = {"rules": rules}
    data["publish"].update(repo_id="org/tiny-release", exist_ok=False)  # a retry must cope
    path = folder / "release.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _release(recipe: Path, run_dir: Path, *args: str):
    return CliRunner().invoke(main, ["release", "run", str(recipe), "--run-dir", str(run_dir),
                                     *args])


@pytest.fixture(scope="module")
def trained(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder after a full dry run of the tiny recipe."""
    folder = tmp_path_factory.mktemp("release")
    run_dir = folder / "run"
    result = _release(_recipe(folder, tiny_model, PASS), run_dir, "--dry-run")
    assert result.exit_code == 0, result.output
    for stage in ("train", "evaluate", "gate", "card"):
        assert f"{stage}: done" in result.output
    assert "would upload 10 files" in result.output and "publish: dry run" in result.output
    assert _listed(result.output) == SHIPPED
    return run_dir


@pytest.fixture
def run_dir(trained: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


def _listed(output: str) -> list[str]:
    """The files of the upload plan as printed: `  SIZE  PATH` lines."""
    return [m.group(1) for m in re.finditer(r"^ +[\d,]+  (\S+)$", output, re.MULTILINE)]


def _serve(handler) -> None:
    huggingface_hub.set_client_factory(
        lambda: httpx2.Client(transport=httpx2.MockTransport(handler)))


def _skipped(output: str) -> set[str]:
    return {line.split(":")[0] for line in output.splitlines()
            if line.endswith(": skipped (complete)") and not line.startswith(" ")}


def test_gate_pass_uploads_model_card_recipe_and_results(hub, run_dir, tiny_model, tmp_path):
    result = _release(_recipe(tmp_path, tiny_model, PASS), run_dir)
    assert result.exit_code == 0, result.output
    assert _skipped(result.output) == {"train", "evaluate", "gate", "card"}
    assert "published: https://huggingface.co/org/tiny-release/commit/" in result.output
    [commit] = hub.commits
    assert commit["path"] == "/api/models/org/tiny-release/commit/main"
    assert sorted(commit["files"]) == SHIPPED
    model = run_dir / "model"
    for name, content in commit["files"].items():
        assert content == (model / name).read_bytes()
    card = ModelCard(commit["files"]["README.md"].decode())
    results = json.loads(commit["files"]["results.json"])
    assert {(r.dataset_type, r.metric_type, r.metric_value) for r in card.data.eval_results} == {
        ("gsm8k", m["metric"], m["value"]) for m in results["tasks"]["gsm8k"]["metrics"]}
    assert "## Training recipe" in card.text and "pipeline: distill" in card.text
    # the datasets the training read, from its training_data.json
    assert card.data.datasets == ["openai/gsm8k"] and "## Training data" in card.text
    used = json.loads(commit["files"]["training_data.json"])["datasets"]
    assert [(d["hub_id"], d["split"]) for d in used] == [("openai/gsm8k", "train")]
    recipe = yaml.safe_load(commit["files"]["training_recipe.yaml"])
    assert recipe["pipeline"] == "distill" and recipe["sft"]["model"] == str(tiny_model)
    assert results["model"]["revision"] == resolve_model(str(model)).revision  # these weights
    again = _release(_recipe(tmp_path, tiny_model, PASS), run_dir)
    assert again.exit_code == 0 and _skipped(again.output) == set(STAGES)
    assert len(hub.commits) == 1


def test_failed_gate_stops_before_publishing(hub, run_dir, tiny_model, tmp_path):
    result = _release(_recipe(tmp_path, tiny_model, FAIL), run_dir)
    assert result.exit_code == 1, result.output
    assert _skipped(result.output) == {"train", "evaluate"}
    assert "gate failed: gsm8k pass@1 = 0.0%" in result.stderr
    assert "needs >= 100.0%: nothing published" in result.stderr
    assert "card:" not in result.output and hub.requests == []


def test_rerun_after_a_failed_upload_does_not_retrain(hub, run_dir, tiny_model, tmp_path,
                                                      monkeypatch):
    waits: list[float] = []  # huggingface_hub's backoff between retries, skipped
    monkeypatch.setattr(huggingface_hub.utils._http, "time", SimpleNamespace(sleep=waits.append))
    weights = run_dir / "model" / "model.safetensors"
    trained_at = (weights.stat().st_mtime_ns,
                  (run_dir / "train" / "stage2" / "model.safetensors").stat().st_mtime_ns)
    marker = (run_dir / "done" / "train.json").read_text()
    recipe = _recipe(tmp_path, tiny_model, PASS)

    def commit_fails(request: httpx2.Request) -> httpx2.Response:
        if "/commit/" in request.url.path:
            raise httpx2.ConnectError("connection reset", request=request)
        return hub.handler(request)

    _serve(commit_fails)
    failed = _release(recipe, run_dir)
    assert failed.exit_code == 2
    assert "cannot reach the Hub (ConnectError: connection reset)" in failed.stderr
    assert waits  # the client retried before giving up
    assert hub.repos == {"org/tiny-release"} and hub.commits == []

    _serve(hub.handler)
    retried = _release(recipe, run_dir)
    assert retried.exit_code == 0, retried.output
    assert _skipped(retried.output) == {"train", "evaluate", "gate", "card"}
    assert "distill" not in retried.output
    assert (weights.stat().st_mtime_ns,
            (run_dir / "train" / "stage2" / "model.safetensors").stat().st_mtime_ns) == trained_at
    assert (run_dir / "done" / "train.json").read_text() == marker
    [commit] = hub.commits
    assert sorted(commit["files"]) == SHIPPED


def test_from_and_until_select_stages(hub, run_dir, tiny_model, tmp_path):
    recipe = _recipe(tmp_path, tiny_model, PASS)
    gate_only = _release(recipe, run_dir, "--from", "gate", "--until", "gate")
    assert gate_only.exit_code == 0, gate_only.output
    assert "gate: done" in gate_only.output and "card:" not in gate_only.output
    assert "train:" not in gate_only.output and hub.requests == []
    shutil.rmtree(run_dir / "evaluate")
    (run_dir / "done" / "evaluate.json").unlink()
    refused = _release(recipe, run_dir, "--from", "card")
    assert refused.exit_code == 2
    assert "stage evaluate is not complete with this recipe" in refused.stderr
    assert hub.requests == []


def test_changed_evaluation_settings_rerun_evaluation_not_training(run_dir, tiny_model, tmp_path):
    data = yaml.safe_load(_recipe(tmp_path, tiny_model, PASS).read_text())
    data["evaluate"]["limit"] = 1
    recipe = tmp_path / "changed.yaml"
    recipe.write_text(yaml.safe_dump(data))
    result = _release(recipe, run_dir, "--until", "evaluate")
    assert result.exit_code == 0, result.output
    assert _skipped(result.output) == {"train"} and "evaluate: done" in result.output
    results = json.loads((run_dir / "evaluate" / "results.json").read_text())
    assert results["tasks"]["gsm8k"]["problems"] == 1


@pytest.mark.parametrize("name", ["release-reasonlite", "release-lightreasoner", "release-tiny",
                                  "release-lightr-sft", "release-lightr-sft-tiny",
                                  "release-grpo", "release-grpo-tiny"])
def test_bundled_recipes_load_with_their_training_recipe_and_policy(name, tmp_path):
    from evalkit.release.policy import load_policy
    from evalkit.workflow.release_recipe import load_release_recipe
    from evalkit.workflow.release_run import ReleaseRun

    recipe = load_release_recipe(REPO / "training" / "recipes" / f"{name}.yaml", tmp_path)
    run = ReleaseRun(recipe)
    assert run.training_settings()  # the training recipe resolves with the overrides
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump({"rules": recipe.gate.rules}))
    assert load_policy(policy).rules
    plan = recipe.evaluate.plan(tmp_path / "model", tmp_path / "evaluate")
    assert plan.tasks and recipe.publish.repo_id.count("/") == 1
    if plan.preset is not None:  # the preset filled what the recipe left out
        given = recipe.evaluate.settings
        assert plan.settings.max_tokens == given.get("max_tokens",
                                                     plan.preset["settings"]["max_tokens"])


def test_lightr_pipeline_with_a_policy_file_dry_run(hub, tmp_path):
    """The LightReasoner chain on two tiny models: sample -> LoRA -> merge -> ... -> listing."""
    from test_lightr_models import build_model_pair

    expert, amateur = build_model_pair(tmp_path / "pair")
    data = yaml.safe_load((TINY.parent / "release-lightreasoner.yaml").read_text())
    data["train"]["set"] = {
        "expert": str(expert), "amateur": str(amateur), "limit": 4, "sampling.max_new_tokens": 16,
        "sampling.batch_size": 4, "sampling.dtype": "float32", "sampling.beta": 2.5,
        "train.max_steps": 2, "train.per_device_batch_size": 4, "train.bf16": False,
        "merge.dtype": "float32"}
    data["evaluate"] = {"tasks": ["gsm8k"], "limit": 1, "max_tokens": 8, "engine": "hf"}
    data["gate"] = {"policy": "policy.yaml"}
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump({"rules": PASS}))
    recipe = tmp_path / "release.yaml"
    recipe.write_text(yaml.safe_dump(data))
    result = _release(recipe, tmp_path / "run", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "lightr merge: done" in result.output and "publish: dry run" in result.output
    assert _listed(result.output) == SHIPPED and hub.requests == []
    shipped = yaml.safe_load((tmp_path / "run" / "model" / "training_recipe.yaml").read_text())
    assert shipped["pipeline"] == "lightr" and shipped["expert"] == str(expert)
    assert (tmp_path / "run" / "gate" / "summary.md").read_text().count("PASS") == 2


def test_release_pipelines_are_the_training_pipelines():
    from evalkit.training import PIPELINES as TRAINING_PIPELINES
    from evalkit.workflow.release_recipe import PIPELINES

    assert PIPELINES == TRAINING_PIPELINES


def test_lightr_sft_baseline_release_dry_run_then_publish(hub, pair, tmp_path):
    """The "+ SFT" baseline chain on the tiny expert, a task it answers on even rows."""
    from test_lightr_sft import expert_answer_task, tiny_sft_settings

    task, keep = expert_answer_task(pair[0], tmp_path)
    data = yaml.safe_load((TINY.parent / "release-lightr-sft-tiny.yaml").read_text())
    settings = dict(item.split("=", 1) for item in tiny_sft_settings(task))
    data["train"]["set"] = {**{k: yaml.safe_load(v) for k, v in settings.items()},
                            "expert": str(pair[0])}
    data["publish"].update(repo_id="org/sft-baseline", exist_ok=False)
    recipe = tmp_path / "release.yaml"
    recipe.write_text(yaml.safe_dump(data))
    result = _release(recipe, tmp_path / "run", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"{len(keep)} correct solutions" in result.output
    assert "lightr sft: merged checkpoint" in result.output and _listed(result.output) == SHIPPED
    shipped = yaml.safe_load((tmp_path / "run" / "model" / "training_recipe.yaml").read_text())
    assert shipped["pipeline"] == "lightr-sft" and shipped["expert"] == str(pair[0])
    published = _release(recipe, tmp_path / "run")
    assert published.exit_code == 0, published.output
    assert _skipped(published.output) == {"train", "evaluate", "gate", "card"}
    [commit] = hub.commits
    assert sorted(commit["files"]) == SHIPPED


def test_grpo_release_dry_run(hub, tiny_model, tmp_path):
    data = yaml.safe_load((TINY.parent / "release-grpo-tiny.yaml").read_text())
    data["train"]["set"] = {"model": str(tiny_model)}
    recipe = tmp_path / "release.yaml"
    recipe.write_text(yaml.safe_dump(data))
    result = _release(recipe, tmp_path / "run", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "grpo: 2 steps" in result.output and "publish: dry run" in result.output
    assert _listed(result.output) == SHIPPED and hub.requests == []
    card = ModelCard((tmp_path / "run" / "model" / "README.md").read_text())
    assert card.data.datasets == ["openai/gsm8k"] and "pipeline: grpo" in card.text
    marker = json.loads((tmp_path / "run" / "done" / "train.json").read_text())["summary"]
    assert marker["checkpoint"] == "train/model" and marker["counts"]["steps"] == 2
