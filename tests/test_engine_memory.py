"""vLLM's memory sized from the work: KV cache, context and sequences in flight for a short
GSM8K run and a long-context run, on CPU and GPU, with the overrides and the lines that say
what was chosen or what would fit. Pure arithmetic: no vLLM, no GPU."""

from __future__ import annotations

import re
import types

import pytest

from evalkit.errors import EvalkitError
from evalkit.generation.engines.memory import (
    GiB,
    KVGeometry,
    MemoryBudget,
    Workload,
    cpu_available_bytes,
    kv_override,
    plan_memory,
)

# SmolLM2-135M-Instruct's config.json (30 layers, 9 heads, 3 KV heads, head dim 64).
SMOLLM2 = types.SimpleNamespace(num_hidden_layers=30, num_attention_heads=9,
                                num_key_value_heads=3, head_dim=64, hidden_size=576)
# Qwen3-0.6B's (28 layers, 16 heads, 8 KV heads, head dim 128), as ReasonLite-0.6B uses it.
QWEN3_06B = types.SimpleNamespace(num_hidden_layers=28, num_attention_heads=16,
                                  num_key_value_heads=8, head_dim=128, hidden_size=1024)
# The run: 20 GSM8K problems, 1 sample, boxed chat prompts of ~110-200 tokens, 256 new.
GSM8K_20 = Workload.from_prompts([110 + 5 * i for i in range(20)], max_tokens=256)
# reasonlite-long: AIME24, 30 problems x 16 samples, bare prompts up to ~300 tokens, 65536 new.
AIME_LONG = Workload.from_prompts([100 + 200 * (i % 2) for i in range(30 * 16)], max_tokens=65536)
CPU_24G = MemoryBudget("cpu", total_bytes=20 * GiB, weights_bytes=538_000_000,
                       model_context=8192)
H100 = MemoryBudget("cuda", total_bytes=80 * GiB, weights_bytes=1_200_000_000,
                    model_context=131072, gpu_memory_utilization=0.9)


def test_kv_bytes_per_token_come_from_the_config():
    assert KVGeometry.from_config(SMOLLM2, "float32").bytes_per_token == 2 * 30 * 3 * 64 * 4
    assert KVGeometry.from_config(QWEN3_06B, "bfloat16").bytes_per_token == 2 * 28 * 8 * 128 * 2
    # Tensor parallel splits the KV heads; head_dim defaults to hidden / heads.
    no_head_dim = types.SimpleNamespace(num_hidden_layers=2, num_attention_heads=4,
                                        num_key_value_heads=None, hidden_size=64)
    assert KVGeometry.from_config(no_head_dim, "float16", tensor_parallel=2).bytes_per_token == (
        2 * 2 * 2 * 16 * 2)


def test_short_gsm8k_run_on_cpu_gets_a_cache_for_its_work_not_the_machine():
    plan = plan_memory(GSM8K_20, KVGeometry.from_config(SMOLLM2, "float32"), CPU_24G)
    tokens = GSM8K_20.prompt_tokens + 20 * 256
    exact = tokens * 46080
    assert exact <= plan.kv_cache_bytes <= 1.4 * exact  # whole 128-token blocks, no more
    assert plan.kv_cache_bytes < 0.5 * GiB
    assert (plan.max_model_len, plan.max_num_seqs, plan.kv_cache_source) == (1024, 20, "work")
    assert plan.gpu_memory_utilization is None and plan.advice is None
    assert "KV cache 0.4" in plan.line() and "max_model_len 1024" in plan.line()


def test_long_context_plan_gets_65536_tokens_of_context_and_fewer_sequences_in_flight():
    geometry = KVGeometry.from_config(QWEN3_06B, "bfloat16")
    long = plan_memory(AIME_LONG, geometry, H100)
    assert long.max_model_len >= 65536 + 300
    per_sequence = (65536 + 300) * geometry.bytes_per_token
    assert long.max_num_seqs == long.kv_cache_bytes // per_sequence  # what fits, not 256
    assert long.gpu_memory_utilization == 0.9  # all it may take: the work wants far more
    assert "fits 9: running 9 at a time" in long.advice
    short = plan_memory(GSM8K_20, geometry, H100)
    assert short.max_model_len == 1024
    assert short.gpu_memory_utilization <= 0.07  # weights + cache + reserve, not 90%


def test_a_sequence_that_cannot_fit_stops_before_loading_and_says_what_fits():
    laptop = MemoryBudget("cpu", total_bytes=8 * GiB, weights_bytes=2_400_000_000,
                          model_context=131072)
    geometry = KVGeometry.from_config(QWEN3_06B, "float32")  # 224 KiB per token
    with pytest.raises(EvalkitError, match="shorter --max-model-len") as err:
        plan_memory(AIME_LONG, geometry, laptop)
    fits = int(re.search(r"at most (\d+) tokens fit", str(err.value))[1])
    free = 8 * GiB - 2_400_000_000 - 2 * GiB  # less the weights and the runtime reserve
    assert fits == (free // (128 * geometry.bytes_per_token) - 1) * 128 < 65536
    with pytest.raises(EvalkitError, match="exceed the model's context of 8192"):
        plan_memory(AIME_LONG, KVGeometry.from_config(SMOLLM2, "float32"), CPU_24G)


def test_a_capped_long_plan_gets_the_model_context_and_a_cache_for_it():
    capped = Workload.from_prompts([100 + 200 * (i % 2) for i in range(30 * 16)],
                                   max_tokens=65536, cap=8192)  # ReasonLite: context caps
    plan = plan_memory(capped, KVGeometry.from_config(SMOLLM2, "float32"), CPU_24G)
    assert plan.max_model_len == 8192 and capped.longest_sequence == 8192
    assert capped.blocks(capped.sequences, 128) <= capped.sequences * (8192 // 128 + 1)


def test_explicit_sizes_win_and_too_small_ones_name_the_fix(monkeypatch):
    geometry = KVGeometry.from_config(SMOLLM2, "float32")
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "2")
    assert kv_override(None, "cpu") == (2 * GiB, "VLLM_CPU_KVCACHE_SPACE=2")
    assert kv_override(None, "cuda") == (None, "work")
    assert kv_override(0.25, "cpu") == (GiB // 4, "--kv-cache-gb")
    plan = plan_memory(GSM8K_20, geometry, CPU_24G, kv_cache_bytes=2 * GiB,
                       kv_cache_source="VLLM_CPU_KVCACHE_SPACE=2", max_model_len=2048)
    assert (plan.kv_cache_bytes, plan.max_model_len) == (2 * GiB, 2048)
    assert "VLLM_CPU_KVCACHE_SPACE=2" in plan.line()
    with pytest.raises(EvalkitError, match="holds no sequence of 1024 tokens"):
        plan_memory(GSM8K_20, geometry, CPU_24G, kv_cache_bytes=GiB // 100,
                    kv_cache_source="--kv-cache-gb")
    with pytest.raises(EvalkitError, match="raise --max-model-len"):
        plan_memory(GSM8K_20, geometry, CPU_24G, max_model_len=256)
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "half")
    with pytest.raises(EvalkitError, match="whole number of GiB"):
        kv_override(None, "cpu")


def test_memory_short_of_the_work_runs_fewer_sequences_and_says_so():
    geometry = KVGeometry.from_config(SMOLLM2, "float32")
    many = Workload.from_prompts([400] * 1000, max_tokens=4096)  # 1000 x 4.4k tokens
    small = MemoryBudget("cpu", total_bytes=6 * GiB, weights_bytes=538_000_000,
                         model_context=8192)
    plan = plan_memory(many, geometry, small)
    assert plan.kv_cache_bytes == small.kv_bytes  # all there is
    per_sequence = 36 * 128 * geometry.bytes_per_token  # 4496 tokens in 36 blocks of 128
    assert plan.max_num_seqs == (plan.kv_cache_bytes - 128 * geometry.bytes_per_token) // (
        per_sequence)
    assert f"running {plan.max_num_seqs} at a time" in plan.advice
    assert "--max-num-seqs" in plan.advice and "--max-tokens" in plan.advice


def test_free_memory_is_the_numa_node_vllm_binds_to_when_it_has_less(tmp_path, monkeypatch):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24684092 kB\nMemAvailable:   20971520 kB\n")
    nodes = tmp_path / "node"
    for name, cpus, free in (("node0", "0-1,4", 8 << 20), ("node1", "2-3", 1 << 20)):
        (nodes / name).mkdir(parents=True)
        (nodes / name / "cpulist").write_text(cpus + "\n")
        (nodes / name / "meminfo").write_text(
            f"Node 0 MemTotal: 20015316 kB\nNode 0 MemFree: {free} kB\n"
            "Node 0 Active(file): 1048576 kB\nNode 0 Inactive(file): 524288 kB\n"
            "Node 0 SReclaimable: 524288 kB\n")
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {1, 4})
    assert cpu_available_bytes(meminfo, nodes) == 10 * GiB  # node0: 8 + 1 + 0.5 + 0.5 GiB
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {2})
    assert cpu_available_bytes(meminfo, nodes) == 3 * GiB
    assert cpu_available_bytes(meminfo, tmp_path / "no-numa") == 20 * GiB  # MemAvailable


def test_an_explicit_cache_larger_than_free_memory_is_refused_before_loading():
    with pytest.raises(EvalkitError, match="does not fit in the 20.00 GiB free"):
        plan_memory(GSM8K_20, KVGeometry.from_config(SMOLLM2, "float32"), CPU_24G,
                    kv_cache_bytes=30 * GiB, kv_cache_source="--kv-cache-gb")
