"""`lightr import`: LightReasoner's released samples as a sampling folder for `lightr finetune`.

The authors published their sampled steps (README "Shortcut", LRsamples/LR_samples.zip): one JSONL
member per expert, rows as LightR_sampling.py writes them (``prompt_id`` = the GSM8K question,
``step``, ``prefix`` = the decoded first ``step`` completion tokens, ``token_ids``, ``weights``,
``kl_divergence``). Each row becomes a samples.jsonl step: its prefix ids are the expert's chat
prompt (the recipe's system prompt, the question as the user turn) followed by the prefix text,
tokenised as LightR_finetuning.py tokenises them. The zip member is read straight from the pinned
archive through ``datasets`` (``zip://member::archive``), so nothing else is extracted.

sampling.json records the expert the set was sampled with, so `lightr finetune` can check that
it fine-tunes that model (train.require_sampling_expert).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.generation.models import resolve_model
from evalkit.training.decontaminate import PoolItem, guard_pool
from evalkit.training.lightr.recipe import Recipe
from evalkit.training.published import DatasetSource

from .sampler import DECONTAMINATION_FILE, META_FILE


def zip_member(archive: str, pattern: str) -> str:
    """The one member of `archive` (a path or URL of a zip) that `pattern` (a glob) matches."""
    import fsspec

    try:
        found = sorted(f.path for f in fsspec.open_files(f"zip://{pattern}::{archive}"))
    except (OSError, ValueError) as err:
        raise EvalkitError(
            f"cannot open {archive} ({type(err).__name__}): check the network, or set "
            "released_samples.archive to a local copy of LR_samples.zip"
        ) from err
    if len(found) != 1:
        what = f"{len(found)} members ({', '.join(found)})" if found else "no member"
        raise EvalkitError(
            f"{pattern!r} matches {what} of {archive}: set "
            "released_samples.sets.<name>.member to exactly one of them"
        )
    return found[0]


def question_id(question: str) -> str:
    return "q" + hashlib.sha256(question.encode()).hexdigest()[:12]


def step_records(rows: Iterator[dict[str, Any]], tokenizer: Any, system_prompt: str
                 ) -> Iterator[dict[str, Any]]:
    """Released rows as samples.jsonl records (see the module doc)."""
    prompts: dict[str, str] = {}
    for row in rows:
        question = row["prompt_id"]
        if question not in prompts:
            prompts[question] = tokenizer.apply_chat_template(
                [{"role": "system", "content": system_prompt},
                 {"role": "user", "content": question}],
                tokenize=False, add_generation_prompt=True)
        yield {
            "question_id": question_id(question),
            "question": question,
            "step": row["step"],
            "prefix": row["prefix"],
            "prefix_ids": tokenizer(prompts[question] + row["prefix"]).input_ids,
            "token_ids": list(row["token_ids"]),
            "weights": list(row["weights"]),
            "kl": row["kl_divergence"],
        }


def import_released(recipe: Recipe, name: str, output_dir: Path) -> dict[str, Any]:
    """Write `name`'s released steps to output_dir/samples.jsonl (+ sampling.json); return the
    sampling.json record."""
    from transformers import AutoTokenizer

    released = recipe.released_samples
    if released is None or name not in released.sets:
        known = ", ".join(released.sets) if released else "none in this recipe"
        raise EvalkitError(f"unknown released sample set {name!r}: known sets are {known}")
    entry = released.sets[name]
    member = zip_member(released.archive, entry["member"])
    source = DatasetSource(data_files=f"zip://{member}::{released.archive}")
    expert = resolve_model(entry["expert"])
    tokenizer = AutoTokenizer.from_pretrained(expert.path)
    records = list(step_records(source.rows(), tokenizer, recipe.sampling.system_prompt))
    if not records:
        raise EvalkitError(f"{member} of {released.archive} holds no samples")
    output_dir.mkdir(parents=True, exist_ok=True)
    longest: dict[str, dict[str, Any]] = {}
    for record in records:
        if record["step"] >= longest.get(record["question_id"], {"step": -1})["step"]:
            longest[record["question_id"]] = record
    dropped = guard_pool(
        (PoolItem(qid, r["question"], r["prefix"]) for qid, r in longest.items()),
        recipe.decontamination, output_dir / DECONTAMINATION_FILE, name)
    kept = [r for r in records if r["question_id"] not in dropped]
    tmp = output_dir / "samples.jsonl.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        for record in kept:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(tmp, output_dir / "samples.jsonl")
    recorded = expert.to_json()
    if expert.kind == "hub":  # the authors did not say which revision they sampled with
        recorded["revision"] = None
    meta = {
        "released": {"set": name, "archive": released.archive, "member": member},
        "models": {"expert": recorded},
        "recipe": recipe.to_json(),
        "totals": {"questions": len(longest) - len(dropped), "kept": len(kept)},
        "decontamination": {"file": DECONTAMINATION_FILE, "dropped": sorted(dropped)},
    }
    (output_dir / META_FILE).write_text(json.dumps(meta, indent=1))
    return meta
