"""Bound values as the trace analyser compares them: a canonical text per value, numbers told apart."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeGuard

from txlint.core.index import normalise_column
from txlint.core.queries import KEY_ALIASES
from txlint.sql import facts as sqlfacts


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def is_number(value: object) -> TypeGuard[int | float | Decimal]:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def canonical(value: object) -> str:
    """A bound value as an IR expression: equal values of one row key give equal strings.

    `1`, `1.0` and `Decimal("1")` are all "1", so an id bound as an int in the
    SELECT and as a Decimal in the UPDATE still names one row; numbers are
    written as the static side writes literals (TX106 compares with "0").
    """
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, Decimal)):
        try:
            if value == int(value):
                return str(int(value))
            return repr(float(value))
        except (ValueError, OverflowError, ArithmeticError):  # nan, inf
            return repr(value)
    if isinstance(value, (str, bytes)):
        if len(value) > 256:
            digest = hashlib.sha1(value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value).hexdigest()
            return f"{type(value).__name__}#{len(value)}:{digest}"
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(canonical(v) for v in value[:32]) + ")"
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - a value whose __str__ fails matches nothing
        return f"<{type(value).__name__} {id(value)}>"
    return f"{type(value).__name__}:{text[:256]}"


def bound_value(params: object, key: sqlfacts.PlaceholderKey) -> object:
    """The value bound to one placeholder, or MISSING."""
    if params is None:
        return MISSING
    kind = type(params)
    if kind is dict or kind is tuple or kind is list:  # the usual shapes, without ABC checks
        indexable: Any = params
        try:
            return indexable[key]
        except (KeyError, IndexError, TypeError):
            return MISSING
    try:
        if isinstance(params, Mapping):
            return params[key]
        if isinstance(key, int) and isinstance(params, Sequence) and not isinstance(params, (str, bytes)):
            return params[key]
    except (KeyError, IndexError, TypeError):
        return MISSING
    return MISSING


def key_column(column: str) -> str:
    normal = normalise_column(column)
    return "pk" if normal in KEY_ALIASES else normal
