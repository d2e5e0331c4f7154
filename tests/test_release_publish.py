"""`evalkit publish` against a fake Hub served by an httpx2 MockTransport."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_hub import TOKEN, FakeHub
from release_fixtures import verdicts, write_run

from evalkit.cli import main
from evalkit.release.card import CardOptions, write_card


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny-math"
    (folder / "extra").mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen3"}))
    (folder / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    (folder / "tokenizer_config.json").write_text("{}")
    (folder / "tokenizer.json").write_text('{"model": {}}')
    (folder / "extra" / "notes.txt").write_text("trained for 3 epochs\n")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[core]\n")
    (folder / ".DS_Store").write_bytes(b"junk")
    run = write_run(tmp_path / "run", {"aime24": verdicts(30, 4, 90)}, ks=(1, 4))
    write_card(folder, [run], CardOptions(model_name="org/tiny-math", license="apache-2.0"))
    return folder


EXPECTED = ["README.md", "config.json", "extra/notes.txt", "model.safetensors",
            "tokenizer.json", "tokenizer_config.json"]


def _publish(*args: object):
    return CliRunner().invoke(main, ["publish", *map(str, args)])


def test_dry_run_lists_files_and_uploads_nothing(hub: FakeHub, model_dir: Path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    result = _publish(model_dir, "--repo-id", "org/tiny-math", "--dry-run")
    assert result.exit_code == 0, result.output
    listed = [line.split()[-1] for line in result.stdout.splitlines() if line.startswith("  ")]
    assert listed == EXPECTED
    size = (model_dir / "extra" / "notes.txt").stat().st_size
    assert f"  {size:>14,}  extra/notes.txt" in result.stdout
    assert "would upload 6 files" in result.stdout and "dry run: nothing uploaded" in result.stdout
    assert hub.requests == []


def test_publish_sends_the_folder_and_card(hub: FakeHub, model_dir: Path):
    result = _publish(model_dir, "--repo-id", "org/tiny-math", "--private",
                      "--commit-message", "Release v1")
    assert result.exit_code == 0, result.output
    assert "published: https://huggingface.co/org/tiny-math/commit/" in result.stdout
    assert TOKEN not in result.output
    create = json.loads(hub.requests[0].content)
    assert hub.requests[0].url.path == "/api/repos/create"
    assert create == {"name": "tiny-math", "organization": "org", "visibility": "private"}
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in hub.requests)
    [commit] = hub.commits
    assert commit["path"] == "/api/models/org/tiny-math/commit/main"
    assert commit["header"]["summary"] == "Release v1"
    assert sorted(commit["files"]) == EXPECTED
    for name, content in commit["files"].items():
        assert content == (model_dir / name).read_bytes()
    assert b"model-index" in commit["files"]["README.md"]
    assert b"name: org/tiny-math" in commit["files"]["README.md"]


def test_failed_gate_uploads_nothing(hub: FakeHub, model_dir: Path, tmp_path: Path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n  - {rule: threshold, task: aime24, metric: avg@4, min: 0.9}\n")
    result = _publish(model_dir, "--repo-id", "org/tiny-math", "--policy", policy,
                      "--results", tmp_path / "run")
    assert result.exit_code == 1
    assert "gate failed: nothing uploaded" in result.stderr
    assert hub.requests == []
    policy.write_text("rules:\n  - {rule: threshold, task: aime24, metric: avg@4, min: 0.7}\n")
    passed = _publish(model_dir, "--repo-id", "org/tiny-math", "--policy", policy,
                      "--results", tmp_path / "run")
    assert passed.exit_code == 0, passed.output
    assert len(hub.commits) == 1


def test_no_token_is_a_clear_error(hub: FakeHub, model_dir: Path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    result = _publish(model_dir, "--repo-id", "org/tiny-math")
    assert result.exit_code == 2
    assert "no Hugging Face token: set HF_TOKEN or run `hf auth login`" in result.stderr
    assert hub.requests == []


def test_existing_repo_needs_exist_ok(hub: FakeHub, model_dir: Path):
    hub.repos.add("org/tiny-math")
    refused = _publish(model_dir, "--repo-id", "org/tiny-math")
    assert refused.exit_code == 2
    assert "repo org/tiny-math already exists on the Hub: pass --exist-ok" in refused.stderr
    assert hub.commits == []
    updated = _publish(model_dir, "--repo-id", "org/tiny-math", "--exist-ok")
    assert updated.exit_code == 0, updated.output
    assert sorted(hub.commits[0]["files"]) == EXPECTED


def test_network_and_auth_errors_are_one_line_without_token(hub: FakeHub, model_dir: Path):
    hub.down = True
    down = _publish(model_dir, "--repo-id", "org/tiny-math")
    assert down.exit_code == 2
    assert down.stderr.startswith("error: cannot reach the Hub (ConnectError: connection refused)")
    hub.down, hub.reject_token = False, True
    rejected = _publish(model_dir, "--repo-id", "org/tiny-math")
    assert rejected.exit_code == 2 and "the Hub rejected the token (401)" in rejected.stderr
    for result in (down, rejected):
        assert result.stderr.count("\n") == 1 and TOKEN not in result.output
    assert hub.commits == []


def test_incomplete_folder_names_what_is_missing(hub: FakeHub, model_dir: Path):
    (model_dir / "model.safetensors").rename(model_dir / "pytorch_model.bin")
    (model_dir / "tokenizer.json").unlink()
    (model_dir / "README.md").unlink()
    result = _publish(model_dir, "--repo-id", "org/tiny-math", "--dry-run")
    assert result.exit_code == 2
    assert "is not ready to publish: missing weights (*.safetensors: found .bin weights" in (
        result.stderr)
    assert "tokenizer (tokenizer_config.json plus tokenizer.json" in result.stderr
    assert "README.md model card (write it with `evalkit card`)" in result.stderr
    assert hub.requests == []


def test_missing_shard_bad_card_and_bad_repo_id(hub: FakeHub, model_dir: Path):
    (model_dir / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
        "a": "model.safetensors", "b": "model-00002-of-00002.safetensors"}}))
    shard = _publish(model_dir, "--repo-id", "org/tiny-math", "--dry-run")
    assert shard.exit_code == 2 and "weight shards model-00002-of-00002.safetensors" in (
        shard.stderr)
    (model_dir / "model.safetensors.index.json").unlink()
    card = (model_dir / "README.md").read_text()
    (model_dir / "README.md").write_text("---\n- not a mapping\n---\n" + card)
    bad_card = _publish(model_dir, "--repo-id", "org/tiny-math", "--dry-run")
    assert bad_card.exit_code == 2 and "README.md has invalid metadata" in bad_card.stderr
    bad = _publish(model_dir, "--repo-id", "tiny-math", "--dry-run")
    assert bad.exit_code == 2 and "--repo-id must look like ORG/NAME" in bad.stderr
