"""The declarations of a module without its code: what the index needs from a file nothing is walked in.

A models module of a framework mentions `models` on every line and queries
nothing; the index needs its classes (names, bases, field assignments, Meta)
and its imports, not its method bodies, which are most of its text. CPython's
parser, which has read every file already, says where each function is; the
skeleton keeps every line but those, and a `pass` where a method was, so
libcst parses a fraction of the file.
"""

from __future__ import annotations

import ast

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def declaration_skeleton(text: str, tree: ast.Module) -> str | None:
    """The module with functions removed and methods reduced to `pass`; None when it declares no class.

    None also when the text has line breaks CPython and `str.split` could count
    differently (a lone carriage return): the caller then parses the whole file.
    """
    if not any(isinstance(node, ast.ClassDef) for node in tree.body):
        return None
    if text.count("\r") != text.count("\r\n"):
        return None
    lines = text.split("\n")
    cuts: list[tuple[int, int, str | None]] = []  # first line, last line (0-based), replacement line
    for node in tree.body:
        if isinstance(node, FUNCTIONS):
            cuts.append((_first_line(node), (node.end_lineno or node.lineno) - 1, None))
        elif isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, FUNCTIONS):
                    indent = lines[member.lineno - 1][: member.col_offset]
                    cuts.append((_first_line(member), (member.end_lineno or member.lineno) - 1, f"{indent}pass"))
    if not cuts:
        return text
    kept: list[str] = []
    position = 0
    for first, last, replacement in cuts:
        kept += lines[position:first]
        if replacement is not None:
            kept.append(replacement)
        position = last + 1
    kept += lines[position:]
    return "\n".join(kept)


def _first_line(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The 0-based line a definition starts on, its decorators included."""
    return min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
