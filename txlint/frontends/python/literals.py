"""The value of a string literal, without libcst's `evaluated_value` cost.

`SimpleString.evaluated_value` runs `ast.literal_eval` (a compile) on every
call; the walker asks for every string it meets, and on a large code base
that was a tenth of the run. Most strings have no escapes: their value is
the text between the quotes. The rest go through `literal_eval` once per
distinct literal text.
"""

from __future__ import annotations

import ast
from functools import lru_cache

import libcst as cst


def string_value(node: cst.BaseExpression) -> str | bytes | None:
    """The value of a string literal or implicit concatenation; None for anything else (f-strings too)."""
    if isinstance(node, cst.SimpleString):
        return _simple(node.value)
    if isinstance(node, cst.ConcatenatedString):
        left, right = string_value(node.left), string_value(node.right)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        if isinstance(left, bytes) and isinstance(right, bytes):
            return left + right
    return None


def text_value(node: cst.BaseExpression) -> str | None:
    """The value of a (non-bytes) string literal, else None."""
    value = string_value(node)
    return value if isinstance(value, str) else None


@lru_cache(maxsize=16384)
def _simple(raw: str) -> str | bytes | None:
    prefix = raw[: len(raw) - len(raw.lstrip("rRbBuU"))].lower()
    body = raw[len(prefix) :]
    quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
    inner = body[len(quote) : len(body) - len(quote)]
    if "b" not in prefix and ("r" in prefix or "\\" not in inner):
        return inner
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, (str, bytes)) else None
