"""The project's own lock functions, named in the configuration (`lock-functions`).

A project often takes its locks through helpers of its own
(`lock_account(account)`, `acquire_order_lock(order_id)`, `account.lock()`).
Each function listed in `lock-functions` (a dotted name: `myapp.locks.lock_account`,
or `myapp.models.Account.lock` for a method) is taken to lock what it is
given: a model instance passed to it (or the instance it is called on) is
locked from then on, as if read again with `select_for_update()`; any other
argument is a lock key, which serialises whoever takes the same key (like
`pg_advisory_xact_lock`), on no table's rows.

Names are matched through the file's imports (`from .locks import
lock_account`, `import myapp.locks`), and a function defined in the module
being analysed matches when the module's path ends with the name's module.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

import libcst as cst

from txlint.core.ir import Dependency, Guard, LockMode, Read, RowOrigin, RowRef, ValueKind
from txlint.core.ir import Value as IRValue
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.values import Data, Query, Row, Value
from txlint.frontends.python.recognisers.base import Recogniser

ADVISORY = "<advisory lock>"


class ConfiguredLocks(Recogniser):
    """Calls of the configured lock functions: row locks on the instances they get, key locks otherwise."""

    def call(self, ctx: Context, node: cst.Call, receiver: Value | None) -> Value | None:
        entries = ctx.file.config.lock_functions
        if not entries or not _configured(ctx, node, receiver, entries):
            return None
        locked = False
        if isinstance(receiver, Row) and isinstance(node.func, cst.Attribute):
            locked = _lock_row(ctx, node, receiver, node.func.value)
        for arg in node.args:
            value = ctx.eval(arg.value)
            if isinstance(value, Row):
                locked = _lock_row(ctx, node, value, arg.value) or locked
        if not locked:  # a key: a mutex on it, like an advisory lock
            ctx.emit(Read(ctx.span(node), ctx.tx, ADVISORY, lock=LockMode.EXCLUSIVE, advisory=True))
        return Data()


def _lock_row(ctx: Context, node: cst.Call, row: Row, holder: cst.BaseExpression) -> bool:
    """The row is locked: read again with a row lock, and the variable holding it now holds that read."""
    key = IRValue(ValueKind.DERIVED, frozenset({Dependency(row.ref, "pk")}), expression=f"{row.ref.name}.pk")
    query = Query(row.table, ctx.span(node), lock=LockMode.EXCLUSIVE, guards=(Guard("pk", "=", key),))
    name = holder.value if isinstance(holder, cst.Name) else None
    read = ctx.evaluate_query(query, node, row_var=name)
    if name is not None:
        ctx.rebind(name, Row(RowRef(RowOrigin.READ, read, name), row.table))
    return True


def _configured(ctx: Context, node: cst.Call, receiver: Value | None, entries: Sequence[str]) -> bool:
    """Whether the call names one of the configured functions."""
    names: set[str] = set()
    qualified = ctx.imports.resolve(node.func)
    if qualified is not None:
        names.add(qualified.lstrip("."))
    elif isinstance(node.func, cst.Name):
        module = PurePath(ctx.file.path).with_suffix("").parts
        return any(_defined_here(entry, node.func.value, module) for entry in entries)
    if isinstance(node.func, cst.Attribute) and isinstance(receiver, Row):
        method = node.func.attr.value
        classes = {receiver.table} | {d.name for d in ctx.file.index.declarations_of_table(receiver.table)}
        names |= {f"{cls}.{method}" for cls in classes}
    return any(entry == name or entry.endswith("." + name) for entry in entries for name in names)


def _defined_here(entry: str, name: str, module: tuple[str, ...]) -> bool:
    """`myapp.locks.lock_account` names `lock_account` in a module whose path ends in `myapp/locks`."""
    *package, function = entry.split(".")
    return function == name and bool(package) and tuple(module[-len(package) :]) == tuple(package)
