"""The fix of TX106 (unsafe): a decrement gets its lower bound, and its row count decides.

`UPDATE ... SET stock = stock - qty` becomes `... WHERE ... AND stock >= qty`, written the way
the code writes its update: Django's `filter(..., stock__gte=qty)`, SQLAlchemy's
`.where(Model.stock >= qty)` before `.values(...)` (also when the statement is built in a local
first). A bounded update that matches no row did nothing, so the row count must decide: an update
run as a statement of its own is made the test of an `if` that raises; a result kept in a local
whose row count the function never reads gets that test right after. It is unsafe: a request that
went on with a negative balance now raises.
"""

from __future__ import annotations

import libcst as cst

from txlint.core.ftypes import Applicability, Edit, Finding, Fix
from txlint.fixes.calls import chain, method
from txlint.fixes.source import Source

_RUNS = {"execute", "exec"}  # session.execute(stmt), sqlmodel's session.exec(stmt), conn.execute(stmt)


def bounded_decrement(source: Source, finding: Finding) -> Fix | None:
    for call in source.calls_at(finding.line, finding.column):
        edits = _django(source, call) or _sqlalchemy(source, call)
        if edits:
            return Fix("bound the decrement (`>=` the amount) and raise when it matches no row", Applicability.UNSAFE, tuple(edits))
    return None


# -- Django: filter(..., c__gte=x).update(c=F("c") - x) ----------------------------------------------


def _django(source: Source, call: cst.Call) -> list[Edit] | None:
    update = next((link for link in reversed(chain(call)) if isinstance(link, cst.Call) and method(link) == "update"), None)
    if update is None or not isinstance(update.func, cst.Attribute):
        return None
    decrement = next(((arg.keyword.value, _f_minus(arg.value, arg.keyword.value)) for arg in update.args if arg.keyword is not None and _f_minus(arg.value, arg.keyword.value)), None)
    if decrement is None:
        return None
    column, amount = decrement
    assert amount is not None
    bound = f"{column}__gte={source.module.code_for_node(amount)}"
    queryset = update.func.value
    if isinstance(queryset, cst.Call) and method(queryset) == "filter" and queryset.args:
        edits = [_after(source, queryset.args[-1].value, f", {bound}")]
    else:
        edits = [_after(source, queryset, f".filter({bound})")]
    return _counted(source, update, edits, f"not enough {column}", test="not {}")


def _f_minus(value: cst.BaseExpression, column: str) -> cst.BaseExpression | None:
    """`F("c") - x` → x (for the column `c`)."""
    if not (isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Subtract) and isinstance(value.left, cst.Call)):
        return None
    left = value.left
    named = left.func.value if isinstance(left.func, cst.Name) else left.func.attr.value if isinstance(left.func, cst.Attribute) else ""
    if named != "F" or len(left.args) != 1 or not isinstance(left.args[0].value, cst.SimpleString):
        return None
    return value.right if left.args[0].value.evaluated_value == column else None


# -- SQLAlchemy: update(M).where(...).where(M.c >= x).values(c=M.c - x) ------------------------------


def _sqlalchemy(source: Source, call: cst.Call) -> list[Edit] | None:
    if method(call) not in _RUNS or not call.args:
        return None
    given = call.args[0].value
    statement = _assigned(source, call, given.value) if isinstance(given, cst.Name) else given
    if statement is None:
        return None
    values = next((link for link in reversed(chain(statement)) if isinstance(link, cst.Call) and method(link) == "values"), None)
    if values is None or not isinstance(values.func, cst.Attribute):
        return None
    for arg in values.args:
        value = arg.value
        if arg.keyword is not None and isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Subtract) and _names_column(value.left, arg.keyword.value):
            guard = f".where({source.module.code_for_node(value.left)} >= {source.module.code_for_node(value.right)})"
            before = source.positions[values.func.value].end
            line = source.lines[before.line - 1]
            if not line[before.column :].strip():  # the chain goes on on the next line: so does the new link
                following = source.lines[before.line] if before.line < len(source.lines) else ""
                guard = "\n" + following[: len(following) - len(following.lstrip())] + guard
            return _counted(source, call, [_after(source, values.func.value, guard)], f"not enough {arg.keyword.value}", test="{}.rowcount == 0")
    return None


def _names_column(expression: cst.BaseExpression, column: str) -> bool:
    """`Model.c`, `table.c.c`, `col(Model.c)` (sqlmodel): the column `c` itself."""
    if isinstance(expression, cst.Call) and len(expression.args) == 1:
        expression = expression.args[0].value
    return isinstance(expression, cst.Attribute) and expression.attr.value == column


def _assigned(source: Source, use: cst.CSTNode, name: str) -> cst.BaseExpression | None:
    """The one value the function assigns to `name` before `use` (None when it assigns it more than once)."""
    function = source.enclosing(use, cst.FunctionDef)
    if function is None:
        return None
    before = source.positions[use].start.line
    found = [
        node.value
        for node, where in source.positions.items()
        if isinstance(node, cst.Assign)
        and any(isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets)
        and source.holds(function, node)
    ]
    return found[0] if len(found) == 1 and source.positions[found[0]].start.line < before else None


# -- the row count decides ---------------------------------------------------------------------------


def _counted(source: Source, run: cst.Call, edits: list[Edit], why: str, test: str) -> list[Edit] | None:
    """`edits`, and the row count of `run` tested: the statement running it made an `if` that raises,
    or a test of the local keeping its result added after it. None where neither fits."""
    node: cst.CSTNode = run
    parent = source.parents.get(node)
    if isinstance(parent, cst.Await):
        node, parent = parent, source.parents.get(parent)
    statement = source.parents.get(parent) if parent is not None else None
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    where = source.positions[statement.body[0]]
    indent = source.lines[where.start.line - 1][: where.start.column]
    raising = f"{indent}    raise ValueError({why!r})"
    if isinstance(parent, cst.Expr):
        text = _text(source, node, edits)
        wrapped = test.format(f"({text})" if isinstance(node, cst.Await) and "rowcount" in test else text)
        return [Edit(where.start.line, where.start.column + 1, where.end.line, where.end.column + 1, f"if {wrapped}:\n{raising}")]
    if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
        local = parent.targets[0].target.value
        if _read_later(source, statement, local):
            return edits  # the function reads the result: its own test decides
        after = source.positions[statement].end.line + 1
        return [*edits, Edit(after, 1, after, 1, f"{indent}if {test.format(local)}:\n{raising}\n")]
    return None


def _read_later(source: Source, statement: cst.SimpleStatementLine, local: str) -> bool:
    function = source.enclosing(statement, cst.FunctionDef)
    after = source.positions[statement].end.line
    return any(
        isinstance(node, cst.Name) and node.value == local and where.start.line > after and (function is None or source.holds(function, node))
        for node, where in source.positions.items()
    )


def _after(source: Source, node: cst.CSTNode, text: str) -> Edit:
    """Insert `text` right after `node`."""
    end = source.positions[node].end
    return Edit(end.line, end.column + 1, end.line, end.column + 1, text)


def _text(source: Source, node: cst.CSTNode, edits: list[Edit]) -> str:
    """The code of `node` with `edits` (insertions inside it) made."""
    where = source.positions[node]
    lines = source.lines[where.start.line - 1 : where.end.line]
    lines[-1] = lines[-1][: where.end.column]
    lines[0] = lines[0][where.start.column :]
    shift = where.start.column
    text = "\n".join(lines)
    for edit in sorted(edits, key=lambda e: (e.line, e.column), reverse=True):
        row = edit.line - where.start.line
        column = edit.column - 1 - (shift if row == 0 else 0)
        parts = text.split("\n")
        parts[row] = parts[row][:column] + edit.content + parts[row][column:]
        text = "\n".join(parts)
    return text

