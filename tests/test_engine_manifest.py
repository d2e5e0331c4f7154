"""The reproducibility manifest in results.json, manifest_differences, and --preset."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.generation.manifest import build_manifest, manifest_differences
from evalkit.run.plan import make_plan
from evalkit.run.presets import RUN_PRESETS
from evalkit.run.settings import Layer

VLLM_INFO = {
    "name": "vllm", "device": "cuda", "dtype": "bfloat16", "vllm_version": "0.10.1",
    "tensor_parallel_size": 2, "max_num_batched_tokens": 16384, "max_num_seqs": 256,
    "enforce_eager": False,
    "memory": {"max_model_len": 40960, "kv_cache_bytes": 12 << 30, "kv_cache_source": "work",
               "kv_bytes_per_token": 57344, "gpu_memory_utilization": 0.31,
               "kv_cache_blocks": 13000},
}


def test_vllm_manifest_holds_engine_parallelism_batching_memory_and_accelerators():
    manifest = build_manifest(VLLM_INFO, data_parallel=4, batch_size=8)
    assert manifest["engine"] == {"name": "vllm", "version": "0.10.1"}
    assert (manifest["dtype"], manifest["tensor_parallel_size"]) == ("bfloat16", 2)
    assert manifest["data_parallel_size"] == 4
    assert manifest["batch"]["max_num_batched_tokens"] == 16384
    assert manifest["memory"] == VLLM_INFO["memory"]  # the memory settings the run used
    assert manifest["engine_settings"]["enforce_eager"] is False
    assert {"evalkit", "torch", "transformers"} <= set(manifest["versions"])
    assert manifest["accelerators"]["device"] in ("cpu", "cuda")


def test_server_manifest_records_the_server_not_local_gpus():
    info = {"name": "openai", "endpoint": "http://10.0.0.1:8000/v1/completions",
            "served_model": "m", "server_version": "0.9.2", "concurrency": 32,
            "max_retries": 10, "api_key_env": "KEY"}
    manifest = build_manifest(info, data_parallel=1, batch_size=32)
    assert manifest["engine"] == {"name": "openai", "version": "0.9.2"}
    assert manifest["accelerators"] == {"device": "server"}
    flat = json.dumps(manifest)
    assert "10.0.0.1" not in flat and "api_key_env" not in flat


def test_differences_name_each_changed_setting():
    a = {"manifest": build_manifest(VLLM_INFO, 1, 8), "sampling": {"temperature": 0.6}}
    b = copy.deepcopy(a)
    assert manifest_differences(a, b) == []
    b["manifest"]["versions"]["torch"] = "0.0-other"
    b["manifest"]["tensor_parallel_size"] = 1
    b["sampling"]["temperature"] = 1.0
    lines = manifest_differences(a, b)
    assert len(lines) == 3
    assert any(line.startswith("manifest.versions.torch: A ") for line in lines)
    assert "manifest.tensor_parallel_size: A 2 vs B 1" in lines
    assert "sampling.temperature: A 0.6 vs B 1.0" in lines
    assert manifest_differences(a, {"sampling": {"temperature": 0.6}}) == [
        "manifest: run B has none (made before evalkit recorded one)"
    ]


def test_preset_fills_unset_settings_below_the_command_line_and_records_overrides():
    plan = make_plan([Layer("command line", {"preset": "reasonlite-turbo", "max_tokens": 4096,
                                             "tasks": "gsm8k"})])
    s = plan.settings
    assert s.max_tokens == 4096 and s.n == 16 and s.k == (1, 8) and s.tasks == ("gsm8k",)
    assert (s.temperature, s.top_p, s.prompt) == (0.6, 0.95, "bare")
    assert plan.sources["n"] == "preset reasonlite-turbo"
    assert plan.sources["max_tokens"] == "command line"
    assert plan.preset["overridden"] == {"max_tokens": 4096, "tasks": ["gsm8k"]}
    assert plan.preset["settings"] == RUN_PRESETS["reasonlite-turbo"].settings
    long = make_plan([Layer("command line", {"preset": "reasonlite-long"})]).settings
    assert (long.temperature, long.top_p, long.max_tokens) == (1.0, 0.98, 65536)
    with pytest.raises(EvalkitError, match="unknown preset"):
        make_plan([Layer("command line", {"preset": "nope"})])


def test_run_with_preset_records_preset_overrides_and_manifest(tiny_model, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "run", "--model", str(tiny_model), "--preset", "lightreasoner", "--tasks", "gsm8k",
        "--limit", "2", "--max-tokens", "8", "--output-dir", str(out),
    ], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert results["preset"]["name"] == "lightreasoner"
    assert results["preset"]["overridden"] == {"tasks": ["gsm8k"], "max_tokens": 8}
    assert results["prompt"]["preset"] == "qwen25-math-cot"
    assert results["sampling"]["temperature"] == 0.0 and results["sampling"]["n"] == 1
    manifest = results["manifest"]
    assert manifest["engine"]["name"] == "hf" and manifest["dtype"] == "float32"
    assert manifest["data_parallel_size"] == 1
    assert manifest["batch"]["batch_size"] == 2  # no --batch-size: both prompts fit in memory
    assert manifest["engine_settings"]["batch_size_rule"].endswith("of free memory, at most 64")
    again = CliRunner().invoke(main, [
        "run", "--model", str(tiny_model), "--preset", "lightreasoner", "--tasks", "gsm8k",
        "--limit", "2", "--max-tokens", "8", "--output-dir", str(out), "--batch-size", "1",
    ], catch_exceptions=False)
    assert "0 to generate" in again.output  # the batch size is not part of the store key
    assert json.loads((out / "results.json").read_text())["manifest"] == manifest


def test_dry_run_says_what_the_batch_size_is_and_where_it_comes_from():
    def batch_line(**values):
        return make_plan([Layer("command line", {"tasks": "gsm8k", **values})]).batch_line()

    assert batch_line(engine="hf") == (
        "batch size: rows decoded together, as many as fit in the free memory (default)")
    assert batch_line(engine="hf", batch_size=4) == (
        "batch size: 4 rows decoded together (command line)")
    assert batch_line(engine="openai", base_url="http://127.0.0.1:9/v1") == (
        "batch size: 8 requests in flight (default)")
    assert batch_line(engine="vllm") is None  # vLLM schedules its own batch (--max-num-seqs)
    result = CliRunner().invoke(main, ["run", "--engine", "hf", "--tasks", "gsm8k", "--dry-run"])
    assert "batch size: rows decoded together, as many as fit" in result.output
