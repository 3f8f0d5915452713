"""What a function's summary says of the records it is handed and writes back (`RowWrite`).

CRUD helpers of raw-SQL code write a record they are given through an UPDATE
whose values are its attributes and whose WHERE keys the row by another of
them (`UPDATE mint_quotes SET state = :state WHERE quote = :quote` with
`quote.state`, `quote.quote`). The caller changed those attributes: its call
is the write of its row, with the values it assigned, judged as if the
UPDATE were inline (clarification 15).
"""

from __future__ import annotations

import re

from txlint.core.index import normalise_column
from txlint.core.ir import Guard, RowOrigin, ValueKind, Write
from txlint.core.ir import Value as IRValue
from txlint.core.summaries import RowWrite
from txlint.frontends.python.interpret.interpreter import FunctionInterpreter
from txlint.frontends.python.interpret.values import Data

# A literal, or a name of a constant (`Order.STATUS_PAID`, `REFUND.COMPLETE`).
CONSTANT = re.compile(r"""(-?\d+(\.\d+)?|'[^']*'|"[^"]*"|True|False|None|([A-Za-z_]\w*\.)*[A-Z][A-Z0-9_]*)""")


def value_source(value: IRValue, params: tuple[str, ...], record: str | None = None) -> str:
    """Where a value written by a function comes from, for its callers: "attr:<name>" (an attribute
    of the parameter `record`, and nothing else), "param:<name>" (another parameter as it is),
    "constant:<text>" (a literal), "" (anything else)."""
    text = value.expression or ""
    attributes = {d.column for d in value.depends_on if d.row.origin is RowOrigin.PARAMETER and d.row.name == record and d.column is not None}
    if record is not None and len(attributes) == 1 and len(value.depends_on) == 1 and value.kind is ValueKind.DERIVED and value.delta is None:
        return f"attr:{attributes.pop()}"
    if text in params and text != record and text not in ("self", "cls"):
        return f"param:{text}"
    if value.kind is ValueKind.INDEPENDENT and not value.depends_on and CONSTANT.fullmatch(text):
        return f"constant:{text}"
    return ""


def row_writes(interpreter: FunctionInterpreter, params: tuple[str, ...]) -> tuple[tuple[RowWrite, ...], frozenset[int]]:
    """The UPDATEs of rows its parameters hold, and the indices of their ops (no act of its own)."""
    returned = frozenset(i for value in interpreter.returned if isinstance(value, Data) for i in value.results)
    found: dict[RowWrite, None] = {}
    indices: set[int] = set()
    for index, op in enumerate(interpreter.table.ops):
        if not isinstance(op, Write) or op.row is not None:
            continue
        written = _row_write(op, params, "returned" if index in returned else "helper" if op.result_checked is not False else "")
        if written is not None:
            found[written] = None
            indices.add(index)
    return tuple(found), frozenset(indices)


def _row_write(write: Write, params: tuple[str, ...], checked: str) -> RowWrite | None:
    """`write` as an UPDATE of the row of one parameter: its WHERE compares a column it does not set
    with an attribute of that parameter (the row's key)."""
    set_columns = {normalise_column(a.column) for a in write.assignments}
    for record in params:
        if record in ("self", "cls"):
            continue
        keys = [
            g
            for g in write.guards
            if g.op == "=" and normalise_column(g.column) not in set_columns and value_source(g.value, params, record).startswith("attr:")
        ]
        if not keys:
            continue
        columns = tuple((a.column, source) for a in write.assignments if (source := value_source(a.value, params, record)))
        guards = tuple((g.column, g.op, value_source(g.value, params, record)) for g in write.guards if not _is_key(g, keys))
        return RowWrite(record, write.table, columns, guards, checked)
    return None


def _is_key(guard: Guard, keys: list[Guard]) -> bool:
    return any(guard is key for key in keys)
