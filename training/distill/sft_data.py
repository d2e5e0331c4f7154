"""The SFT data files of the split step: from released data, and checked for contamination.

``sft_data`` in a recipe replaces teacher generations by a released dataset (amd/ReasonLite-Dataset:
split ``medium`` = short CoT for stage 1, ``high`` = long CoT for stage 2), streamed into the same
``sft_data/short.jsonl`` and ``long.jsonl`` files. Whatever made them, the files are then checked
against the evaluation tasks (problem and assistant turn of every example) before any training.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

from evalkit.training.decontaminate import DecontaminationSettings, PoolItem, guard_pool
from evalkit.training.published import DatasetSource, reasonlite_example

from .recipe import SftDataSettings
from .workdir import WorkDir, jsonl_writer, read_jsonl

DECONTAMINATION_FILE = "decontamination.json"
PARTS = ("short", "long")


def import_released(work: WorkDir, settings: SftDataSettings, source: DatasetSource
                    ) -> dict[str, Any]:
    """Stream the released short and long CoT splits into the split files; return counts."""
    counts: dict[str, Any] = {"source": source.provenance()}
    for part, split in zip(PARTS, (settings.short_split, settings.long_split), strict=True):
        rows = dataclasses.replace(source, split=split).rows()
        with jsonl_writer(work.split_file(part)) as write:
            count = 0
            for index, row in enumerate(itertools.islice(rows, settings.limit)):
                write({**reasonlite_example(row), "problem_id": f"{split}:{index}",
                       "mode": split})
                count += 1
        counts[part] = count
    return counts


def decontaminate_split(work: WorkDir, settings: DecontaminationSettings) -> dict[str, Any]:
    """Check both split files; drop the contaminated examples if the recipe says so."""
    report = work.root / DECONTAMINATION_FILE
    dropped = guard_pool(_items(work), settings, report, "sft_data")
    if dropped:
        for part in PARTS:
            path = work.split_file(part)
            rows = [row for index, row in enumerate(read_jsonl(path))
                    if _item_id(part, index) not in dropped]
            with jsonl_writer(path) as write:
                for row in rows:
                    write(row)
    return {"report": report.name, "dropped": len(dropped), "on_overlap": settings.on_overlap}


def _item_id(part: str, index: int) -> str:
    return f"{part}:{index}"


def _items(work: WorkDir):
    for part in PARTS:
        path: Path = work.split_file(part)
        for index, row in enumerate(read_jsonl(path)):
            yield PoolItem(_item_id(part, index), row["problem"], row["messages"][-1]["content"])
