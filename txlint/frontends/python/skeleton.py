"""A module with some of its functions cut out, for libcst to parse a fraction of the file.

libcst's parse is the expensive part of a run, and most functions of most
modules do nothing txlint looks at. CPython's parser, which has read every
file already, says where each function is; a skeleton keeps every line of
the module but those of the functions it cuts, which become blank lines (a
`pass` where a method was, so that a class is never left empty). Every line
that stays keeps its number and its columns, so positions in the skeleton
are positions in the file.

A skeleton keeps the functions that can operate of a module that does
(`relevance`); a module that operates on nothing is not parsed by libcst at
all (`parsing.Outline`).

Only functions at module level and methods of classes at module level are
cut; a function anywhere else stays with what contains it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
Function = ast.FunctionDef | ast.AsyncFunctionDef


def skeleton(text: str, tree: ast.Module, keep: Callable[[Function], bool]) -> str | None:
    """The module with the functions `keep` refuses cut, every other line where it was.

    The text itself when nothing is cut; None when the text has line breaks
    CPython and `str.split` could count differently (a lone carriage return):
    the caller then parses the whole file.
    """
    if text.count("\r") != text.count("\r\n"):
        return None
    lines = text.split("\n")
    cuts = [(function, method) for function, method in cuttable(tree) if not keep(function)]
    if not cuts:
        return text
    for function, method in cuts:
        first, last = first_line(function), (function.end_lineno or function.lineno) - 1
        ending = "\r" if lines[last].endswith("\r") else ""
        indent = lines[function.lineno - 1][: function.col_offset]
        for number in range(first, last + 1):
            lines[number] = ending
        if method:
            lines[function.lineno - 1] = f"{indent}pass{ending}"
    return "\n".join(lines)


def cuttable(tree: ast.Module) -> Iterator[tuple[Function, bool]]:
    """Functions at module level (False) and methods of classes at module level (True), in source order."""
    for node in tree.body:
        if isinstance(node, FUNCTIONS):
            yield node, False
        elif isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, FUNCTIONS):
                    yield member, True


def first_line(node: ast.stmt) -> int:
    """The 0-based line a statement starts on, a definition's decorators included."""
    decorators = node.decorator_list if isinstance(node, (*FUNCTIONS, ast.ClassDef)) else []
    return min([node.lineno, *(d.lineno for d in decorators)]) - 1
