"""Recipe files of the LightReasoner, SFT-baseline and GRPO pipelines: YAML read into frozen
dataclasses, with `--set section.key=value` overrides (values parsed as YAML).

A recipe is a dataclass whose `sections` are dataclasses too. Unknown keys, and keys without a
default that are missing, are errors naming the key; an override must name an existing setting,
except under a section called ``args`` (arguments passed through to a trainer's config).
A section may be null where the recipe's field allows it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from evalkit.errors import EvalkitError

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"


def find_recipe(name: str | Path, family: str = "") -> Path:
    """A recipe file: a path, or the name of a bundled recipe (training/recipes/NAME.yaml). Not
    found: an error listing the bundled recipes whose names start with `family`."""
    for candidate in (Path(name), RECIPES_DIR / f"{name}.yaml"):
        if candidate.is_file():
            return candidate
    bundled = ", ".join(p.stem for p in sorted(RECIPES_DIR.glob(f"{family}*.yaml")))
    raise EvalkitError(f"recipe {name} not found: give a YAML file or a bundled name ({bundled})")


def load_sections(path: Path, overrides: Iterable[str], cls: type, sections: dict[str, type]
                  ) -> Any:
    """A recipe of type `cls` whose `sections` are dataclasses, read from YAML with overrides."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise EvalkitError(f"cannot read recipe {path} ({err.strerror}): check --recipe") from err
    if not isinstance(data, dict):
        raise EvalkitError(f"recipe {path} is not a YAML mapping")
    for item in overrides:
        _apply_override(data, item)
    return _build(data, path, cls, sections)


def _apply_override(data: dict[str, Any], item: str) -> None:
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise EvalkitError(
            f"--set expects section.key=value (e.g. sampling.beta=0.5), got {item!r}"
        )
    *parents, leaf = key.strip().split(".")
    node = data
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise EvalkitError(f"--set {item!r}: no recipe section {part!r}")
    if leaf not in node and parents[-1:] != ["args"]:
        raise EvalkitError(f"--set {item!r}: the recipe has no setting {key!r}")
    node[leaf] = yaml.safe_load(raw)


def _build(data: dict[str, Any], path: Path, cls: type, sections: dict[str, type]) -> Any:
    _check_keys(data, cls, str(path))
    values = dict(data)
    for section, section_cls in sections.items():
        if values.get(section) is None:
            continue
        if not isinstance(values[section], dict):
            raise EvalkitError(f"recipe {path}: {section} must be a mapping")
        _check_keys(values[section], section_cls, f"{path}:{section}")
        values[section] = section_cls(**values[section])
    return cls(**values)


def _check_keys(data: dict[str, Any], cls: type, where: str) -> None:
    """Unknown keys, and keys without a default that are missing, are errors."""
    fields = dataclasses.fields(cls)
    expected = {f.name for f in fields}
    required = {f.name for f in fields if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING}
    unknown, missing = set(data) - expected, required - set(data)
    if unknown or missing:
        raise EvalkitError(
            f"recipe {where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}; "
            "compare with the bundled recipes in training/recipes/"
        )
