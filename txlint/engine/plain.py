"""Frozen dataclasses to JSON-ready values and back, driven by their type hints.

The result cache stores findings, table declarations and atomic writers on
disk. JSON rather than pickle: a cache folder committed to a repository by
someone else must never be able to run code when txlint reads it, and JSON
cannot. Reading is strict: a value of the wrong shape raises `ValueError`,
which the cache treats as a miss.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def to_plain(value: object) -> Any:
    """A dataclass (or tuple, enum, scalar) as lists, dicts and scalars."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [to_plain(v) for v in value]
    if isinstance(value, frozenset):
        # In a fixed order, so that the same facts make the same bytes (the run memo hashes them).
        return sorted((to_plain(v) for v in value), key=lambda plain: json.dumps(plain, sort_keys=True))
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__}")


def from_plain(kind: type[T], data: Any) -> T:
    """The inverse of `to_plain` for the dataclass `kind`."""
    built: T = _build(kind, data)
    return built


@cache
def _hints(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)


def _build(hint: Any, data: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if data is None and type(None) in options:
            return None
        for option in options:
            if option is not type(None):
                try:
                    return _build(option, data)
                except (ValueError, TypeError):
                    continue
        raise ValueError(f"no type of {hint} fits {data!r}")
    if origin is tuple:
        if not isinstance(data, list):
            raise ValueError(f"expected a list, got {type(data).__name__}")
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], item) for item in data)
        if len(args) != len(data):
            raise ValueError("tuple of the wrong length")
        return tuple(_build(a, item) for a, item in zip(args, data, strict=True))
    if origin is typing.Literal:
        if data in typing.get_args(hint):
            return data
        raise ValueError(f"{data!r} is not one of {typing.get_args(hint)}")
    if origin is frozenset:
        if not isinstance(data, list):
            raise ValueError(f"expected a list, got {type(data).__name__}")
        (member,) = typing.get_args(hint)
        return frozenset(_build(member, item) for item in data)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(data, dict):
            raise ValueError(f"expected an object for {hint.__name__}")
        hints = _hints(hint)
        known = {f.name for f in dataclasses.fields(hint) if f.init}
        if not set(data) <= known:
            raise ValueError(f"unknown fields for {hint.__name__}: {sorted(set(data) - known)}")
        return hint(**{name: _build(hints[name], value) for name, value in data.items()})
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(data)
    if hint in (str, int, bool) and type(data) is hint:
        return data
    if hint is float and isinstance(data, (int, float)) and not isinstance(data, bool):
        return float(data)
    raise ValueError(f"expected {hint}, got {type(data).__name__}")
