"""The hf engine's continuous batching gives the tokens `generate` gives, whatever the batch."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from evalkit.cli.main import main
from evalkit.errors import EvalkitError
from evalkit.generation.engines.base import GenerationRequest, SamplingConfig, cut_at_stop
from evalkit.generation.engines.hf import HFEngine, row_bytes
from evalkit.generation.prompts import PRESETS, Prompter, RenderedPrompt
from evalkit.records import Completion

QUESTIONS = [
    "What is 2+2?",
    "A farmer has 17 sheep and buys 5 more. How many sheep does he have?",
    "x",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips "
    "in May. How many clips did Natalia sell altogether in April and May?",
    "Compute 7*8.",
    "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of "
    "babysitting. How much did she earn?",
    "hello there",
    "Betty is saving money for a new wallet which costs $100.",
]
GREEDY = SamplingConfig(temperature=0.0, top_p=1.0, max_tokens=24)
FREE_MEMORY = "evalkit.generation.engines.hf.available_memory"
SHORT_CONTEXT = 128  # tokens: room for all of QUESTIONS, not for all of them + 37 more


def reference(model, tokenizer, prompt: str, stop_ids: list[int], max_tokens: int,
              **settings) -> list[int]:
    """transformers `generate`, greedy (with `settings` such as a repetition penalty), on the
    prompt alone: ids up to and with the stop."""
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    config = GenerationConfig(max_new_tokens=max_tokens, do_sample=False,
                              eos_token_id=stop_ids, pad_token_id=tokenizer.pad_token_id,
                              **settings)
    with torch.inference_mode():
        tokens = model.generate(ids, generation_config=config)[0, ids.shape[1]:].tolist()
    stop = next((i for i, t in enumerate(tokens) if t in stop_ids), None)
    return tokens if stop is None else tokens[: stop + 1]


@pytest.fixture(scope="module")
def lively_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with weights scaled up (varied greedy text, not one repeated token) and a
    second stop token, the one most of QUESTIONS' greedy texts contain: rows end at different
    steps."""
    folder = tmp_path_factory.mktemp("lively")
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    with torch.no_grad():
        for weight in model.parameters():
            if weight.dim() == 2:
                weight.mul_(6.0)
    eos = tokenizer.eos_token_id
    counts = Counter(
        t for q in QUESTIONS
        for t in set(reference(model, tokenizer, q, [eos], GREEDY.max_tokens)[1:])
    )
    model.generation_config = GenerationConfig(
        eos_token_id=[eos, counts.most_common(1)[0][0]], pad_token_id=tokenizer.pad_token_id
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def run(engine: HFEngine, requests: list[GenerationRequest], sampling: SamplingConfig,
        ) -> dict[str, Completion]:
    done: dict[str, Completion] = {}
    calls = []

    def on_batch(batch):
        calls.append(len(batch))
        done.update({r.problem_id: c for r, c in batch})

    engine.generate(requests, sampling, on_batch)
    assert sum(calls) == len(requests) == len(done)
    return done


def requests_for(questions: list[str]) -> list[GenerationRequest]:
    return [GenerationRequest(str(i), 0, 1000 + i, RenderedPrompt(q, True))
            for i, q in enumerate(questions)]


# (16, 3): prompts prefilled in small groups, KV buffers regrown every 3 steps
@pytest.mark.parametrize(("prefill_tokens", "spare"), [(512, 64), (16, 3)])
def test_greedy_tokens_equal_generate_alone_with_rows_joining_and_leaving(
    lively_model, one_torch_thread, monkeypatch, prefill_tokens, spare
):
    monkeypatch.setattr("evalkit.generation.engines.hf_batching.PREFILL_TOKENS", prefill_tokens)
    monkeypatch.setattr("evalkit.generation.engines.hf_batching._SlackLayer.spare", spare)
    engine = HFEngine(str(lively_model), batch_size=3, dtype="float32")
    assert engine.decoder.reshapes
    generated, groups = [], []
    merge, split = engine.decoder._merge, engine.decoder._prefill_groups

    def watched_merge(batches):
        generated.append(len(batches[0].tokens[0]))
        return merge(batches)

    def watched_split(take, prompts):
        groups.append(len(split(take, prompts)))
        return split(take, prompts)

    engine.decoder._merge, engine.decoder._prefill_groups = watched_merge, watched_split
    done = run(engine, requests_for(QUESTIONS), GREEDY)
    assert max(generated) > 1  # prompts joined rows that were still running
    assert (max(groups) > 1) == (prefill_tokens == 16)  # one admission, several prefills
    reasons = Counter()
    for i, question in enumerate(QUESTIONS):
        expected = reference(engine.model, engine.tokenizer, question, engine.stop_ids,
                             GREEDY.max_tokens)
        stopped = expected[-1] in engine.stop_ids
        c = done[str(i)]
        assert c.token_ids == (expected[:-1] if stopped else expected)
        assert c.finish_reason == ("stop" if stopped else "length")
        assert c.num_tokens == len(expected)  # the stop token counts
        assert c.prompt_tokens == len(engine.tokenizer(question).input_ids)
        assert c.text == engine.tokenizer.decode(c.token_ids, skip_special_tokens=True)
        reasons[c.finish_reason] += 1
    # Rows ended at different steps, by both rules: rows left and waiting prompts joined.
    assert reasons["stop"] >= 2 and reasons["length"] >= 1
    assert len({done[str(i)].num_tokens for i in range(len(QUESTIONS))}) >= 3


def test_static_batches_for_caches_that_cannot_be_reshaped_give_the_same_tokens(
    lively_model, one_torch_thread
):
    engine = HFEngine(str(lively_model), batch_size=3, dtype="float32")
    continuous = run(engine, requests_for(QUESTIONS), GREEDY)
    engine.decoder.reshapes = False  # as for sliding-window or linear-attention caches
    static = run(engine, requests_for(QUESTIONS), GREEDY)
    assert static == continuous


def test_a_sample_is_the_same_whatever_batch_it_runs_in(lively_model, one_torch_thread):
    engine = HFEngine(str(lively_model), batch_size=3, dtype="float32")
    sampling = SamplingConfig(temperature=1.0, top_p=0.95, max_tokens=GREEDY.max_tokens)
    requests = requests_for(QUESTIONS)
    together = run(engine, requests, sampling)
    engine.batch_size = 1
    for request in requests[2:5]:
        assert run(engine, [request], sampling)[request.problem_id] == together[request.problem_id]
    engine.batch_size = 8
    assert run(engine, requests[::-1], sampling) == together
    reseeded = [GenerationRequest(r.problem_id, 0, r.seed + 1, r.prompt) for r in requests]
    assert run(engine, reseeded, sampling) != together  # the seed does decide the sample


def test_batch_size_comes_from_free_memory_when_not_given(lively_model, monkeypatch):
    engine = HFEngine(str(lively_model), batch_size=None, dtype="float32")
    prompts = [[1] * 30, [1] * 50, [1] * 40] * 10
    per_row = row_bytes(engine.model.config, torch.float32, 50 + 100)
    monkeypatch.setattr(FREE_MEMORY, lambda device: 14 * per_row)
    assert engine.choose_batch_size(prompts, max_tokens=100) == 7  # half of the free memory
    monkeypatch.setattr(FREE_MEMORY, lambda device: 10**15)
    assert engine.choose_batch_size(prompts, max_tokens=100) == len(prompts)
    monkeypatch.setattr(FREE_MEMORY, lambda device: per_row)
    assert engine.choose_batch_size(prompts, max_tokens=100) == 1
    run(engine, requests_for(QUESTIONS[:2]), GREEDY)
    assert engine.info()["batch_size"] == 1  # what generation chose, for the manifest
    assert "of free memory" in engine.info()["batch_size_rule"]
    engine.batch_size = 4
    assert engine.choose_batch_size(prompts, max_tokens=100) == 4
    assert engine.info()["batch_size"] == 4 and engine.info()["batch_size_rule"] == "given"


@pytest.mark.parametrize("setting", [{"top_k": 1}, {"min_p": 1.0}])
def test_sampling_that_keeps_only_the_likeliest_token_equals_greedy(
    lively_model, one_torch_thread, setting
):
    engine = HFEngine(str(lively_model), batch_size=3, dtype="float32")
    requests = requests_for(QUESTIONS)
    narrow = SamplingConfig(temperature=1.0, top_p=1.0, max_tokens=GREEDY.max_tokens, **setting)
    wide = SamplingConfig(temperature=1.0, top_p=1.0, max_tokens=GREEDY.max_tokens)
    greedy = run(engine, requests, GREEDY)
    assert run(engine, requests, narrow) == greedy
    assert run(engine, requests, wide) != greedy  # sampling alone does leave the greedy path


def test_repetition_penalty_gives_the_tokens_generate_gives_with_it(
    lively_model, one_torch_thread
):
    engine = HFEngine(str(lively_model), batch_size=3, dtype="float32")
    penalised = SamplingConfig(0.0, 1.0, GREEDY.max_tokens, repetition_penalty=1.5)
    plain = run(engine, requests_for(QUESTIONS), GREEDY)
    done = run(engine, requests_for(QUESTIONS), penalised)
    for i, question in enumerate(QUESTIONS):
        expected = reference(engine.model, engine.tokenizer, question, engine.stop_ids,
                             GREEDY.max_tokens, repetition_penalty=1.5)
        stopped = expected[-1] in engine.stop_ids
        assert done[str(i)].token_ids == (expected[:-1] if stopped else expected)
    changed = [i for i in range(len(QUESTIONS)) if done[str(i)] != plain[str(i)]]
    assert len(changed) >= len(QUESTIONS) // 2
    repeats = [len(c.token_ids) - len(set(c.token_ids)) for c in (plain, done)
               for c in [c[str(i)] for i in changed]]
    assert sum(repeats[len(changed):]) < sum(repeats[:len(changed)])  # fewer repeated tokens


def test_a_stop_string_ends_its_row_at_the_token_that_completes_it(
    lively_model, one_torch_thread
):
    engine = HFEngine(str(lively_model), batch_size=3, dtype="float32")
    full = run(engine, requests_for(QUESTIONS), GREEDY)
    row = max(full.values(), key=lambda c: len(c.text))
    text, ids = row.text, row.token_ids
    stop = text[len(text) // 2 : len(text) // 2 + 3]
    # the row must end at the first token after which the decoded text holds the stop string
    ends = next(k for k in range(1, len(ids) + 1)
                if stop in engine.tokenizer.decode(ids[:k], skip_special_tokens=True))
    assert ends < len(ids)
    done = run(engine, requests_for(QUESTIONS), SamplingConfig(0.0, 1.0, GREEDY.max_tokens,
                                                               stop=(stop,)))
    for key, completion in done.items():
        if stop not in full[key].text:
            assert completion == full[key]  # rows without the string run as before
            continue
        assert completion.finish_reason == "stop"
        assert completion.num_tokens < full[key].num_tokens
        assert completion.token_ids == full[key].token_ids[: completion.num_tokens]
    stopped = done[next(k for k, c in full.items() if c is row)]
    assert stopped.num_tokens == ends
    assert cut_at_stop(stopped, (stop,)).text == text[: text.index(stop)]


@pytest.fixture(scope="module")
def short_context_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with a SHORT_CONTEXT-token context."""
    folder = tmp_path_factory.mktemp("short-context")
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    model.config.max_position_embeddings = SHORT_CONTEXT
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(folder)
    return folder


def test_prompts_too_long_for_the_context_are_refused_before_any_generation(
    short_context_model
):
    engine = HFEngine(str(short_context_model), batch_size=2, dtype="float32")
    assert engine.context == SHORT_CONTEXT
    requests = requests_for(QUESTIONS)
    lengths = [len(engine.tokenizer(q).input_ids) for q in QUESTIONS]
    longest = max(range(len(QUESTIONS)), key=lambda i: lengths[i])
    budget = SHORT_CONTEXT - lengths[longest] + 1  # one token too many for the longest prompt only
    sampling = SamplingConfig(0.0, 1.0, budget)
    calls = []
    with pytest.raises(EvalkitError) as refused:
        engine.generate(requests, sampling, calls.append)
    assert calls == []  # nothing generated
    message = str(refused.value)
    assert "\n" not in message
    assert f"problem {longest}: prompt of {lengths[longest]} tokens + --max-tokens {budget}" \
        in message
    assert f"context of {SHORT_CONTEXT} tokens" in message
    assert f"--max-tokens to at most {SHORT_CONTEXT - lengths[longest]}" in message
    assert "--max-model-len" in message
    fitting = SamplingConfig(0.0, 1.0, budget - 1)
    assert len(run(engine, requests, fitting)) == len(QUESTIONS)
    roomier = HFEngine(str(short_context_model), batch_size=2, dtype="float32",
                       max_model_len=2 * SHORT_CONTEXT)
    roomier.prepare(requests, sampling)  # --max-model-len: the user says the model allows more


def test_run_refuses_a_prompt_too_long_in_one_line_with_exit_2_and_nothing_stored(
    short_context_model, tmp_path
):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "run", "--model", str(short_context_model), "--engine", "hf", "--tasks", "gsm8k",
        "--limit", "2", "--max-tokens", "100", "--output-dir", str(out),
    ])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "--max-tokens 100" in errors[0] and f"context of {SHORT_CONTEXT} tokens" in errors[0]
    assert "problem " in errors[0] and "--max-model-len" in errors[0]
    assert not any(path.read_text().strip() for path in (out / "samples").glob("*.jsonl"))


def test_capped_samples_end_at_the_context_and_only_a_prompt_filling_it_is_refused(
    short_context_model
):
    engine = HFEngine(str(short_context_model), batch_size=2, dtype="float32",
                      cap_at_context=True)
    requests = requests_for(QUESTIONS)
    lengths = [len(engine.tokenizer(q).input_ids) for q in QUESTIONS]
    sampling = SamplingConfig(0.0, 1.0, 10 * SHORT_CONTEXT)  # more than any prompt leaves
    done = run(engine, requests, sampling)
    for request, length in zip(requests, lengths, strict=True):
        completion = done[request.problem_id]
        assert length + completion.num_tokens <= SHORT_CONTEXT
        if completion.finish_reason == "length":  # ended by the context, not by max tokens
            assert length + completion.num_tokens == SHORT_CONTEXT
    assert any(c.finish_reason == "length" for c in done.values())
    assert engine.info()["context_limit"] == "cap"
    filling = [GenerationRequest("p", 0, 0, RenderedPrompt("word " * SHORT_CONTEXT, True))]
    with pytest.raises(EvalkitError, match="leaves no room in the context"):
        engine.prepare(filling, sampling)


def test_run_names_the_cap_as_a_fix_and_caps_when_asked(short_context_model, tmp_path):
    base = ["run", "--model", str(short_context_model), "--engine", "hf", "--tasks", "gsm8k",
            "--limit", "2", "--max-model-len", "256", "--max-tokens", "200"]  # prompts: ~215
    refused = CliRunner().invoke(main, [*base, "--output-dir", str(tmp_path / "refused")])
    assert refused.exit_code == 2 and "--context-limit cap" in refused.output
    capped = CliRunner().invoke(main, [*base, "--context-limit", "cap", "--output-dir",
                                       str(tmp_path / "capped")])
    assert capped.exit_code == 0, capped.output
    results = json.loads((tmp_path / "capped" / "results.json").read_text())
    assert results["engine"]["context_limit"] == "cap"
    samples = [json.loads(line) for path in (tmp_path / "capped" / "samples").glob("*.jsonl")
               for line in path.read_text().splitlines()]
    assert len(samples) == 2
    assert all(s["prompt_tokens"] + s["num_tokens"] <= 256 for s in samples)
    longer = [arg if arg != "256" else "300" for arg in base]  # another context: other samples
    again = CliRunner().invoke(main, [*longer, "--context-limit", "cap", "--output-dir",
                                      str(tmp_path / "capped")])
    assert again.exit_code == 0 and "0 stored, 2 to generate" in again.output, again.output


def test_a_later_task_too_long_for_the_context_stops_the_run_before_any_task_generates(
    short_context_model, tmp_path
):
    short = tmp_path / "short.jsonl"
    short.write_text("".join(json.dumps({"question": f"What is {i} + 1?", "answer": str(i + 1)})
                             + "\n" for i in range(2)))
    out = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "run", "--model", str(short_context_model), "--engine", "hf", "--tasks",
        f"{short},gsm8k", "--limit", "2", "--max-model-len", "256", "--max-tokens", "60",
        "--output-dir", str(out),
    ])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: gsm8k: problem "), errors
    assert not any(path.read_text().strip() for path in (out / "samples").glob("*.jsonl"))


@pytest.mark.slow
def test_smollm2_greedy_tokens_equal_generate():
    from evalkit.generation.models import resolve_model
    from evalkit.tasks import get_task

    engine = HFEngine(resolve_model("smollm2-135m").path, batch_size=2, dtype="float32")
    prompter = Prompter(PRESETS["boxed"], engine.tokenizer)
    problems = get_task("gsm8k").load(limit=4)
    requests = [GenerationRequest(p.id, 0, 0, prompter.render(p.question)) for p in problems]
    sampling = SamplingConfig(temperature=0.0, top_p=1.0, max_tokens=40)
    done = run(engine, requests, sampling)
    for request in requests:
        ids = engine.tokenizer(request.prompt.text, add_special_tokens=False,
                               return_tensors="pt").input_ids
        with torch.inference_mode():
            expected = engine.model.generate(ids, max_new_tokens=40, do_sample=False)
        expected = expected[0, ids.shape[1]:].tolist()
        got = done[request.problem_id]
        assert got.token_ids == expected[: len(got.token_ids)]
        assert got.num_tokens == len(expected)
