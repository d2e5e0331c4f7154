"""RunSettings: every setting of `evalkit run`, its default, its range, and the one merge.

The command line, a release recipe's ``evaluate`` section and a preset each give a *layer* of
values keyed by these field names. :func:`resolve_settings` merges them in one order, command
line > recipe > preset > defaults, checks every value (numbers finite and in range) and records
where each came from. The CLI's defaults come from here; nothing downstream re-decides them
(:mod:`evalkit.run.plan` turns the settings into the per-task plan).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.grading.config import EXTRACTION_MODES

DEFAULT_MODEL = "smollm2-135m"


def _num(low: float | None = None, high: float | None = None, *, low_open: bool = False,
         integer: bool = False, optional: bool = False) -> dict[str, Any]:
    return {"low": low, "high": high, "low_open": low_open, "integer": integer,
            "optional": optional}


@dataclass(frozen=True)
class RunSettings:
    """What `evalkit run` is asked to do, before it is resolved per task."""

    model: str = DEFAULT_MODEL
    revision: str | None = None
    tasks: tuple[str, ...] = ("aime24", "aime25", "amc23")
    limit: int | None = field(default=None, metadata=_num(1, integer=True, optional=True))
    n: int = field(default=1, metadata=_num(1, 1_000_000, integer=True))
    k: tuple[int, ...] = ()  # pass@k values; () = 1 and n
    temperature: float | None = field(default=None, metadata=_num(0, 100, optional=True))
    top_p: float = field(default=0.95, metadata=_num(0, 1, low_open=True))
    top_k: int = field(default=0, metadata=_num(-1, 1_000_000, integer=True))  # 0 or -1: off
    min_p: float = field(default=0.0, metadata=_num(0, 1))
    repetition_penalty: float = field(default=1.0, metadata=_num(0, 10, low_open=True))
    stop: tuple[str, ...] = ()  # strings that end a completion
    max_tokens: int | None = field(default=None,
                                   metadata=_num(1, 10_000_000, integer=True, optional=True))
    seed: int = field(default=0, metadata=_num(0, 2**31 - 1, integer=True))
    prompt: str = "boxed"
    chat_template: str = "model"  # model: the model's own; chatml: ChatML written out as text
    extraction: str = "evalkit"  # how answers are found: evalkit, reasonlite or qwen25-math
    profile: str = "auto"  # auto: the model's published evaluation if known; none; a model id
    engine: str = "auto"
    # hf: rows decoded together; openai: requests in flight (None: the engine's choice)
    batch_size: int | None = field(default=None,
                                   metadata=_num(1, 100_000, integer=True, optional=True))
    dtype: str = "auto"
    base_url: str | None = None
    api_key_env: str | None = None
    # openai engines: seconds to wait for one answer (None: max tokens at 5 tokens/s, at least
    # 60 s), seconds and tries to keep retrying a failing request
    request_timeout: float | None = field(default=None,
                                          metadata=_num(0, 86_400, low_open=True, optional=True))
    retry_budget: float = field(default=600.0, metadata=_num(0, 7 * 86_400))
    max_retries: int = field(default=12, metadata=_num(0, 10_000, integer=True))
    tensor_parallel_size: int = field(default=1, metadata=_num(1, 1024, integer=True))
    max_model_len: int | None = field(default=None,
                                      metadata=_num(1, 10_000_000, integer=True, optional=True))
    context_limit: str = "refuse"  # prompt + max tokens past the context: refuse, or cap samples
    gpu_memory_utilization: float = field(default=0.9, metadata=_num(0, 1, low_open=True))
    kv_cache_gb: float | None = field(default=None,
                                      metadata=_num(0, 100_000, low_open=True, optional=True))
    max_num_seqs: int | None = field(default=None,
                                     metadata=_num(1, 1_000_000, integer=True, optional=True))
    data_parallel: int = field(default=1, metadata=_num(1, 1024, integer=True))
    preset: str | None = None
    grader_workers: int = field(default=1, metadata=_num(1, 256, integer=True))
    grader_timeout: float = field(default=10.0, metadata=_num(0.1, 86_400))
    output_dir: Path | None = None  # None: evalkit-runs/<model>
    budgets: tuple[int, ...] = ()  # token budgets of the budget curve
    grader_config: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class Layer:
    """Values for some settings, and where they come from ("command line", "preset X", ...)."""

    source: str
    values: dict[str, Any]


SETTING_NAMES = tuple(f.name for f in fields(RunSettings))
CHOICES = {
    "chat_template": ("model", "chatml"),
    "extraction": EXTRACTION_MODES,
    "context_limit": ("refuse", "cap"),
    "dtype": ("auto", "float32", "bfloat16", "float16"),
}


def option_name(name: str) -> str:
    """The command-line spelling of a setting: top_p -> --top-p."""
    return "--" + name.replace("_", "-")


def resolve_settings(layers: Sequence[Layer]) -> tuple[RunSettings, dict[str, str]]:
    """Merge ``layers`` (highest priority first) over the defaults. Returns the settings and,
    for each setting a layer gave, the source it came from."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer in reversed(layers):
        checked = check_layer(layer)
        values.update(checked)
        sources.update(dict.fromkeys(checked, layer.source))
    return replace(RunSettings(), **values), sources


def check_layer(layer: Layer) -> dict[str, Any]:
    """A layer's values, each checked and normalised to its field's type; unknown names and bad
    values are one-line errors that name the setting and where it came from."""
    by_name = {f.name: f for f in fields(RunSettings)}
    checked = {}
    for name, value in layer.values.items():
        if name not in by_name:
            raise EvalkitError(
                f"{layer.source}: unknown setting {name!r}; known: {', '.join(SETTING_NAMES)}")
        checked[name] = _normalise(by_name[name], value, layer.source)
    return checked


def _normalise(spec: Any, value: Any, source: str) -> Any:
    name, default = spec.name, spec.default
    where = f"{option_name(name)} ({source})" if source != "command line" else option_name(name)
    if value is None:
        if default is None:
            return None
        raise EvalkitError(f"{where} needs a value")
    if isinstance(default, tuple):
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise EvalkitError(f"{where} expects a comma-separated list, got {value!r}")
        items = [str(i).strip() if isinstance(i, str) else i for i in items]
        items = [i for i in items if i != ""]
        if name in ("tasks", "stop"):
            return tuple(str(i) for i in items)
        try:
            numbers = tuple(_integer(i) for i in items)
        except ValueError:
            raise EvalkitError(
                f"{where} expects comma-separated integers like 1,8, got {value!r}") from None
        if any(n < 1 for n in numbers):
            raise EvalkitError(f"{where} values must be positive, got {value!r}")
        return numbers
    if spec.metadata:
        number = _number(spec.metadata, value, where)
        return 0 if name == "top_k" and number == -1 else number
    if name in ("output_dir", "grader_config"):
        return Path(value)
    if not isinstance(value, str):
        raise EvalkitError(f"{where} expects text, got {value!r}")
    if name in CHOICES and value not in CHOICES[name]:
        raise EvalkitError(f"{where} must be one of {', '.join(CHOICES[name])}, got {value!r}")
    return value


def _number(rule: dict[str, Any], value: Any, where: str) -> int | float:
    try:
        number = _integer(value) if rule["integer"] else float(value)
    except (TypeError, ValueError):
        kind = "an integer" if rule["integer"] else "a number"
        raise EvalkitError(f"{where} expects {kind}, got {value!r}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise EvalkitError(f"{where} must be a finite number, got {value!r}")
    low, high = rule["low"], rule["high"]
    if (low is not None and (number < low or (rule["low_open"] and number == low))) or (
        high is not None and number > high
    ):
        bound = f"{'above' if rule['low_open'] else 'at least'} {_shown(low)}"
        if high is not None:
            bound += f" and at most {_shown(high)}"
        raise EvalkitError(f"{where} must be {bound}, got {value!r}")
    return number


def _shown(bound: float) -> str:
    return f"{int(bound):,}" if float(bound).is_integer() else f"{bound:g}"


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    raise ValueError(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value
