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

_RL = "AMD-AGI/ReasonLite@c44cb21ae9da87c554066aa17899dcc392775d68"
_QM = "QwenLM/Qwen2.5-Math@a45202bd16f1ec06f433442dc1152d0074773465"
_LR = "HKUDS/LightReasoner@fbd55c7dd105dde45f87c621006b03b7668fe279"
REASONLITE_SOURCE = (
    f"{_RL}:eval/config/eval.yaml#L13-L24 (ReasonLite-0.6B: T 1.0, top-p 0.98, 65536 tokens, "
    f"n 16); tasks and k: {_RL}:README.md#L34-L52 ('Evaluation Results': avg@16, pass@8); "
    f"answer extraction: {_RL}:eval/eval.py#L693-L709; samples end at the model's context: "
    f"{_RL}:eval/eval.py#L523-L533 (LLM() without max_model_len)"
)
REASONLITE_TURBO_SOURCE = (
    f"{_RL}:eval/config/eval.yaml#L1-L11 (ReasonLite-0.6B-Turbo: T 0.6, top-p 0.95, n 16) and "
    f"{_RL}:eval/eval.py#L490 (32768 tokens, the default); tasks and k: {_RL}:README.md#L34-L52;"
    f" extraction and context as for ReasonLite-0.6B: {_RL}:eval/eval.py#L523-L533,L693-L709"
)
LIGHTREASONER_SOURCE = (
    f"{_LR}:evaluation/README.md#L72-L100 (zero-shot pass@1, qwen25-math-cot); {_QM}:"
    "evaluation/math_eval.py#L36,L55-L57,L234 (2048 tokens, greedy, stop strings) and "
    f"{_QM}:evaluation/utils.py#L141-L147 (ChatML written out)"
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
    "temperature": 1.0,
    "top_p": 0.98,
    "max_tokens": 65536,
    "n": 16,
    "k": "1,8",
    "extraction": "reasonlite",
    "context_limit": "cap",
}
_FINAL = "ReasonLite-0.6B's evaluation: bare problem as user message, T 1.0, top-p 0.98, 65536 " \
    "tokens, n 16"

RUN_PRESETS: dict[str, RunPreset] = {
    p.name: p
    for p in (
        RunPreset("reasonlite", _FINAL, REASONLITE_SOURCE, _REASONLITE),
        RunPreset("reasonlite-long", _FINAL + " (the earlier name of `reasonlite`)",
                  REASONLITE_SOURCE, _REASONLITE),
        RunPreset(
            "reasonlite-turbo",
            "ReasonLite-0.6B-Turbo's evaluation: bare problem, T 0.6, top-p 0.95, 32768 tokens, "
            "n 16",
            REASONLITE_TURBO_SOURCE,
            {**_REASONLITE, "temperature": 0.6, "top_p": 0.95, "max_tokens": 32768},
        ),
        RunPreset(
            "lightreasoner",
            "LightReasoner: qwen25-math-cot prompt in ChatML, greedy, 2048 tokens, the toolkit's "
            "stop strings and answer extraction, their seven tasks",
            LIGHTREASONER_SOURCE,
            {
                "tasks": "gsm8k,math,svamp,asdiv,minerva_math,olympiadbench,mmlu_stem",
                "prompt": "qwen25-math-cot",
                "chat_template": "chatml",
                "temperature": 0.0,
                "max_tokens": 2048,
                "stop": ["</s>", "<|im_end|>", "<|endoftext|>"],
                "extraction": "qwen25-math",
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
