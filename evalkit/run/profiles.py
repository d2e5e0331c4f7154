"""Model profiles: the published evaluation settings of the models evalkit reproduces.

``profiles.yaml`` (beside this module) holds, per Hub id, the settings of the evaluation its
authors published (tasks, n, k, sampling, prompt, chat template, stop strings, answer
extraction, context length), each with its source: a file at a commit or a paper section.
`evalkit run --model X` with a profile uses it as a layer below the command line (and a
preset); ``--profile none`` turns it off, ``--profile Y`` borrows another model's.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from evalkit.errors import EvalkitError
from evalkit.run.settings import Layer, RunSettings, check_layer

# A source is a file at a commit (OWNER/REPO@<40 hex>:path[#Lx-Ly]), an arXiv section, or a
# file of a Hub model or dataset at a revision, optionally followed by a remark.
SOURCE = re.compile(
    r"^(?:[\w.-]+/[\w.-]+@[0-9a-f]{40}:\S+"
    r"|arXiv:\d{4}\.\d{4,5}(?:v\d+)? §\S.*"
    r"|https://huggingface\.co/(?:datasets/)?[\w.-]+/[\w.-]+/blob/[0-9a-f]{40}/\S+)(?: .*)?$"
)
# Profile keys that are evalkit run settings, beside `settings` (named as RunSettings fields).
EXTRA_SETTINGS = ("chat_template", "stop", "extraction", "max_model_len", "context_limit")


@dataclass(frozen=True)
class Sourced:
    """A published value and where it was published."""

    value: Any
    source: str


@dataclass(frozen=True)
class ModelProfile:
    """How a model's authors evaluated it."""

    model: str
    description: str
    evaluation: str
    leaderboard: dict[str, str] | None  # {"board": file stem in leaderboards/, "row": model}
    settings: dict[str, Sourced]  # RunSettings field -> value with its source
    notes: str = ""

    def layer(self) -> Layer:
        return Layer(f"profile {self.model}",
                     {name: item.value for name, item in self.settings.items()})

    def summary(self) -> str:
        """"tasks aime24,aime25,amc23, n 16, ..." in one line."""
        parts = []
        for name, item in self.settings.items():
            value = item.value
            if value in ([], ()):
                continue
            shown = ",".join(map(str, value)) if isinstance(value, list | tuple) else value
            parts.append(f"{name.replace('_', '-')} {shown}")
        return ", ".join(parts)

    def sources(self) -> list[str]:
        """The files read (repository at a short commit, then the paths) or paper sections."""
        files: dict[str, list[str]] = {}
        for item in self.settings.values():
            where, _, path = item.source.partition(":")
            if "@" in where and path:
                repo, _, commit = where.partition("@")
                path = path.split("#")[0].split(" ")[0]
                files.setdefault(f"{repo}@{commit[:7]}", []).append(path)
            else:
                files.setdefault(item.source, [])
        return [f"{key}: {', '.join(dict.fromkeys(paths))}" if paths else key
                for key, paths in files.items()]

    def short_source(self, name: str) -> str:
        """One setting's source with the commit shortened."""
        return re.sub(r"@([0-9a-f]{7})[0-9a-f]{33}:", r"@\1:", self.settings[name].source)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model, "evaluation": self.evaluation,
            "leaderboard": self.leaderboard,
            "settings": {name: {"value": item.value, "source": item.source}
                         for name, item in self.settings.items()},
        }


@functools.lru_cache(maxsize=1)
def load_profiles() -> dict[str, ModelProfile]:
    """Every bundled profile by lower-cased Hub id (checked: settings and sources)."""
    text = resources.files("evalkit.run").joinpath("profiles.yaml").read_text(encoding="utf-8")
    return {p.model.lower(): p for p in parse_profiles(yaml.safe_load(text) or [])}


def parse_profiles(entries: list[dict[str, Any]]) -> list[ModelProfile]:
    """Profiles from their YAML form; a bad entry is an error naming it."""
    profiles = []
    for entry in entries:
        model = entry.get("model", "?")
        settings: dict[str, Sourced] = {}
        raw = {**(entry.get("settings") or {}),
               **{k: entry[k] for k in EXTRA_SETTINGS if entry.get(k) is not None}}
        for name, item in raw.items():
            if not isinstance(item, dict) or "value" not in item or "source" not in item:
                raise EvalkitError(f"profile {model}: {name} needs a value and a source")
            if item["value"] is None:
                continue
            if not SOURCE.match(str(item["source"])):
                raise EvalkitError(f"profile {model}: the source of {name} is not a file at a "
                                   f"commit or a paper section: {item['source']!r}")
            settings[name] = Sourced(item["value"], str(item["source"]))
        check_layer(Layer(f"profile {model}", {k: v.value for k, v in settings.items()}))
        profiles.append(ModelProfile(
            model=str(model), description=str(entry.get("description", "")),
            evaluation=str(entry.get("evaluation", "")), leaderboard=entry.get("leaderboard"),
            settings=settings, notes=str(entry.get("notes", "")),
        ))
    return profiles


def choose_profile(choice: str, model: str) -> ModelProfile | None:
    """``--profile``: auto (the model's own, if known), none, or a profiled model's id."""
    if choice == "none":
        return None
    profiles = load_profiles()
    if choice == "auto":
        return profiles.get(model.lower())
    if choice.lower() not in profiles:
        raise EvalkitError(f"no profile {choice!r}: use auto, none or one of "
                           f"{', '.join(p.model for p in profiles.values())}")
    return profiles[choice.lower()]


def profile_line(profile: ModelProfile, settings: RunSettings, sources: dict[str, str]) -> str:
    """The one line `evalkit run` prints before generating."""
    own = f"profile {profile.model}"
    overridden = [name for name in profile.settings if sources.get(name) != own]
    line = (f"using the published evaluation of {profile.model}: {profile.summary()} "
            f"({'; '.join(profile.sources())})")
    if overridden:
        line += f"; overridden here: {', '.join(overridden)}"
    return line + "; --profile none for evalkit's defaults"
