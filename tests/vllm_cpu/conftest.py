"""Integration tests with the real vLLM (CPU build): run under .venv-vllm, never the main venv.

bash scripts/setup_vllm.sh creates .venv-vllm; tests/test_engine_vllm_integration.py runs
`.venv-vllm/bin/python -m pytest tests/vllm_cpu` from the main suite.
"""

from __future__ import annotations

import importlib.metadata
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


def vllm_installed() -> bool:
    """Whether this interpreter has vLLM (a `vllm` folder on sys.path is not enough)."""
    for name in ("vllm-cpu", "vllm"):
        try:
            importlib.metadata.version(name)
            return True
        except importlib.metadata.PackageNotFoundError:
            pass
    return False


if not vllm_installed():  # collected by the main venv's pytest: run through the wrapper instead
    collect_ignore_glob = ["test_*.py"]

# The in-process vllm engine sizes its own KV cache from the work (that is under test); the
# `vllm serve` of these tests gets 1 GiB, plenty for SmolLM2-135M at these lengths.
SERVER_KV_CACHE_GIB = "1"
MAX_MODEL_LEN = 1024
SERVER_START_S = 900
# `vllm serve` itself: vllm-cpu's `vllm` script looks up the version of a package named "vllm"
# and fails, so the same server is started through its module.
SERVE = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model"]


@pytest.fixture(scope="session")
def max_model_len() -> int:
    return MAX_MODEL_LEN


@pytest.fixture(scope="session")
def smollm2() -> str:
    """SmolLM2-135M-Instruct as a safetensors folder (converted once from the GGUF)."""
    from evalkit.generation.models import resolve_model

    cache = os.environ.get("EVALKIT_TEST_CACHE")
    if cache:
        os.environ["EVALKIT_CACHE"] = cache
    return resolve_model("smollm2-135m").path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class VLLMServer:
    """`vllm serve` in its own process group, so that killing it takes its engine process too."""

    def __init__(self, model: str, port: int, log: Path) -> None:
        self.model, self.port, self.log = model, port, log
        self.url = f"http://127.0.0.1:{port}/v1"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import httpx2

        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [*SERVE, self.model, "--host", "127.0.0.1", "--port", str(self.port),
                 "--dtype", "float32", "--max-model-len", str(MAX_MODEL_LEN), "--enforce-eager",
                 "--seed", "0", "--disable-log-stats"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": SERVER_KV_CACHE_GIB},
            )
        deadline = time.time() + SERVER_START_S
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vllm serve exited: see {self.log}")
            try:
                if httpx2.get(f"{self.url}/models", timeout=2).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(1)
        self.kill()
        raise RuntimeError(f"vllm serve did not start in {SERVER_START_S} s: see {self.log}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture(scope="session")
def vllm_server(smollm2, tmp_path_factory):
    server = VLLMServer(smollm2, free_port(), tmp_path_factory.mktemp("serve") / "vllm.log")
    server.start()
    yield server
    server.kill()
