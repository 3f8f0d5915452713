"""Small readings and rewritings of calls that every fixer needs."""

from __future__ import annotations

import libcst as cst


def method(call: cst.Call) -> str | None:
    """`r.setnx(...)` → "setnx"; None for a call of a plain name."""
    return call.func.attr.value if isinstance(call.func, cst.Attribute) else None


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    return next((arg for arg in call.args if arg.keyword is not None and arg.keyword.value == name), None)


def with_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """The call with `name=value` added after its arguments."""
    args = list(call.args)
    if args:
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    equal = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))
    return call.with_changes(args=[*args, cst.Arg(value=value, keyword=cst.Name(name), equal=equal)])


def renamed(call: cst.Call, name: str) -> cst.Call:
    """`r.setnx(...)` as `r.set(...)`."""
    assert isinstance(call.func, cst.Attribute)
    return call.with_changes(func=call.func.with_changes(attr=cst.Name(name)))


def then(value: cst.BaseExpression, name: str) -> cst.Call:
    """`value.name()`."""
    return cst.Call(func=cst.Attribute(value=value, attr=cst.Name(name)))


def statement_call(statement: cst.SimpleStatementLine) -> cst.Call | None:
    """The call a statement consists of (`r.expire(k, 10)`, `await r.expire(k, 10)`)."""
    if len(statement.body) != 1 or not isinstance(statement.body[0], cst.Expr):
        return None
    value = statement.body[0].value
    if isinstance(value, cst.Await):
        value = value.expression
    return value if isinstance(value, cst.Call) else None


def chain(call: cst.BaseExpression) -> list[cst.BaseExpression]:
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


def attributes(links: list[cst.BaseExpression]) -> list[str]:
    return [link.attr.value for link in links if isinstance(link, cst.Attribute)]
