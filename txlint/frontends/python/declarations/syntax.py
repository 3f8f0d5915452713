"""What pass 1 reads off CPython's tree: module-level statements, dotted names, keyword arguments, literals.

Pass 1 needs the classes and imports of every file that may declare tables,
and CPython has parsed every file already (its verdict on syntax comes
first): reading its tree costs a walk, where a libcst parse of the same
declarations cost a fifth of a whole run.

Module-level statements include those inside `if`/`try` blocks: Django apps
that let a project swap a model declare it conditionally
(`if not is_model_registered("voucher", "Voucher"): class Voucher(...)`), and
modules guard imports and declarations with `try`/`except ImportError`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence


def module_statements(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements in source order, entering `if`/`else` and `try` blocks (not functions or classes)."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If):
            yield from module_statements(statement.body)
            yield from module_statements(statement.orelse)
        elif isinstance(statement, ast.Try):
            yield from module_statements(statement.body)
            for handler in statement.handlers:
                yield from module_statements(handler.body)
            yield from module_statements(statement.orelse)
            yield from module_statements(statement.finalbody)


def dotted(node: ast.expr | None) -> str | None:
    """`a.b.c` for a chain of names and attributes, None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def last_part(node: ast.expr | None) -> str:
    """The last name of a dotted name (`models.IntegerField` -> `IntegerField`), "" for anything else."""
    return (dotted(node) or "").rsplit(".", 1)[-1]


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    """The value passed as `name=...` to a call, if any."""
    return next((k.value for k in call.keywords if k.arg == name), None)


def positional(call: ast.Call | ast.ClassDef) -> list[ast.expr]:
    """The positional arguments of a call (the bases of a class), `*args` left out."""
    values = call.args if isinstance(call, ast.Call) else call.bases
    return [value for value in values if not isinstance(value, ast.Starred)]


def text(node: ast.expr | None) -> str | None:
    """The value of a string literal (implicit concatenations are one literal for CPython)."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def strings(node: ast.expr) -> list[str] | None:
    """The strings of a literal list, tuple or set of strings; None when it is anything else."""
    if not isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return None
    found = [text(element) for element in node.elts]
    return None if any(value is None for value in found) else [value for value in found if value is not None]
