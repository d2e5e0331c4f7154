"""The format names of `evalkit import --format`, and telling which one a file is."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from evalkit.errors import EvalkitError
from evalkit.importers.base import Adapter, ReadOptions
from evalkit.importers.jsonl import JsonlAdapter
from evalkit.importers.lighteval import PARQUET_MAGIC, LightevalAdapter
from evalkit.importers.lm_eval import LmEvalAdapter
from evalkit.importers.openai_batch import OpenAIBatchAdapter
from evalkit.importers.qwen25_math import Qwen25MathAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    adapter.name: adapter
    for adapter in (
        JsonlAdapter, LmEvalAdapter, LightevalAdapter, Qwen25MathAdapter, OpenAIBatchAdapter
    )
}
FORMATS = tuple(ADAPTERS)


def get_adapter(name: str, options: ReadOptions) -> Adapter:
    """The adapter of a format name."""
    if name not in ADAPTERS:
        raise EvalkitError(
            f"unknown format {name!r}: pass --format with one of {', '.join(FORMATS)}"
        )
    adapter = ADAPTERS[name]
    unused = [k for k, v in asdict(options).items() if v is not None and k not in adapter.reads]
    if unused:
        takes = ", ".join(_flag(k) for k in adapter.reads) or "none of them"
        raise EvalkitError(
            f"{_flag(unused[0])} does not apply to --format {name} (it takes {takes}); "
            "leave it out"
        )
    return adapter(options)


def _flag(option: str) -> str:
    """The command-line option of a ReadOptions field."""
    return "--filter" if option == "filter" else f"--{option}-field"


def sniff_format(path: Path) -> str | None:
    """The format a file's first record has the shape of; None for plain JSONL or unknown."""
    try:
        with open(path, "rb") as handle:
            if handle.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC:
                return LightevalAdapter.name
            handle.seek(0)
            first = next((line for line in handle if line.strip()), b"")
        record = json.loads(first)
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    return next((a.name for a in ADAPTERS.values() if a.looks_like(record)), None)
