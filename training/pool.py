"""Training pools as decontamination items: a bundled task split, or a data file of your own.

A bundled task's problems come from its parser (the text evalkit would prompt with); its
solutions from the raw row field that holds the worked solution (:data:`SOLUTION_FIELDS`). A file
(JSONL, JSON or parquet) is read through ``datasets`` with the fields you name.
"""

from __future__ import annotations

from pathlib import Path

from evalkit.errors import EvalkitError
from evalkit.tasks import get_task
from evalkit.tasks.jsonl import iter_rows

from .decontaminate import PoolItem

# The raw field of a bundled task that holds a worked solution (tasks/data/PROVENANCE.md).
SOLUTION_FIELDS = {"gsm8k": "answer", "math": "solution", "minerva_math": "solution"}
_FORMATS = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}


def task_pool(name: str, split: str = "train", limit: int | None = None) -> list[PoolItem]:
    """A bundled task split (or a custom task file) as pool items, with worked solutions."""
    task = get_task(name, split)
    problems = task.load(limit)
    field = SOLUTION_FIELDS.get(task.name)
    rows = [row for _, row in iter_rows(task.path.read_bytes(), task.path)][: len(problems)]
    return [
        PoolItem(p.id, p.question, str(row[field]) if field and row.get(field) else None)
        for p, row in zip(problems, rows, strict=True)
    ]


def file_pool(
    path: Path, problem_field: str, solution_field: str | None = None, id_field: str | None = None
) -> list[PoolItem]:
    """The rows of a JSONL, JSON or parquet file as pool items (ids: id_field or row index)."""
    from datasets import load_dataset

    kind = _FORMATS.get(path.suffix.lower())
    if kind is None or not path.is_file():
        raise EvalkitError(
            f"pool {path} must be an existing .jsonl, .json or .parquet file (or a bundled task)"
        )
    rows = load_dataset(kind, data_files=str(path), split="train")
    for name in filter(None, (problem_field, solution_field, id_field)):
        if name not in rows.column_names:
            raise EvalkitError(
                f"{path} has no field {name!r}; its fields are {', '.join(rows.column_names)}: "
                "pass --problem-field / --solution-field / --id-field"
            )
    return [
        PoolItem(
            str(row[id_field]) if id_field else str(index),
            str(row[problem_field]),
            str(row[solution_field]) if solution_field and row[solution_field] else None,
        )
        for index, row in enumerate(rows)
    ]
