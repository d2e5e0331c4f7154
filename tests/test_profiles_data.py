"""The model profiles and parity fixtures are usable data: every profile names known tasks and
prompts, cites each value, and points at a published row that exists; every fixture row is
complete."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from evalkit.generation.prompts import PRESETS
from evalkit.tasks import TASK_NAMES

ROOT = Path(__file__).resolve().parent.parent
PROFILES = yaml.safe_load((ROOT / "evalkit" / "run" / "profiles.yaml").read_text())
PARITY = ROOT / "tests" / "fixtures" / "parity"

TOP_KEYS = {"model", "description", "evaluation", "leaderboard", "settings", "chat_template",
            "stop", "extraction", "max_model_len", "notes"}
OPTIONAL_KEYS = {"context_limit"}  # ReasonLite's evaluations cap samples at the context
SETTING_KEYS = {"tasks", "n", "k", "temperature", "top_p", "top_k", "max_tokens", "prompt"}
# A file read at a commit, or a paper section.
SOURCE = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}:\S+|^arXiv:\d{4}\.\d{4,5} §\S")


def _cited_values(profile: dict) -> dict[str, dict]:
    cited = {f"settings.{k}": v for k, v in profile["settings"].items()}
    cited.update({k: profile[k] for k in ("chat_template", "stop", "extraction", "max_model_len",
                                          "context_limit") if k in profile})
    return cited


def _board_rows(board: str) -> set[tuple[str, str | None]]:
    table = yaml.safe_load((ROOT / "leaderboards" / f"{board}.yaml").read_text())
    return {(row["model"], row.get("variant")) for row in table["rows"]}


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p["model"])
def test_profile_is_complete_and_cited(profile: dict) -> None:
    assert TOP_KEYS <= set(profile) <= TOP_KEYS | OPTIONAL_KEYS
    assert set(profile["settings"]) <= SETTING_KEYS
    for name, entry in _cited_values(profile).items():
        assert set(entry) == {"value", "source"}, name
        assert SOURCE.match(entry["source"]), f"{name}: {entry['source']!r}"
    settings = {k: v["value"] for k, v in profile["settings"].items()}
    assert set(settings["tasks"]) <= set(TASK_NAMES)
    assert settings["prompt"] in PRESETS
    assert all(1 <= k <= settings["n"] for k in settings["k"])
    assert profile["chat_template"]["value"] in ("model", "chatml")
    assert profile["extraction"]["value"] in ("reasonlite", "qwen25-math", "evalkit")
    assert profile.get("context_limit", {"value": "refuse"})["value"] in ("refuse", "cap")


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p["model"])
def test_profile_points_at_a_published_row(profile: dict) -> None:
    ref = profile["leaderboard"]
    assert (ref["row"], ref.get("variant")) in _board_rows(ref["board"])


def test_one_profile_per_model() -> None:
    models = [p["model"] for p in PROFILES]
    assert len(models) == len(set(models))


def test_reasonlite_final_and_turbo_differ_as_published() -> None:
    by_model = {p["model"]: {k: v["value"] for k, v in p["settings"].items()} for p in PROFILES}
    final, turbo = by_model["amd/ReasonLite-0.6B"], by_model["amd/ReasonLite-0.6B-Turbo"]
    assert (final["temperature"], final["top_p"], final["max_tokens"]) == (1.0, 0.98, 65536)
    assert (turbo["temperature"], turbo["top_p"], turbo["max_tokens"]) == (0.6, 0.95, 32768)


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (PARITY / name).read_text().splitlines()]


def test_reasonlite_fixture_rows_are_consistent() -> None:
    rows = _rows("reasonlite_extraction.jsonl")
    assert len({r["id"] for r in rows}) == len(rows) >= 15
    for r in rows:
        checks = (r["correct_boxed"], r["correct_answer_is"], r["correct_math_verify"])
        assert r["correct"] == any(checks), r["id"]
        boxed, answer_is = r["extracted_boxed"], r["extracted_answer_is"]
        assert r["extracted"] == (boxed if boxed is not None else answer_is), r["id"]


def test_qwen_fixture_rows_are_complete() -> None:
    rows = _rows("qwen25_math_extraction.jsonl")
    assert len({r["id"] for r in rows}) == len(rows) >= 15
    for r in rows:
        assert r["data_name"] in TASK_NAMES
        assert isinstance(r["extracted"], str) and isinstance(r["correct"], bool)


def test_qwen_prompt_fixture_is_the_chatml_template() -> None:
    doc = json.loads((PARITY / "qwen25_math_prompts.json").read_text())
    assert doc["stop"] == ["</s>", "<|im_end|>", "<|endoftext|>"]
    head = ("<|im_start|>system\nPlease reason step by step, and put your final answer within "
            "\\boxed{}.<|im_end|>\n<|im_start|>user\n")
    for case in doc["cases"]:
        assert case["prompt"].startswith(head)
        assert case["prompt"].endswith(case["question"] + "<|im_end|>\n<|im_start|>assistant\n")
