"""Fixes of the lock rules for Redis and cache clients: a take and its expiry in one command.

`setnx(k, v)` answers True or False; `set(k, v, nx=True, ex=...)` answers True
or None. The two agree wherever the answer is only tested for truth, so a take
is rewritten only where it stands as a statement of its own or as the whole
test of an `if` (`if r.setnx(...)`, `if not r.setnx(...)`): never where its
value is compared, stored or returned.
"""

from __future__ import annotations

import libcst as cst

from txlint.core.ftypes import Applicability, Finding, Fix
from txlint.fixes.calls import keyword, method, renamed, statement_call, with_keyword
from txlint.fixes.source import Source

# The TTL the unsafe fix of TX202 proposes: a choice the user must review.
DEFAULT_TTL_SECONDS = 60
_EXPIRIES = {"expire": "ex", "pexpire": "px"}
_TTL_KEYWORDS = ("ex", "px", "exat", "pxat", "keepttl")


def atomic_take(source: Source, finding: Finding) -> Fix | None:
    """TX201: `setnx` (or `set(nx=True)`) then `expire` → one `set(key, value, nx=True, ex=ttl)`."""
    takes = [c for c in source.calls_at(finding.line, finding.column) if method(c) in {"setnx", "set"}]
    if not takes or not finding.related:
        return None
    take = takes[0]
    related = finding.related[0]
    expiry = next((c for c in source.calls_at(related.line, related.column) if method(c) in _EXPIRIES), None)
    if expiry is None or len(expiry.args) != 2 or any(arg.keyword is not None or arg.star for arg in expiry.args):
        return None
    statement = source.statement_of(expiry)
    if statement is None or statement_call(statement) is not expiry or not _right_after(source, take, statement):
        return None
    if any(keyword(take, k) for k in _TTL_KEYWORDS) or len(take.args) < 2 or not source.one_line(take):
        return None
    unit = _EXPIRIES[method(expiry) or ""]
    ttl = expiry.args[1].value
    new = with_keyword(with_keyword(renamed(take, "set"), "nx", cst.Name("True")), unit, ttl) if method(take) == "setnx" else with_keyword(take, unit, ttl)
    removal = source.remove_line(statement)
    if removal is None:
        return None
    return Fix(f"take the key and give it its expiry in one command (`set(..., nx=True, {unit}=...)`)", Applicability.SAFE, (source.replace(take, new), removal))


def expiring_take(source: Source, finding: Finding) -> Fix | None:
    """TX202 (unsafe): the take gets an expiry of `DEFAULT_TTL_SECONDS`."""
    ttl = cst.Integer(str(DEFAULT_TTL_SECONDS))
    for call in source.calls_at(finding.line, finding.column):
        if not source.one_line(call):
            continue
        name = method(call)
        if name == "setnx" and len(call.args) == 2 and _tested_only(source, call):
            new = with_keyword(with_keyword(renamed(call, "set"), "nx", cst.Name("True")), "ex", ttl)
        elif name == "set" and keyword(call, "nx") is not None and not any(keyword(call, k) for k in _TTL_KEYWORDS):
            new = with_keyword(call, "ex", ttl)
        elif name == "add" and (timeout := keyword(call, "timeout")) is not None and isinstance(timeout.value, cst.Name) and timeout.value.value == "None":
            new = call.with_changes(args=[arg.with_changes(value=ttl) if arg is timeout else arg for arg in call.args])
        else:
            continue
        message = f"give the key an expiry when it is taken ({DEFAULT_TTL_SECONDS} s: choose the longest the work may take)"
        return Fix(message, Applicability.UNSAFE, (source.replace(call, new),))
    return None


def _tested_only(source: Source, take: cst.Call) -> bool:
    """The take's answer is discarded or only tested for truth (`x`, `await x`, `not x` as an `if` test)."""
    node: cst.CSTNode = take
    parent = source.parents.get(node)
    if isinstance(parent, cst.Await):
        node, parent = parent, source.parents.get(parent)
    if isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not):
        node, parent = parent, source.parents.get(parent)
    if isinstance(parent, cst.If):
        return parent.test is node
    return isinstance(parent, cst.Expr)


def _right_after(source: Source, take: cst.Call, statement: cst.SimpleStatementLine) -> bool:
    """The expiry runs right after the take succeeded, and the take's answer is only tested for truth:
    `take` then the expiry; `if take:` with the expiry first in its block; `if not take: return`
    (or raise), then the expiry."""
    if not _tested_only(source, take):
        return False
    block = source.parents.get(statement)
    if not isinstance(block, (cst.IndentedBlock, cst.Module)):
        return False
    body: list[cst.CSTNode] = list(block.body)
    taking: cst.CSTNode | None = source.statement_of(take)
    guard = source.enclosing(take, cst.If)
    if taking is None and isinstance(guard, cst.If) and _negated(guard.test):
        if guard.orelse is not None or not _leaves(guard.body):
            return False
        taking = guard
    if taking is not None and taking in body:
        return body.index(taking) + 1 == body.index(statement)
    branch = source.parents.get(block)
    return isinstance(branch, cst.If) and branch is guard and block.body[0] is statement and not _negated(branch.test)


def _leaves(block: cst.BaseSuite) -> bool:
    """The block ends by leaving the function (`return`, `raise`)."""
    if not isinstance(block, cst.IndentedBlock) or not block.body:
        return False
    last = block.body[-1]
    return isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], (cst.Return, cst.Raise))


def _negated(test: cst.BaseExpression) -> bool:
    return isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)
