"""The recogniser interface: library knowledge plugged into the interpreter, one per library.

A recogniser is asked about parameters, attributes, assignments to
attributes, calls and `with` items. It answers with a value when the node is
its library's (`UNKNOWN` when it is but the value cannot be told), and None
when the node is not its business: then the next recogniser is asked, and
when none answers, the interpreter treats the node as plain Python. Every
method defaults to "not mine", so a recogniser writes only what it knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import libcst as cst

from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.values import Value


@dataclass(frozen=True)
class TxScope:
    """A transaction opened by a `with` block or decorator, on one database (None: whatever the code
    uses); `handle` is what `as name` binds when the block yields a connection; `flushes` says leaving
    the block normally writes a session's unsaved changes (SQLAlchemy's `session.begin()`)."""

    database: str | None = None
    handle: Value | None = None
    flushes: bool = False


class Recogniser:
    """Base of the recognisers: knows nothing."""

    # The qualified names its values and ops start from (`django.db.transaction.atomic`, `redis.Redis`):
    # a function naming one of them under an imported name can operate (`relevance`). Names that only
    # shape a value (`F`, `select`) are not among them: an op needs something these start.
    names: ClassVar[frozenset[str]] = frozenset()

    def parameter(self, ctx: Context, param: cst.Param) -> Value | None:
        """The value a parameter starts with, when this library can tell from its annotation or name."""
        return None

    def attribute(self, ctx: Context, node: cst.Attribute, base: Value) -> Value | None:
        """The value of `base.attr`, when it is this library's."""
        return None

    def subscript(self, ctx: Context, node: cst.Subscript, base: Value) -> Value | None:
        """The value of `base[key]`, when it is this library's (`t.c["balance"]`)."""
        return None

    def assigned(self, ctx: Context, target: cst.Attribute, value: cst.BaseExpression) -> bool:
        """`owner.attr = value` that changes a library object's state (`conn.autocommit = True`)."""
        return False

    def call(self, ctx: Context, node: cst.Call, receiver: Value | None) -> Value | None:
        """The value of a call (`receiver` is the value of `x` in `x.method(...)`, None for a plain call)."""
        return None

    def opens_transaction(self, ctx: Context, expr: cst.BaseExpression) -> TxScope | None:
        """The transaction a `with` item or decorator opens, or None."""
        return None
