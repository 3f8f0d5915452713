"""Objects built from a fetched record: still that record (raw-SQL CRUD helpers).

lnbits, cashu's nutshell and bitcart fetch a row through their own database
wrapper and hand back an object of their own class made from it:
`MintQuote.from_row(row)`, `Wallet(**row)`, `Payment(**dict(row))`,
`Invoice.parse_obj(dict(row))`, `Model.model_validate(row)`, `Point(*row)`.
Its attributes are the row's columns, read when the row was fetched: the
value is the record itself (`values.Record`), so the function returning it
returns that row (`ReturnedKind.RECORD`) and its callers read and change
the columns of it.

Only a class (a capitalised name, `cls`) or one of the well-known
constructors from a mapping on one is taken for that; any other call with
the record as argument is plain data computed from it.
"""

from __future__ import annotations

import libcst as cst

from txlint.core.ir import Read, RowOrigin
from txlint.frontends.python.imports import dotted_name
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.values import Record, Row, Value
from txlint.frontends.python.recognisers.base import Recogniser

# Class methods that build an instance from a row or a mapping (pydantic 1 and 2, dataclass helpers,
# the applications' own `from_row`).
FROM_ROW = frozenset({
    "from_row", "from_db_row", "from_record", "from_db", "from_dict", "from_mapping", "from_orm",
    "parse_obj", "model_validate", "construct", "model_construct", "validate",
})  # fmt: skip


class RecordModels(Recogniser):
    """`Model(**row)`, `Model.from_row(row)`, `dict(row)`: the record `row` is."""

    def call(self, ctx: Context, node: cst.Call, receiver: Value | None) -> Value | None:
        if not _builds_from_a_row(node):
            return None
        carried = [record for arg in node.args if (record := _record_argument(ctx, arg)) is not None]
        if len(carried) != 1 or len(_rows_given(node)) != 1:
            return None
        for arg in node.args:
            if arg.keyword is not None:
                ctx.eval(arg.value)  # `Model(**row, extra=x)`: the other fields are evaluated as written
        return carried[0]


def _builds_from_a_row(node: cst.Call) -> bool:
    """`dict(...)`, `Class(...)`, `cls(...)`, `Class.from_row(...)`, `cls.parse_obj(...)`."""
    if isinstance(node.func, cst.Name):
        return node.func.value in ("dict", "cls") or _class_like(node.func.value)
    if isinstance(node.func, cst.Attribute) and node.func.attr.value in FROM_ROW:
        owner = (dotted_name(node.func.value) or "").rsplit(".", 1)[-1]
        return owner == "cls" or _class_like(owner)
    if isinstance(node.func, cst.Attribute):
        return _class_like(node.func.attr.value) and dotted_name(node.func) is not None  # `models.Wallet(**row)`
    return False


def _class_like(name: str) -> bool:
    return name[:1].isupper() and not name.isupper()


def _rows_given(node: cst.Call) -> list[cst.Arg]:
    """The arguments that may carry a whole row: positional ones and `*`/`**` ones."""
    return [arg for arg in node.args if arg.keyword is None]


def _record_argument(ctx: Context, arg: cst.Arg) -> Record | Row | None:
    """The record an argument hands over whole: `row`, `*row`, `**row`, `dict(row)`, `**dict(row)`;
    also a record a project helper fetched (a row of a read that lists its SQL columns)."""
    if arg.keyword is not None:
        return None
    value = arg.value
    if (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Name)
        and value.func.value == "dict"
        and len(value.args) == 1
        and value.args[0].keyword is None
    ):
        value = value.args[0].value
    if not isinstance(value, cst.Name):
        return None
    found = ctx.lookup(value.value)
    if isinstance(found, Row) and found.ref.origin is RowOrigin.READ and found.ref.read is not None:
        read = ctx.op(found.ref.read)
        return found if isinstance(read, Read) and read.columns else None
    return found if isinstance(found, Record) else None
