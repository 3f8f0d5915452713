"""A project helper that writes back a record its caller hands it (`FunctionSummary.row_writes`).

`await update_mint_quote(quote=quote, db=db)` where the helper runs `UPDATE
mint_quotes SET state = :state, paid_time = :paid_time WHERE quote = :quote`
with `quote.state`, `quote.paid_time`, `quote.quote`: the call writes the
caller's row `quote` (read through a helper, a parameter, a model instance),
its columns taking the values the caller assigned to those attributes — as
if the UPDATE were written here, so TX101/TX102 judge it where the decision
is. Attributes the caller did not assign are written back as they were read
(no change). A WHERE that also tests the old state (`AND state = :old`)
makes the call a compare-and-swap, whose row count the helper checks, hands
back, or leaves unread.
"""

from __future__ import annotations

from typing import cast

import libcst as cst

from txlint.core.ir import Act, Assignment, Guard, GuardOp, RowOrigin, RowRef, Write
from txlint.core.summaries import FunctionSummary, RowWrite
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.values import Parameter, Row
from txlint.frontends.python.recognisers.project_names import argument, value_given


def written_back(ctx: Context, node: cst.Call, found: FunctionSummary) -> None:
    """The writes of the rows the call hands the helper; a record the caller holds as no known row
    (built here, of unknown origin) is written all the same: an act, as any write of a helper."""
    for written in found.row_writes:
        given = argument(node, found.params, written.param)
        ref = _row_given(ctx, given) if given is not None else None
        if ref is None:
            ctx.emit(Act(ctx.span(node), ctx.tx, what=f"`{found.name.rsplit('.', 1)[-1]}()` writes `{written.table}`", through=found.name))
            continue
        assignments = _assignments(ctx, node, found, written, ref)
        guards = tuple(Guard(column, cast(GuardOp, op), value_given(ctx, node, found, source)) for column, op, source in written.guards)
        checked = True if written.checked == "helper" else (not ctx.is_discarded(node)) if written.checked == "returned" else None
        ctx.emit(Write(ctx.span(node), ctx.tx, written.table, assignments, row=ref, guards=guards, result_checked=checked))


def _row_given(ctx: Context, given: cst.BaseExpression) -> RowRef | None:
    """The row an argument is: a row this function holds, or a parameter (its callers decide)."""
    if not isinstance(given, cst.Name):
        return None
    value = ctx.lookup(given.value)
    if isinstance(value, Row):
        return value.ref
    if isinstance(value, Parameter):
        return RowRef(RowOrigin.PARAMETER, None, value.name)
    return None


def _assignments(ctx: Context, node: cst.Call, found: FunctionSummary, written: RowWrite, ref: RowRef) -> tuple[Assignment, ...]:
    """The columns the call changes: those set from attributes the caller assigned (where it assigned
    them), and those set from other arguments or literals (at the call)."""
    attributes = [source.partition(":")[2] for _, source in written.columns if source.startswith("attr:")]
    pending = {a.column: a for a in ctx.take_pending(ref, attributes)}
    found_assignments = []
    for column, source in written.columns:
        kind, _, detail = source.partition(":")
        if kind == "attr":
            assigned = pending.get(detail)
            if assigned is not None:
                found_assignments.append(Assignment(column, assigned.value, assigned.span))
        else:
            found_assignments.append(Assignment(column, value_given(ctx, node, found, source), ctx.span(node)))
    return tuple(found_assignments)

