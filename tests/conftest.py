"""Shared fixtures: offline Hub, the vendored data, a tiny random model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of a tiny random Qwen3 + trained tokenizer (seconds to build)."""
    from tiny_model import build_tiny_qwen3

    return build_tiny_qwen3(tmp_path_factory.mktemp("tiny-qwen3"), REPO / "tasks" / "data")


@pytest.fixture(autouse=True)
def _evalkit_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep converted models out of the user's cache, shared by the whole session."""
    cache = os.environ.get("EVALKIT_TEST_CACHE") or str(tmp_path_factory.getbasetemp() / "cache")
    monkeypatch.setenv("EVALKIT_CACHE", cache)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The Hub client of huggingface_hub answers from a FakeHub, with a token and no token file."""
    import httpx2
    import huggingface_hub
    from fake_hub import TOKEN, FakeHub
    from huggingface_hub.utils._http import default_client_factory

    fake = FakeHub()
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    huggingface_hub.set_client_factory(
        lambda: httpx2.Client(transport=httpx2.MockTransport(fake.handler)))
    yield fake
    huggingface_hub.set_client_factory(default_client_factory)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models run fastest on one thread, and far slower when cores are oversubscribed."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny LightReasoner expert and amateur sharing one tokenizer, built once per module."""
    from test_lightr_models import build_model_pair

    return build_model_pair(tmp_path_factory.mktemp("lightr-pair"))
