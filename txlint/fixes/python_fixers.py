"""How Python code writes the repair of a finding, per rule: library knowledge, kept out of the rules.

Each fixer finds the code a finding points at (the call at its span, or at a
related location) in the libcst tree of the file and returns the edits of a
repair, or None when the code is not a shape it knows. A fixer never needs to
be sure the repair is complete: `apply` keeps a fix only when the file then
re-analyses without the finding and with nothing new.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, ParentNodeProvider, PositionProvider

from txlint.core.ftypes import Applicability, Edit, Finding, Fix

# A TTL the unsafe fix of TX202 proposes: the value is a choice the user must review.
DEFAULT_TTL_SECONDS = 60
_EXPIRIES = {"expire": "ex", "pexpire": "px"}


@dataclass
class Source:
    """A parsed file and where each of its nodes is."""

    module: cst.Module
    positions: dict[cst.CSTNode, CodeRange]
    parents: dict[cst.CSTNode, cst.CSTNode]
    lines: list[str]

    @classmethod
    def parse(cls, text: str) -> Source | None:
        try:
            wrapper = MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)
            positions = dict(wrapper.resolve(PositionProvider))
            parents = dict(wrapper.resolve(ParentNodeProvider))
        except Exception:  # noqa: BLE001 - libcst's syntax errors and internal errors alike: no fix
            return None
        return cls(wrapper.module, positions, parents, text.split("\n"))

    def calls_at(self, line: int, column: int) -> list[cst.Call]:
        """The calls starting at (line, column), 1-based, outermost first."""
        found = [
            node
            for node, where in self.positions.items()
            if isinstance(node, cst.Call) and where.start.line == line and where.start.column == column - 1
        ]
        return sorted(found, key=lambda node: -self._length(node))

    def _length(self, node: cst.CSTNode) -> int:
        where = self.positions[node]
        return (where.end.line - where.start.line) * 100_000 + where.end.column - where.start.column

    def replace(self, node: cst.CSTNode, new: cst.CSTNode) -> Edit:
        where = self.positions[node]
        return Edit(where.start.line, where.start.column + 1, where.end.line, where.end.column + 1, self.module.code_for_node(new))

    def statement_of(self, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
        current: cst.CSTNode | None = node
        while current is not None and not isinstance(current, cst.SimpleStatementLine):
            current = self.parents.get(current)
        return current

    def remove_line(self, statement: cst.SimpleStatementLine) -> Edit | None:
        """Delete a statement on lines of its own; `pass` where it is its block's only statement."""
        block = self.parents.get(statement)
        if not isinstance(block, (cst.IndentedBlock, cst.Module)):
            return None
        where = self.positions[statement]
        if len(block.body) == 1 and isinstance(block, cst.IndentedBlock):
            indent = self.lines[where.start.line - 1][: where.start.column]
            return Edit(where.start.line, 1, where.end.line + 1, 1, f"{indent}pass\n")
        return Edit(where.start.line, 1, where.end.line + 1, 1, "")


def _method(call: cst.Call) -> str | None:
    return call.func.attr.value if isinstance(call.func, cst.Attribute) else None


def _keyword(call: cst.Call, name: str) -> cst.Arg | None:
    return next((arg for arg in call.args if arg.keyword is not None and arg.keyword.value == name), None)


def _with_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    args = list(call.args)
    if args:
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return call.with_changes(args=[*args, cst.Arg(value=value, keyword=cst.Name(name), equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))])


def _statement_calls(statement: cst.SimpleStatementLine) -> cst.Call | None:
    """The call a statement consists of (`r.expire(k, 10)`, `await r.expire(k, 10)`)."""
    if len(statement.body) != 1 or not isinstance(statement.body[0], cst.Expr):
        return None
    value = statement.body[0].value
    if isinstance(value, cst.Await):
        value = value.expression
    return value if isinstance(value, cst.Call) else None


# -- TX201: take and expiry in one command ---------------------------------------------------------


def _atomic_take(source: Source, finding: Finding) -> Fix | None:
    takes = [c for c in source.calls_at(finding.line, finding.column) if _method(c) in {"setnx", "set"}]
    if not takes or not finding.related:
        return None
    take = takes[0]
    expiry = next((c for c in source.calls_at(finding.related[0].line, finding.related[0].column) if _method(c) in _EXPIRIES), None)
    if expiry is None or len(expiry.args) != 2 or any(arg.keyword is not None for arg in expiry.args):
        return None
    statement = source.statement_of(expiry)
    if statement is None or _statement_calls(statement) is not expiry or not _right_after(source, take, statement):
        return None
    if _keyword(take, "ex") is not None or _keyword(take, "px") is not None or len(take.args) < 2:
        return None
    unit = _EXPIRIES[_method(expiry) or ""]
    ttl = expiry.args[1].value
    assert isinstance(take.func, cst.Attribute)
    if _method(take) == "setnx":
        new = take.with_changes(func=take.func.with_changes(attr=cst.Name("set")))
        new = _with_keyword(_with_keyword(new, "nx", cst.Name("True")), unit, ttl)
    else:
        new = _with_keyword(take, unit, ttl)
    removal = source.remove_line(statement)
    if removal is None:
        return None
    return Fix(f"take the key and give it its expiry in one command (`set(..., nx=True, {unit}=...)`)", Applicability.SAFE, (source.replace(take, new), removal))


def _right_after(source: Source, take: cst.Call, statement: cst.SimpleStatementLine) -> bool:
    """The expiry runs right after the take succeeds: the next statement of the take's block, or the
    first of the `if` block the take's result decides."""
    taking: cst.CSTNode | None = source.statement_of(take)
    block = source.parents.get(statement)
    if not isinstance(block, (cst.IndentedBlock, cst.Module)):
        return False
    body: list[cst.CSTNode] = list(block.body)
    if taking is None:  # `if not r.setnx(k, v): return`, then the expiry: it runs when the take succeeded
        guard = source.parents.get(take)
        while guard is not None and not isinstance(guard, cst.If):
            guard = source.parents.get(guard)
        if isinstance(guard, cst.If) and guard.orelse is None and _negated(guard.test) and _holds(source, guard.test, take) and _leaves(guard.body):
            taking = guard
    if taking is not None and taking in body:
        return body.index(taking) + 1 == body.index(statement)
    if not isinstance(block, cst.IndentedBlock):
        return False
    branch = source.parents.get(block)
    if isinstance(branch, cst.If) and block.body[0] is statement and not _negated(branch.test):
        return _holds(source, branch.test, take)
    return False


def _leaves(block: cst.BaseSuite) -> bool:
    """The block ends by leaving the function (`return`, `raise`)."""
    if not isinstance(block, cst.IndentedBlock) or not block.body:
        return False
    last = block.body[-1]
    return isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], (cst.Return, cst.Raise))


def _negated(test: cst.BaseExpression) -> bool:
    return isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)


def _holds(source: Source, outer: cst.CSTNode, inner: cst.CSTNode) -> bool:
    current: cst.CSTNode | None = inner
    while current is not None:
        if current is outer:
            return True
        current = source.parents.get(current)
    return False


# -- TX202: an expiry for a take that has none (unsafe: the value is a choice) ---------------------


def _expiring_take(source: Source, finding: Finding) -> Fix | None:
    calls = source.calls_at(finding.line, finding.column)
    ttl = cst.Integer(str(DEFAULT_TTL_SECONDS))
    for call in calls:
        method = _method(call)
        assert method is None or isinstance(call.func, cst.Attribute)
        if method == "setnx" and len(call.args) == 2 and isinstance(call.func, cst.Attribute):
            new = _with_keyword(_with_keyword(call.with_changes(func=call.func.with_changes(attr=cst.Name("set"))), "nx", cst.Name("True")), "ex", ttl)
        elif method == "set" and _keyword(call, "nx") is not None and not any(_keyword(call, k) for k in ("ex", "px", "exat", "pxat", "keepttl")):
            new = _with_keyword(call, "ex", ttl)
        elif method == "add" and (timeout := _keyword(call, "timeout")) is not None and isinstance(timeout.value, cst.Name) and timeout.value.value == "None":
            new = call.with_changes(args=[arg.with_changes(value=ttl) if arg is timeout else arg for arg in call.args])
        else:
            continue
        return Fix(f"give the key an expiry when it is taken ({DEFAULT_TTL_SECONDS} s: choose the longest the work may take)", Applicability.UNSAFE, (source.replace(call, new),))
    return None


# -- TX110: evaluate the locking query ---------------------------------------------------------------


def _evaluated_lock(source: Source, finding: Finding) -> Fix | None:
    for call in source.calls_at(finding.line, finding.column):
        statement = source.statement_of(call)
        if statement is not None and _statement_calls(statement) is call and isinstance(statement.body[0], cst.Expr) and statement.body[0].value is call:
            new = cst.Call(func=cst.Name("list"), args=[cst.Arg(call)])
            return Fix("evaluate the query (`list(...)`) so that its rows are locked", Applicability.SAFE, (source.replace(call, new),))
    return None


# -- TX111: save only the fields this function assigned (unsafe) -------------------------------------


def _fields_saved(source: Source, finding: Finding) -> Fix | None:
    saves = [c for c in source.calls_at(finding.line, finding.column) if _method(c) == "save" and not c.args]
    if not saves:
        return None
    save = saves[0]
    assert isinstance(save.func, cst.Attribute)
    row = save.func.value
    if not isinstance(row, cst.Name):
        return None
    function = source.parents.get(save)
    while function is not None and not isinstance(function, cst.FunctionDef):
        function = source.parents.get(function)
    if function is None:
        return None
    before = source.positions[save].start.line
    fields: list[str] = []
    for node, where in source.positions.items():
        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if (
                isinstance(target, cst.Attribute)
                and isinstance(target.value, cst.Name)
                and target.value.value == row.value
                and where.start.line < before
                and _holds(source, function, node)
                and target.attr.value not in fields
            ):
                fields.append(target.attr.value)
    if not fields:
        return None
    listed = cst.parse_expression("[" + ", ".join(repr(name) for name in fields) + "]")
    new = save.with_changes(args=[cst.Arg(value=listed, keyword=cst.Name("update_fields"), equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))])
    return Fix(
        f"save only the fields this function assigned ({', '.join(fields)})",
        Applicability.UNSAFE,
        (source.replace(save, new),),
    )


# -- TX101: lock the row where it is read (unsafe: takes a lock) --------------------------------------


def _locked_read(source: Source, finding: Finding) -> Fix | None:
    reads = [r for r in finding.related if r.path == finding.path and "read" in r.message]
    for read in reads:
        for call in source.calls_at(read.line, read.column):
            edit = _lock_django(source, call) or _lock_sqlalchemy(source, call)
            if edit is not None:
                return Fix("lock the row where it is read (`select_for_update()` / `with_for_update`)", Applicability.UNSAFE, (edit,))
    return None


def _chain(call: cst.BaseExpression) -> list[cst.BaseExpression]:
    """`a.b().c()` as its links, innermost first: [a, a.b, a.b(), a.b().c, a.b().c()]."""
    links: list[cst.BaseExpression] = []
    node: cst.BaseExpression | None = call
    while node is not None:
        links.append(node)
        if isinstance(node, cst.Call):
            node = node.func
        elif isinstance(node, cst.Attribute):
            node = node.value
        else:
            node = None
    return links[::-1]


def _in_atomic(source: Source, node: cst.CSTNode) -> bool:
    """Inside `with transaction.atomic():` or a function decorated `@transaction.atomic`: Django
    refuses `select_for_update()` outside a transaction, so the fix is offered only inside one."""
    current = source.parents.get(node)
    while current is not None:
        if isinstance(current, cst.With) and any("atomic" in source.module.code_for_node(item.item) for item in current.items):
            return True
        if isinstance(current, cst.FunctionDef) and any("atomic" in source.module.code_for_node(d.decorator) for d in current.decorators):
            return True
        current = source.parents.get(current)
    return False


def _lock_django(source: Source, call: cst.Call) -> Edit | None:
    links = _chain(call)
    names = [link.attr.value for link in links if isinstance(link, cst.Attribute)]
    if "select_for_update" in names or not _in_atomic(source, call):
        return None
    manager = next((link for link in links if isinstance(link, cst.Attribute) and link.attr.value == "objects"), None)
    if manager is not None:
        locked = cst.Call(func=cst.Attribute(value=manager, attr=cst.Name("select_for_update")))
        return source.replace(manager, locked)
    if isinstance(call.func, cst.Name) and call.func.value in {"get_object_or_404", "get_list_or_404"} and call.args:
        model = call.args[0].value
        if isinstance(model, (cst.Name, cst.Attribute)):
            locked = cst.Call(func=cst.Attribute(value=cst.Attribute(value=model, attr=cst.Name("objects")), attr=cst.Name("select_for_update")))
            return source.replace(model, locked)
    return None


def _lock_sqlalchemy(source: Source, call: cst.Call) -> Edit | None:
    links = _chain(call)
    names = [link.attr.value for link in links if isinstance(link, cst.Attribute)]
    if "with_for_update" in names or _keyword(call, "with_for_update") is not None:
        return None
    if _method(call) == "get" and len([a for a in call.args if a.keyword is None]) == 2 and "objects" not in names:
        return source.replace(call, _with_keyword(call, "with_for_update", cst.Name("True")))
    query = next((link for link in links if isinstance(link, cst.Attribute) and link.attr.value == "query"), None)
    if query is not None:
        return source.replace(query, cst.Call(func=cst.Attribute(value=query, attr=cst.Name("with_for_update"))))
    selects = [node for node in source.positions if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "select" and _holds(source, call, node)]
    if len(selects) == 1:
        top: cst.CSTNode = selects[0]
        while True:
            parent = source.parents.get(top)
            grand = source.parents.get(parent) if parent is not None else None
            if isinstance(parent, cst.Attribute) and parent.value is top and isinstance(grand, cst.Call) and grand.func is parent:
                top = grand
            else:
                break
        assert isinstance(top, cst.BaseExpression)
        return source.replace(top, cst.Call(func=cst.Attribute(value=top, attr=cst.Name("with_for_update"))))
    return None


FIXERS: dict[str, Callable[[Source, Finding], Fix | None]] = {
    "TX101": _locked_read,
    "TX110": _evaluated_lock,
    "TX111": _fields_saved,
    "TX201": _atomic_take,
    "TX202": _expiring_take,
}
