"""`evalkit run --preset NAME`: the published evaluation settings of the models we reproduce.

A preset is a layer of settings (keyed by :class:`~evalkit.run.settings.RunSettings` field
names) below the command line and a release recipe: it fills what they leave out. results.json
records the preset's settings and which of them a higher layer overrode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.run.settings import Layer, RunSettings, check_layer

REASONLITE_SOURCE = (
    "AMD-AGI/ReasonLite README, 'Evaluation Results' table (AMC23, AIME25, AIME24; avg@16, "
    "pass@8); sampling settings as the evalkit issue tracker records them for the Turbo table"
)
LIGHTREASONER_SOURCE = (
    "HKUDS/LightReasoner README 'Main Results' (arXiv:2510.07962): zero-shot pass@1 with the "
    "Qwen2.5-Math evaluation toolkit (qwen25-math-cot prompt, greedy, 2048 tokens)"
)


@dataclass(frozen=True)
class RunPreset:
    """Named settings for `evalkit run`, with where they were published."""

    name: str
    description: str
    source: str
    settings: dict[str, Any] = field(default_factory=dict)


_REASONLITE = {
    "tasks": "aime24,aime25,amc23",
    "prompt": "bare",
    "temperature": 0.6,
    "top_p": 0.95,
    "max_tokens": 32768,
    "n": 16,
    "k": "1,8",
}

RUN_PRESETS: dict[str, RunPreset] = {
    p.name: p
    for p in (
        RunPreset(
            "reasonlite",
            "ReasonLite: bare problem as user message, T 0.6, top-p 0.95, 32768 tokens, n 16",
            REASONLITE_SOURCE,
            _REASONLITE,
        ),
        RunPreset(
            "reasonlite-long",
            "ReasonLite, long budget: T 1.0, top-p 0.98, 65536 tokens, n 16",
            REASONLITE_SOURCE,
            {**_REASONLITE, "temperature": 1.0, "top_p": 0.98, "max_tokens": 65536},
        ),
        RunPreset(
            "lightreasoner",
            "LightReasoner: qwen25-math-cot prompt, greedy, 2048 tokens, their seven tasks",
            LIGHTREASONER_SOURCE,
            {
                "tasks": "gsm8k,math,svamp,asdiv,minerva_math,olympiadbench,mmlu_stem",
                "prompt": "qwen25-math-cot",
                "temperature": 0.0,
                "max_tokens": 2048,
                "n": 1,
                "k": "1",
            },
        ),
    )
}


def get_run_preset(name: str) -> RunPreset:
    if name not in RUN_PRESETS:
        raise EvalkitError(f"unknown preset {name!r}: choose one of {', '.join(RUN_PRESETS)}")
    return RUN_PRESETS[name]


def preset_layer(name: str) -> Layer:
    """The preset's settings as a layer for :func:`~evalkit.run.settings.resolve_settings`."""
    preset = get_run_preset(name)
    return Layer(f"preset {preset.name}", dict(preset.settings))


def preset_record(name: str, settings: RunSettings, sources: dict[str, str]) -> dict[str, Any]:
    """results.json's ``preset``: its name, source, settings, and the settings a higher layer
    overrode with another value (with the value used)."""
    preset = get_run_preset(name)
    layer = check_layer(preset_layer(name))
    overridden = {
        key: _plain(getattr(settings, key))
        for key, value in layer.items()
        if sources.get(key) != f"preset {name}" and getattr(settings, key) != value
    }
    return {"name": preset.name, "source": preset.source, "settings": dict(preset.settings),
            "overridden": overridden}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
