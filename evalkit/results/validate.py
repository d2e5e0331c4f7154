"""Read JSON into typed dataclasses, checking every field: a document of the wrong shape becomes
one line naming the field (``tasks.gsm8k.metrics[0].value must be a number, got "x"``).

A dataclass field may name its JSON key in ``metadata={"json": ...}`` (for keys that are Python
keywords). Keys the dataclass does not know are ignored.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, TypeVar, Union

T = TypeVar("T")


class SchemaError(ValueError):
    """A JSON document does not have the shape its dataclass describes."""


def load(cls: type[T], data: Any, where: str) -> T:
    """``data`` (parsed JSON) as an instance of the dataclass ``cls``."""
    if not isinstance(data, dict):
        raise SchemaError(f"{where} must be an object, got {_shown(data)}")
    hints = typing.get_type_hints(cls)
    values = {}
    for field in fields(cls):  # type: ignore[arg-type]
        key = field.metadata.get("json", field.name)
        if key not in data:
            if field.default is MISSING and field.default_factory is MISSING:
                raise SchemaError(f"{where}.{key} is missing")
            continue
        values[field.name] = _convert(hints[field.name], data[key], f"{where}.{key}")
    return cls(**values)


def _convert(kind: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(option, value, where)
            except SchemaError as err:
                errors.append(err)
        raise errors[-1] if errors else SchemaError(f"{where} must be null")
    if is_dataclass(kind):
        return load(kind, value, where)  # type: ignore[arg-type]
    if origin is list:
        _expect(isinstance(value, list), where, "a list", value)
        return [_convert(args[0], item, f"{where}[{i}]") for i, item in enumerate(value)]
    if origin is tuple:
        _expect(isinstance(value, list | tuple) and len(value) == len(args), where,
                f"a list of {len(args)}", value)
        return tuple(_convert(a, item, f"{where}[{i}]") for i, (a, item) in
                     enumerate(zip(args, value, strict=True)))
    if origin is dict:
        _expect(isinstance(value, dict), where, "an object", value)
        return {key: _convert(args[1], item, f"{where}.{key}") for key, item in value.items()}
    if kind is float:
        _expect(isinstance(value, int | float) and not isinstance(value, bool)
                and math.isfinite(value), where, "a number", value)
        return float(value)
    if kind is int:
        _expect(isinstance(value, int) and not isinstance(value, bool), where, "an integer",
                value)
        return value
    if kind is bool:
        _expect(isinstance(value, bool), where, "true or false", value)
        return value
    if kind is str:
        _expect(isinstance(value, str), where, "a string", value)
        return value
    raise TypeError(f"no JSON reading for {kind!r}")  # a dataclass field of an unsupported type


def _expect(ok: bool, where: str, what: str, value: Any) -> None:
    if not ok:
        raise SchemaError(f"{where} must be {what}, got {_shown(value)}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
