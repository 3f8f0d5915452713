"""Parsing a Python file: CPython's verdict first, then libcst, unless the file cannot matter.

A syntax error is a value (`PythonSyntaxError`, TX000), never an exception;
valid code txlint cannot follow (nested too deeply for libcst) is `TooDeep`
(a notice, not a finding); a file that mentions no database, ORM, SQL or
cache API is `Irrelevant`, one that only declares tables is an `Outline`
(CPython's tree is all the index needs of it: libcst never reads it), and in
one that operates only the functions that can operate (`relevance`) are
parsed, the rest cut from the text with their lines kept (`skeleton`).
Every kind keeps CPython's tree for pass 1 (`declarations`), which the
engine drops once the file is indexed.
"""

from __future__ import annotations

import ast
import itertools
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

import libcst as cst

from txlint.core.index import TableDecl
from txlint.frontends.python.declarations import table_decls
from txlint.frontends.python.imports import ImportTable
from txlint.frontends.python.positions import LazyPositions, StatementLines
from txlint.frontends.python.prefilter import may_matter, may_operate
from txlint.frontends.python.recognisers import RECOGNISERS
from txlint.frontends.python.relevance import operating_functions
from txlint.frontends.python.skeleton import FUNCTIONS, cuttable, first_line, skeleton

# Recursion CPython's parser may use before txlint gives up on a file: about 1 500 chained
# operators. Real code stays far below (Django's source nests some 40 levels at most).
NESTING_BUDGET = 500
KNOWN_NAMES = frozenset().union(*(recogniser.names for recogniser in RECOGNISERS))
_LIBCST_POSITION = re.compile(r"error at (?P<line>\d+):(?P<column>\d+):\s*")

@dataclass(frozen=True)
class PythonSyntaxError:
    """Why libcst refused a file, with a 1-based position."""

    message: str
    line: int
    column: int


@dataclass(frozen=True)
class TooDeep:
    """Valid Python txlint cannot analyse (nested deeper than it follows, or beyond libcst's parser):
    the file is skipped with a notice. It is not a TX000: the code is not wrong."""

    why: str = "code nested too deeply to analyse (an expression of about 1 500 operators or more)"

    @property
    def reason(self) -> str:
        return f"skipped: {self.why}"


@dataclass
class ParsedPython:
    """A parsed module with the per-file facts both passes need."""

    path: str
    module: cst.Module
    imports: ImportTable
    positions: LazyPositions
    text: str = ""  # the source (not the skeleton): what cheap looks at the text check before walking a tree
    # The lines of each function at module level and method of a class at module level ("f",
    # "Cls.f"): where its calls are found in the text without resolving libcst positions.
    lines_of: dict[str, tuple[int, int]] = field(default_factory=dict)
    tree: ast.Module | None = None  # CPython's (None for syntax newer than the running Python)

    def table_decls(self) -> list[TableDecl]:
        return table_decls(self.tree, self.imports, self.path) if self.tree is not None else []


@dataclass
class Outline:
    """Valid Python that may declare tables but operates on nothing: no function of it is walked.

    A project function it imports may still do something (`shard` parses it again, keeping the
    functions that name one); until then every function counts as cut."""

    path: str
    text: str
    imports: ImportTable
    tree: ast.Module | None
    cut_lines: tuple[tuple[int, int], ...] = ()

    def table_decls(self) -> list[TableDecl]:
        return table_decls(self.tree, self.imports, self.path) if self.tree is not None else []


@dataclass
class Irrelevant:
    """Valid Python that mentions no database, ORM, SQL or cache API: nothing to analyse by itself.

    Its imports still count: a module that re-exports a project function is a link of the symbol
    table, and a project function it imports may still do something (`shard` parses it again,
    keeping the functions that name one)."""

    imports: ImportTable = field(default_factory=ImportTable)
    tree: ast.Module | None = None


@dataclass
class Planned:
    """Valid Python that operates, with what libcst is to parse decided: the whole text, or a
    skeleton keeping only the functions that can operate. `build` parses it.

    The engine plans every file in its first phase (the index needs only CPython's tree) and
    builds each one when it analyses it, dropping the tree after: the libcst trees of a large
    project are never all in memory at once."""

    path: str
    text: str
    imports: ImportTable
    tree: ast.Module | None  # CPython's (for pass 1; the engine drops it once the file is indexed)
    cpython_reads: bool  # False: syntax of a newer Python than the running one, which libcst reads
    lines_of: dict[str, tuple[int, int]] = field(default_factory=dict)
    skeleton: str | None = None  # the text with the functions that cannot operate cut, if any are
    cut_lines: tuple[tuple[int, int], ...] = ()
    skeleton_lines: StatementLines | None = None
    text_lines: StatementLines | None = None

    @property
    def cut(self) -> bool:
        return self.skeleton is not None

    def build(self) -> ParsedPython | PythonSyntaxError | TooDeep:
        """The libcst tree: of the skeleton, else (it does not parse) of the whole text, whose
        errors are then reported as they are."""
        if self.skeleton is not None:
            try:
                module = cst.parse_module(self.skeleton)
            except (cst.ParserSyntaxError, cst.CSTValidationError, RecursionError, MemoryError):
                self.skeleton, self.cut_lines = None, ()
            else:
                positions = LazyPositions(module, self.skeleton_lines)
                return ParsedPython(self.path, module, self.imports, positions, self.text, self.lines_of, tree=self.tree)
        try:
            module = cst.parse_module(self.text)
        except cst.ParserSyntaxError as error:
            if self.cpython_reads:  # a limit of libcst's parser, not an error in the code
                return TooDeep(f"libcst cannot parse this file, which Python itself reads ({_libcst_message(error)})")
            return _syntax_error(self.text, error)
        except cst.CSTValidationError as error:  # a node libcst built but refuses (`Name` not an identifier)
            if self.cpython_reads:
                return TooDeep(f"libcst cannot parse this file, which Python itself reads ({error})")
            return _cpython_syntax_error(self.text) or PythonSyntaxError(str(error), 1, 1)
        except (RecursionError, MemoryError):
            return TooDeep() if self.cpython_reads else PythonSyntaxError("code nested too deeply to analyse", 1, 1)
        if self.text_lines is None:  # syntax of a Python newer than 3.12: no tree of CPython's to read lines off
            return ParsedPython(self.path, module, ImportTable.of_module(module), LazyPositions(module), self.text)
        return ParsedPython(self.path, module, self.imports, LazyPositions(module, self.text_lines), self.text, self.lines_of, tree=self.tree)


def parse(path: str, text: str, words: Sequence[str] = ()) -> ParsedPython | PythonSyntaxError | TooDeep | Outline | Irrelevant:
    """Parse source text; a syntax error is a value, not an exception (`plan`, then `Planned.build`)."""
    planned = plan(path, text, words)
    return planned.build() if isinstance(planned, Planned) else planned


def plan(path: str, text: str, words: Sequence[str] = ()) -> Planned | PythonSyntaxError | TooDeep | Outline | Irrelevant:
    """CPython's verdict on the text and what the file is to txlint, without a libcst parse.

    `words` are names that make code operate beyond what the recognisers
    know: the last parts of the configured lock functions, and project
    functions whose summaries say something."""
    tree = _cpython_reads(text)
    cpython_reads = isinstance(tree, ast.Module)
    if isinstance(tree, PythonSyntaxError):
        newer = _libcst_reads(text, tree)
        if newer is None:
            return tree
        tree = _without_type_parameters(newer) or tree
    if isinstance(tree, TooDeep):
        return tree  # libcst's native parser can crash outright on what CPython refuses for depth
    mentioned = [word for word in words if word and word in text]
    if not may_matter(text) and not mentioned:
        return Irrelevant(ImportTable.of_tree(tree), tree) if isinstance(tree, ast.Module) else Irrelevant()
    if isinstance(tree, ast.Module) and _long_boolean_chain(text, tree):
        return TooDeep()
    operates = may_operate(text) or bool(mentioned)
    if not isinstance(tree, ast.Module):  # syntax of a Python newer than 3.12: no tree to read declarations off
        return Planned(path, text, ImportTable(), None, cpython_reads) if operates else Irrelevant()
    imports = ImportTable.of_tree(tree)
    if not operates:
        cut_lines = _cut_lines(tree, lambda function: False)
        return Outline(path, text, imports, tree, cut_lines) if _declares_classes(tree.body) else Irrelevant(imports, tree)
    planned = Planned(path, text, imports, tree, cpython_reads, _function_lines(tree), text_lines=_statement_lines(tree))
    keep = operating_functions(text, tree, KNOWN_NAMES, mentioned)
    cut = skeleton(text, tree, keep.__contains__)
    if cut is not None and cut is not text:
        planned.skeleton = cut
        planned.cut_lines = _cut_lines(tree, keep.__contains__)
        planned.skeleton_lines = _statement_lines(tree, keep.__contains__)
    return planned


class _DropTypeParameters(cst.CSTTransformer):
    """PEP 695 syntax out of a module: `class A[T]` and `def f[T]` lose their parameters, `type X = ...` becomes `pass`."""

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        return updated.with_changes(type_parameters=None)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        return updated.with_changes(type_parameters=None)

    def leave_TypeAlias(self, original: cst.TypeAlias, updated: cst.TypeAlias) -> cst.Pass:
        return cst.Pass()


def _without_type_parameters(module: cst.Module) -> ast.Module | None:
    """CPython's tree of a module written for a newer Python than the running one, its type
    parameters dropped (what is read off the tree, classes, imports and the lines of functions,
    does not change): None when CPython still refuses it."""
    try:
        return _ast_parse(module.visit(_DropTypeParameters()).code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


# `a and b and ...` is one node for CPython, whose nesting check therefore passes it, but a chain
# of nested nodes for libcst, and txlint's walk follows it one level at a time: the same limit as
# for a chain of binary operators.
BOOLEAN_CHAIN_LIMIT = 1500
_BOOLEAN_WORD = re.compile(r"\b(?:and|or)\b")


def _long_boolean_chain(text: str, tree: ast.Module) -> bool:
    """Whether a boolean operation chains more operands than txlint follows (the text is counted
    first, so only a file with that many `and`/`or` words at all has its tree walked)."""
    words = _BOOLEAN_WORD.finditer(text)
    if next(itertools.islice(words, BOOLEAN_CHAIN_LIMIT, None), None) is None:
        return False
    return any(isinstance(node, ast.BoolOp) and len(node.values) > BOOLEAN_CHAIN_LIMIT for node in ast.walk(tree))


def _statement_lines(tree: ast.Module, kept: Callable[[ast.stmt], bool] = lambda statement: True) -> StatementLines:
    """Where each statement libcst reads starts (`LazyPositions`): at module level a function the
    skeleton cut is not one, in a class it is the `pass` on its `def` line; simple statements
    sharing a line (`a = 1; b = 2`) are one."""
    module: list[int] = []
    members: dict[int, tuple[int, ...]] = {}
    for statement in tree.body:
        if isinstance(statement, FUNCTIONS) and not kept(statement):
            continue
        if _add_line(module, first_line(statement) + 1) and isinstance(statement, ast.ClassDef):
            found: list[int] = []
            for member in statement.body:
                cut = isinstance(member, FUNCTIONS) and not kept(member)
                _add_line(found, member.lineno if cut else first_line(member) + 1)
            members[len(module) - 1] = tuple(found)
    return StatementLines(tuple(module), members)


def _add_line(lines: list[int], first: int) -> bool:
    """Add a statement's first line, unless it shares the last one (`a = 1; b = 2`)."""
    if lines and lines[-1] == first:
        return False
    lines.append(first)
    return True


def _cut_lines(tree: ast.Module, kept: Callable[[ast.stmt], bool]) -> tuple[tuple[int, int], ...]:
    """The lines (from the `def`) of the functions `cuttable` gives that are not kept."""
    return tuple((f.lineno, f.end_lineno or f.lineno) for f, _ in cuttable(tree) if not kept(f))


def function_lines(text: str) -> dict[str, tuple[int, int]]:
    """`ParsedPython.lines_of` for a module parsed elsewhere (its text read by CPython's parser)."""
    try:
        return _function_lines(_ast_parse(text))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}


def _function_lines(tree: ast.Module | PythonSyntaxError | TooDeep) -> dict[str, tuple[int, int]]:
    if not isinstance(tree, ast.Module):
        return {}
    found: dict[str, tuple[int, int]] = {}
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[statement.name] = (statement.lineno, statement.end_lineno or statement.lineno)
        elif isinstance(statement, ast.ClassDef):
            for member in statement.body:
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found[f"{statement.name}.{member.name}"] = (member.lineno, member.end_lineno or member.lineno)
    return found


def _declares_classes(body: list[ast.stmt]) -> bool:
    """A class at module level, also inside `if`/`try` blocks (a swappable model, an import fallback)."""
    for statement in body:
        if isinstance(statement, ast.ClassDef):
            return True
        if isinstance(statement, (ast.If, ast.Try)):
            parts = [statement.body, statement.orelse, *(h.body for h in getattr(statement, "handlers", [])), getattr(statement, "finalbody", [])]
            if any(_declares_classes(part) for part in parts):
                return True
    return False


def _cpython_reads(text: str) -> ast.Module | PythonSyntaxError | TooDeep:
    """CPython's verdict first: its tree, or a syntax error with its exact position, or nesting
    deeper than txlint analyses. CPython's parser counts its own recursion against the recursion
    limit, so a lowered limit makes it refuse deep trees in C, without a walk over the tree in Python."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + NESTING_BUDGET)
    try:
        return _ast_parse(text)
    except SyntaxError as error:
        return PythonSyntaxError(error.msg, error.lineno or 1, error.offset or 1)
    except RecursionError:
        return TooDeep()
    except MemoryError:
        return PythonSyntaxError("code nested too deeply for Python's own parser", 1, 1)
    except ValueError as error:  # source with NUL bytes
        return PythonSyntaxError(str(error), 1, 1)
    finally:
        sys.setrecursionlimit(previous)


def _ast_parse(text: str) -> ast.Module:
    """`ast.parse` without its warnings: CPython warns about the code it reads (an invalid escape
    like `"\\d"`, `assert (x, msg)`), and Python 3.12 prints those on stderr, named `<unknown>`;
    txlint prints only through its CLI, and only about what it checks."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text)


def _libcst_reads(text: str, refused: PythonSyntaxError) -> cst.Module | None:
    """Syntax newer than the running Python (PEP 695 generics on 3.11) that libcst's grammar reads.

    Never for nesting CPython refuses: that is where libcst's native parser can crash."""
    if "nested" in refused.message:
        return None
    try:
        return cst.parse_module(text)
    except (cst.ParserSyntaxError, cst.CSTValidationError, RecursionError, MemoryError):
        return None  # a node libcst's parser built but will not accept (an identifier Python refuses) too


def _stack_depth() -> int:
    frame: FrameType | None = sys._getframe()
    depth = 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def _libcst_message(error: cst.ParserSyntaxError) -> str:
    """libcst's message without the position and prefix its native parser puts into it."""
    return _LIBCST_POSITION.sub("", error.message).removeprefix("parser error: ").strip() or error.message


def _cpython_syntax_error(text: str) -> PythonSyntaxError | None:
    """CPython's own complaint about the text, if it has one."""
    try:
        _ast_parse(text)
    except SyntaxError as cpython:
        return PythonSyntaxError(cpython.msg, cpython.lineno or 1, cpython.offset or 1)
    except (RecursionError, MemoryError, ValueError):
        pass
    return None


def _syntax_error(text: str, error: cst.ParserSyntaxError) -> PythonSyntaxError:
    """The parse error with CPython's wording and position when CPython agrees, else libcst's.

    libcst's native parser puts the position in its message and reports column 0
    in its attributes, so CPython's `SyntaxError` (exact, 1-based) is preferred.
    """
    refused = _cpython_syntax_error(text)
    if refused is not None:
        return refused
    found = _LIBCST_POSITION.search(error.message)
    message = _libcst_message(error)
    if found:
        return PythonSyntaxError(message, int(found["line"]), int(found["column"]))
    return PythonSyntaxError(message, error.raw_line, error.raw_column + 1)
