"""Generation engines behind one protocol."""

from __future__ import annotations

from evalkit.engines.base import Engine, GenerationRequest, SamplingConfig, sample_seed
from evalkit.errors import EvalkitError

ENGINE_NAMES = ("auto", "hf")

__all__ = ["Engine", "GenerationRequest", "SamplingConfig", "create_engine", "sample_seed"]


def resolve_engine_name(name: str) -> str:
    """Map `auto` to a concrete engine; reject unknown names."""
    if name not in ENGINE_NAMES:
        raise EvalkitError(f"unknown engine {name!r}: choose one of {', '.join(ENGINE_NAMES)}")
    return "hf" if name == "auto" else name


def create_engine(name: str, model_path: str, batch_size: int = 8, dtype: str = "auto") -> Engine:
    """Build a ready engine for a resolved local model folder."""
    if resolve_engine_name(name) == "hf":
        from evalkit.engines.hf import HFEngine

        return HFEngine(model_path, batch_size=batch_size, dtype=dtype)
    raise AssertionError(name)
