"""Every bundled recipe, preset and profile value names where it comes from: a file at a commit,
a paper section or a Hub file at a revision (evalkit.run.profiles.SOURCE); a recipe may also mark
evalkit's own choice `ours: <why>`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from evalkit.run.presets import RUN_PRESETS
from evalkit.run.profiles import EXTRA_SETTINGS, SOURCE, load_profiles
from evalkit.workflow.release_recipe import load_release_recipe

RECIPES_DIR = Path(str(resources.files("evalkit.training").joinpath("recipes")))
RECIPES = sorted(RECIPES_DIR.glob("*.yaml"))
RECIPE_SOURCE = re.compile(rf"{SOURCE.pattern}|^ours: \S.*$")
# Keys that name the recipe and what it runs rather than hold a value with an origin.
STRUCTURAL = {"name", "train.pipeline", "train.recipe"}
LINES = re.compile(r"L(\d+)(?:-L(\d+))?")


def setting_keys(data: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Every setting as a dotted key; a mapping's settings are its keys, an empty one has none."""
    for key, value in data.items():
        if isinstance(value, dict):
            yield from setting_keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def form_problems(source: Any, pattern: re.Pattern[str]) -> list[str]:
    """Why `source` is not a citation in the accepted form (an empty list when it is)."""
    if not isinstance(source, str) or not pattern.match(source):
        return [f"not a file at a commit, a paper section, a Hub revision or `ours: <why>`: "
                f"{source!r}"]
    where, _, anchor = source.split(" ")[0].partition("#")
    if "@" not in where or not anchor:
        return []
    ranges = anchor.split(",")
    if not all(LINES.fullmatch(r) for r in ranges):
        return [f"line anchor is not #Lx, #Lx-Ly or a comma list of them: {source!r}"]
    if any(m[2] and int(m[2]) <= int(m[1]) for m in map(LINES.fullmatch, ranges)):
        return [f"line range does not ascend: {source!r}"]
    return []


def recipe_problems(recipe: dict[str, Any]) -> list[str]:
    """A recipe's settings without a source, sources in no accepted form, and sources that name
    no setting. A setting is sourced by its own key or by the nearest mapping above it."""
    sources = recipe.get("sources") or {}
    keys = set(setting_keys({k: v for k, v in recipe.items() if k != "sources"})) - STRUCTURAL
    named = keys | {k.rsplit(".", i)[0] for k in keys for i in range(1, k.count(".") + 1)}
    problems = [
        f"{key}: no source" for key in sorted(keys)
        if not any(key.rsplit(".", i)[0] in sources for i in range(key.count(".") + 1))
    ]
    for key, source in sources.items():
        if key not in named:
            problems.append(f"sources.{key}: names no setting of the recipe")
        problems += [f"sources.{key}: {p}" for p in form_problems(source, RECIPE_SOURCE)]
    return problems


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_every_bundled_recipe_value_has_a_source(path):
    assert recipe_problems(yaml.safe_load(path.read_text(encoding="utf-8"))) == []


def test_the_recipe_check_finds_missing_malformed_and_stray_sources():
    commit = "0123456789abcdef0123456789abcdef01234567"
    recipe = {
        "name": "r", "limit": None, "args": {"lr": 1.0, "kwargs": {"a": 1}}, "lora": {},
        "train": {"steps": 5},
        "sources": {
            "args.kwargs": f"org/repo@{commit}:cfg.yaml#L3-L4",
            "args.lr": "README 'Main Results'",
            "train.steps": f"org/repo@{commit}:train.py#L9-L3",
            "train.stps": "ours: a typo",
            "lora": "ours:",
        },
    }
    assert recipe_problems(recipe) == [
        "limit: no source",
        "sources.args.lr: not a file at a commit, a paper section, a Hub revision or "
        "`ours: <why>`: \"README 'Main Results'\"",
        f"sources.train.steps: line range does not ascend: 'org/repo@{commit}:train.py#L9-L3'",
        "sources.train.stps: names no setting of the recipe",
        "sources.lora: names no setting of the recipe",
        "sources.lora: not a file at a commit, a paper section, a Hub revision or "
        "`ours: <why>`: 'ours:'",
    ]
    cited = {"limit": "arXiv:2510.07962 §4.1 (the problem count)",
             "args": f"https://huggingface.co/datasets/org/data/blob/{commit}/README.md",
             "train": f"org/repo@{commit}:train.py#L36,L55-L57 (two places)"}
    assert recipe_problems({**recipe, "sources": cited}) == []


def test_ours_is_for_recipes_only():
    assert form_problems("ours: evalkit's default", RECIPE_SOURCE) == []
    assert form_problems("ours: evalkit's default", SOURCE) != []
    assert form_problems("the evalkit issue tracker", SOURCE) != []


@pytest.mark.parametrize("name", sorted(RUN_PRESETS))
def test_every_preset_cites_a_file_at_a_commit(name):
    assert form_problems(RUN_PRESETS[name].source, SOURCE) == []


def test_every_profile_value_has_a_source():
    text = resources.files("evalkit.run").joinpath("profiles.yaml").read_text(encoding="utf-8")
    problems = []
    for entry in yaml.safe_load(text):
        items = {**entry.get("settings", {}), **{k: entry[k] for k in EXTRA_SETTINGS if k in entry}}
        assert items, f"profile {entry['model']} has no settings"
        for name, item in items.items():  # a null value (left to the model) needs one too
            problems += [f"{entry['model']} {name}: {p}"
                         for p in form_problems(item.get("source"), SOURCE)]
    assert problems == []
    profiles = load_profiles()
    assert profiles and all(not form_problems(s.source, SOURCE)
                            for p in profiles.values() for s in p.settings.values())


def _load_training_recipe(path: Path) -> Any:
    from evalkit.training.distill.recipe import load_recipe as load_distill
    from evalkit.training.grpo.recipe import load_grpo_recipe
    from evalkit.training.lightr.recipe import load_recipe as load_lightr
    from evalkit.training.lightr.sft_recipe import load_sft_recipe

    if path.stem.startswith("release-"):
        return load_release_recipe(path)
    if path.stem.startswith("reasonlite"):
        return load_distill(path)
    if path.stem.startswith("grpo"):
        return load_grpo_recipe(path)
    return load_sft_recipe(path) if path.stem.endswith("-sft") else load_lightr(path)


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_recipe_loaders_keep_the_sources(path):
    written = yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]
    assert _load_training_recipe(path).sources == written
