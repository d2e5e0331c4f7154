"""The openai engines against a small in-process OpenAI-compatible server.

The server answers deterministically from (prompt, seed) and can be told to fail, so these
tests check what goes over the wire (prompt, seed, sampling, key), retries, bounded
concurrency, usage / finish_reason bookkeeping, resume after giving up, and that the API key
never reaches results or logs. tests/vllm_cpu runs the same engine against a real `vllm serve`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_openai_server import FakeOpenAIServer
from rich.console import Console

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.generation.engines import (
    EngineOptions,
    GenerationRequest,
    SamplingConfig,
    create_engine,
)
from evalkit.generation.engines import openai as openai_engine
from evalkit.generation.engines.base import cut_at_stop
from evalkit.generation.prompts import PRESETS, Prompter
from evalkit.records import Completion
from evalkit.run.plan import RunPlan, plan_from
from evalkit.run.runner import Runner

SECRET = "sk-evalkit-test-0123456789abcdef"


@pytest.fixture
def server():
    fake = FakeOpenAIServer()
    yield fake
    fake.close()


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch):
    monkeypatch.setattr(openai_engine, "backoff_delay", lambda attempt, retry_after_s: 0.01)


def _requests(prompter: Prompter, count: int) -> list[GenerationRequest]:
    return [
        GenerationRequest(f"p{i}", 0, 1000 + i, prompter.render(f"What is {i} + {i}?"))
        for i in range(count)
    ]


def _collect(engine, requests, sampling) -> dict:
    done = {}
    engine.generate(requests, sampling, lambda batch: done.update(
        {(r.problem_id, r.sample_index): c for r, c in batch}))
    return done


def test_completions_send_rendered_prompt_seed_and_sampling(server, tiny_model):
    engine = create_engine("openai", str(tiny_model), batch_size=2,
                           options=EngineOptions(base_url=server.url))
    prompter = Prompter(PRESETS["boxed"], engine.tokenizer)
    requests = _requests(prompter, 5)
    done = _collect(engine, requests, SamplingConfig(0.6, 0.95, 64))
    assert len(done) == 5
    by_seed = {b["seed"]: b for b in server.bodies}
    for request in requests:
        body = by_seed[request.seed]
        assert body["prompt"] == request.prompt.text and "<|im_start|>assistant" in body["prompt"]
        assert body["model"] == "tiny" and body["n"] == 1
        assert (body["max_tokens"], body["temperature"], body["top_p"]) == (64, 0.6, 0.95)
        expected = server.answer("/v1/completions", body)
        completion = done[(request.problem_id, 0)]
        assert completion.text == expected["choices"][0]["text"]
        assert completion.finish_reason == expected["choices"][0]["finish_reason"]
        assert completion.num_tokens == expected["usage"]["completion_tokens"]
        assert completion.prompt_tokens == 11
    info = engine.info()
    assert info["server_version"] == "fake-1.0" and info["served_model"] == "tiny"
    assert server.auth == {None}


def test_greedy_sends_temperature_zero_and_top_p_one(server, tiny_model):
    engine = create_engine("openai", str(tiny_model), options=EngineOptions(base_url=server.url))
    prompter = Prompter(PRESETS["boxed"], engine.tokenizer)
    _collect(engine, _requests(prompter, 1), SamplingConfig(0.0, 1.0, 8))
    assert (server.bodies[0]["temperature"], server.bodies[0]["top_p"]) == (0.0, 1.0)


def test_stop_strings_top_k_min_p_and_repetition_penalty_are_sent_only_when_set(server,
                                                                              tiny_model):
    engine = create_engine("openai", str(tiny_model), options=EngineOptions(base_url=server.url))
    prompter = Prompter(PRESETS["boxed"], engine.tokenizer)
    _collect(engine, _requests(prompter, 1), SamplingConfig(0.6, 0.95, 8))
    assert not {"stop", "top_k", "min_p", "repetition_penalty"} & set(server.bodies[0])
    sampling = SamplingConfig(0.6, 0.95, 8, top_k=20, min_p=0.05, repetition_penalty=1.1,
                              stop=("</s>", "<|im_end|>"))
    _collect(engine, _requests(prompter, 1), sampling)
    body = server.bodies[1]
    assert body["stop"] == ["</s>", "<|im_end|>"]
    assert (body["top_k"], body["min_p"], body["repetition_penalty"]) == (20, 0.05, 1.1)


def test_a_completion_is_cut_at_its_first_stop_string():
    whole = Completion("x = 2 </s> then more <|im_end|>", 9, "length", token_ids=[1, 2, 3])
    cut = cut_at_stop(whole, ("<|im_end|>", "</s>"))
    assert (cut.text, cut.finish_reason, cut.token_ids) == ("x = 2 ", "stop", None)
    assert cut_at_stop(whole, ("nowhere",)) is whole and cut_at_stop(whole, ()) is whole


def test_chat_endpoint_sends_messages_and_needs_no_local_model(server):
    engine = create_engine("openai-chat", "", options=EngineOptions(base_url=server.url))
    prompter = Prompter(PRESETS["qwen25-math-cot"], engine.tokenizer)
    done = _collect(engine, _requests(prompter, 2), SamplingConfig(0.0, 1.0, 16))
    messages = server.bodies[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "\\boxed{}" in messages[0]["content"] and messages[1]["content"].startswith("What is")
    assert all("\\boxed" in c.text for c in done.values())
    with pytest.raises(EvalkitError, match="--engine openai"):
        plain = Prompter(PRESETS["plain"], engine.tokenizer)
        _collect(engine, _requests(plain, 1), SamplingConfig(0.0, 1.0, 16))


@pytest.mark.parametrize("failure", [429, 500, 503, "drop"])
def test_retries_overload_server_errors_and_dropped_connections(server, tiny_model, failure):
    server.failures = [failure, failure]
    engine = create_engine("openai", str(tiny_model), options=EngineOptions(base_url=server.url))
    prompter = Prompter(PRESETS["boxed"], engine.tokenizer)
    done = _collect(engine, _requests(prompter, 3), SamplingConfig(0.6, 0.95, 16))
    assert len(done) == 3 and len(server.bodies) == 3


def test_client_errors_are_not_retried(server, tiny_model):
    server.failures = [400]
    engine = create_engine("openai", str(tiny_model), options=EngineOptions(base_url=server.url))
    prompter = Prompter(PRESETS["boxed"], engine.tokenizer)
    with pytest.raises(EvalkitError, match="HTTP 400"):
        _collect(engine, _requests(prompter, 1), SamplingConfig(0.6, 0.95, 16))


def test_concurrency_is_bounded(server, tiny_model):
    server.delay_s = 0.1
    engine = create_engine("openai", str(tiny_model), batch_size=3,
                           options=EngineOptions(base_url=server.url))
    prompter = Prompter(PRESETS["boxed"], engine.tokenizer)
    done = _collect(engine, _requests(prompter, 12), SamplingConfig(0.6, 0.95, 16))
    assert len(done) == 12
    assert 2 <= server.max_in_flight <= 3


def test_missing_base_url_and_unset_key_are_clear_errors(tiny_model, monkeypatch):
    with pytest.raises(EvalkitError, match="--base-url"):
        create_engine("openai", str(tiny_model))
    monkeypatch.delenv("EVALKIT_UNSET_KEY", raising=False)
    with pytest.raises(EvalkitError, match="EVALKIT_UNSET_KEY"):
        create_engine("openai", str(tiny_model), options=EngineOptions(
            base_url="http://127.0.0.1:9/v1", api_key_env="EVALKIT_UNSET_KEY"))


def _files_text(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


def test_key_is_sent_but_never_written_to_results_or_output(server, tiny_model, tmp_path,
                                                            monkeypatch):
    monkeypatch.setenv("EVALKIT_TEST_KEY", SECRET)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "run", "--model", str(tiny_model), "--tasks", "gsm8k", "--limit", "3", "--n", "2",
        "--max-tokens", "16", "--engine", "openai", "--base-url", server.url,
        "--api-key-env", "EVALKIT_TEST_KEY", "--output-dir", str(out),
    ], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert server.auth == {f"Bearer {SECRET}"}
    assert SECRET not in result.output and SECRET not in _files_text(out)
    results = json.loads((out / "results.json").read_text())
    assert results["engine"]["api_key_env"] == "EVALKIT_TEST_KEY"
    assert results["manifest"]["engine"] == {"name": "openai", "version": "fake-1.0"}
    engine = results["engine"]
    assert (engine["max_retries"], engine["retry_budget_s"], engine["connect_timeout_s"]) == (
        12, 600.0, 10.0)
    assert engine["request_timeout_s"] == "max(60, max_tokens / 5 tokens/s) s"
    assert "retry_budget_s" not in json.dumps(results["manifest"])
    store = next((out / "samples").glob("*.jsonl"))
    samples = [json.loads(line) for line in store.read_text().splitlines()]
    assert len(samples) == 6
    assert all(s["num_tokens"] >= 5 and s["prompt_tokens"] == 11 for s in samples)
    assert {s["finish_reason"] for s in samples} <= {"stop", "length"}


def test_a_run_that_gives_up_keeps_its_samples_and_the_rerun_completes(server, tiny_model,
                                                                       tmp_path):
    out = tmp_path / "run"

    def spec() -> RunPlan:
        plan = plan_from(model=str(tiny_model), tasks=["gsm8k"], output_dir=out, limit=4, n=2,
                         max_tokens=16, engine="openai", batch_size=1, base_url=server.url)
        return replace(plan, engine_options=replace(plan.engine_options, max_retries=2))

    server.failures = [None] * 3
    server.fail_always = 503
    with pytest.raises(EvalkitError, match="rerun the same command to resume"):
        Runner(spec(), Console(quiet=True)).run()
    store = next((out / "samples").glob("*.jsonl"))
    kept = store.read_text().splitlines()
    assert len(kept) == 3
    server.fail_always = None
    results = Runner(spec(), Console(quiet=True)).run()
    lines = store.read_text().splitlines()
    assert len(lines) == 8 and lines[:3] == kept
    assert len(server.bodies) == 8  # the 3 stored samples were not asked for again
    assert sum(results.tasks["gsm8k"].status_counts.values()) == 8
