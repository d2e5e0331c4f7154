"""What a result was made with: library versions and hardware."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

TRACKED_PACKAGES = (
    "evalkit",
    "torch",
    "transformers",
    "accelerate",
    "math-verify",
    "latex2sympy2_extended",
    "sympy",
    "vllm",
    "huggingface-hub",
    "datasets",
    "numpy",
    "scipy",
)


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of `names` (default: the packages that can change generations or
    grades); packages that are not installed are left out."""
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def hardware() -> dict[str, Any]:
    """CPU, memory and, where torch runs in this process, its threads and accelerators."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
    }
    try:
        info["memory_gib"] = round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
        )
    except (ValueError, OSError, AttributeError):
        pass
    torch = sys.modules.get("torch")  # only a process that computes with torch has loaded it;
    if torch is None:  # importing it here would cost `evalkit import` seconds for nothing
        return info
    info["torch_threads"] = torch.get_num_threads()
    if torch.cuda.is_available():
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        info["cuda"] = torch.version.cuda
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
