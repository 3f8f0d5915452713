"""SQL held in Python expressions, and the statements it runs: shared by every recogniser that meets SQL.

`sql_text` reads the SQL an expression holds when it is fixed (literals,
concatenations, constants, variables bound to a constant, f-strings whose
holes are plain names or a call naming a table, `{db.table("t")}`);
`parameters` binds a statement's placeholders to the IR values of the Python
expressions passed with it; `statements` parses the text (through
`txlint.sql`, the dialect from the configuration).
"""

from __future__ import annotations

import libcst as cst

from txlint.core.ir import Value as IRValue
from txlint.core.ir import ValueKind
from txlint.frontends.python.imports import dotted_name
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.values import Data
from txlint.frontends.python.literals import string_value
from txlint.sql import facts as sqlfacts
from txlint.sql import parse_statements
from txlint.sql.to_ir import Resolver


def sql_text(ctx: Context, node: cst.BaseExpression) -> str | None:
    """The SQL an expression holds, when it is fixed; an f-string hole that is a plain name becomes an identifier."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        if isinstance(node, cst.ConcatenatedString) and (
            isinstance(node.left, cst.FormattedString) or isinstance(node.right, cst.FormattedString)
        ):
            left = sql_text(ctx, node.left) if isinstance(node.left, cst.BaseExpression) else None
            right = sql_text(ctx, node.right)
            return left + right if left is not None and right is not None else None
        literal = string_value(node)
        return literal if isinstance(literal, str) else None
    if isinstance(node, cst.FormattedString):
        parts = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
            elif isinstance(part, cst.FormattedStringExpression) and part.format_spec is None and part.conversion is None:
                hole = _hole(part.expression)
                if hole is None:
                    return None
                parts.append(hole)
            else:
                return None
        return "".join(parts)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left, right = sql_text(ctx, node.left), sql_text(ctx, node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, cst.Name):
        value = ctx.lookup(node.value)
        if value is None:
            return ctx.file.constants.get(node.value)
        return value.text if isinstance(value, Data) else None
    return None


def _hole(node: cst.BaseExpression) -> str | None:
    """The identifier an f-string hole stands for when it is the same text every time it runs: a plain
    name (`{table}`), or a call of a plain name with one string literal, the name of a table it
    qualifies (`{db.table_with_schema("promises")}`: the table `promises` in the configured schema)."""
    if isinstance(node, (cst.Name, cst.Attribute)):
        return "txlint_hole_" + "_".join((dotted_name(node) or "x").split("."))
    if isinstance(node, cst.Call) and dotted_name(node.func) is not None and len(node.args) == 1:
        (arg,) = node.args
        name = string_value(arg.value) if arg.keyword is None and not arg.star and isinstance(arg.value, cst.SimpleString) else None
        if isinstance(name, str) and name.replace("_", "").isalnum():
            return name
    return None


def parameters(ctx: Context, params: cst.BaseExpression | None) -> Resolver:
    """Placeholder key → the IR value of the Python expression bound to it (a tuple, list or dict literal)."""
    values: dict[sqlfacts.PlaceholderKey, IRValue] = {}
    if isinstance(params, (cst.Tuple, cst.List)):
        for position, element in enumerate(params.elements):
            values[position] = ctx.value_of(element.value)
    elif isinstance(params, cst.Dict):
        for entry in params.elements:
            if isinstance(entry, cst.DictElement) and isinstance(entry.key, cst.SimpleString):
                name = string_value(entry.key)
                if isinstance(name, str):
                    values[name] = ctx.value_of(entry.value)
    elif params is not None:
        ctx.eval(params)
    return lambda key: values.get(key, IRValue(ValueKind.UNKNOWN))


def statements(ctx: Context, sql: str) -> tuple[sqlfacts.Statement, ...]:
    """The statements of a SQL text in the configured dialect (none when it does not parse)."""
    parsed = parse_statements(sql, ctx.file.config.sql_dialect)
    return () if isinstance(parsed, sqlfacts.SqlError) else parsed
