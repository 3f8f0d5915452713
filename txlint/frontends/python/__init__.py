"""The Python front-end: parse with libcst, summarise for the index, walk every function.

`parse` is separate from `analyse` so the engine can build the project index
from every file's summary (pass 1) before any function is judged (pass 2).
"""

from __future__ import annotations

import ast
import itertools
import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from txlint.core.config import Config
from txlint.core.index import ProjectIndex, TableDecl
from txlint.core.ir import ModuleIR
from txlint.frontends.python import cache, dbapi, django, sqlalchemy
from txlint.frontends.python.declaration_skeleton import declaration_skeleton
from txlint.frontends.python.imports import ImportTable
from txlint.frontends.python.positions import LazyPositions
from txlint.frontends.python.prefilter import may_matter, may_operate
from txlint.frontends.python.walker import FileContext, FunctionWalker, Recogniser

# Recursion CPython's parser may use before txlint gives up on a file: about 1 500 chained
# operators. Real code stays far below (Django's source nests some 40 levels at most).
NESTING_BUDGET = 500
_LIBCST_POSITION = re.compile(r"error at (?P<line>\d+):(?P<column>\d+):\s*")

RECOGNISERS: tuple[Recogniser, ...] = (
    django.DjangoRecogniser(),
    sqlalchemy.SqlAlchemyRecogniser(),
    dbapi.DbApiRecogniser(),
    cache.CacheRecogniser(),
)


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
    operates: bool = True  # False: it may declare tables but mentions no operation, so no function is walked

    def table_decls(self) -> list[TableDecl]:
        lines: dict[cst.CSTNode, int] = {}  # declaration lines are not needed by any rule; not worth a position pass
        mapped = sqlalchemy.table_decls(self.module, self.imports, self.path, lines)
        # A class SQLAlchemy maps (it names its table) is not also read as a Django model.
        names = {decl.name for decl in mapped}
        return mapped + [d for d in django.table_decls(self.module, self.imports, self.path, lines) if d.name not in names]


@dataclass(frozen=True)
class Irrelevant:
    """Valid Python that mentions no database, ORM, SQL or cache API: nothing to analyse."""


def parse(path: str, text: str) -> ParsedPython | PythonSyntaxError | TooDeep | Irrelevant:
    """Parse source text; a syntax error is a value, not an exception."""
    tree = _cpython_reads(text)
    if isinstance(tree, PythonSyntaxError) and not _libcst_reads(text, tree):
        return tree
    if isinstance(tree, TooDeep):
        return tree  # libcst's native parser can crash outright on what CPython refuses for depth
    if not may_matter(text):
        return Irrelevant()
    if isinstance(tree, ast.Module) and _long_boolean_chain(text, tree):
        return TooDeep()
    operates = may_operate(text)
    if not operates and isinstance(tree, ast.Module):
        declared = _declarations_only(path, text, tree)
        if declared is not None:
            return declared
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        if isinstance(tree, ast.Module):  # CPython reads it: a limit of libcst's parser, not an error in the code
            return TooDeep(f"libcst cannot parse this file, which Python itself reads ({_libcst_message(error)})")
        return _syntax_error(text, error)
    except (RecursionError, MemoryError):
        if isinstance(tree, ast.Module):
            return TooDeep()
        return PythonSyntaxError("code nested too deeply to analyse", 1, 1)
    return ParsedPython(path, module, ImportTable.of_module(module), LazyPositions(module), operates)


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


def _declarations_only(path: str, text: str, tree: ast.Module) -> ParsedPython | Irrelevant | None:
    """A file that may declare tables but operates on nothing: parse its declarations only.

    None when the skeleton does not parse (the whole file is parsed instead)."""
    if not any(isinstance(node, ast.ClassDef) for node in tree.body):
        return Irrelevant()  # no class at module level: nothing for the index either
    try:
        module = cst.parse_module(declaration_skeleton(text, tree) or text)
    except (cst.ParserSyntaxError, RecursionError, MemoryError):
        return None
    return ParsedPython(path, module, ImportTable.of_module(module), LazyPositions(module), operates=False)


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


def _libcst_reads(text: str, refused: PythonSyntaxError) -> bool:
    """Syntax newer than the running Python (PEP 695 generics on 3.11) that libcst's grammar reads.

    Never for nesting CPython refuses: that is where libcst's native parser can crash."""
    if "nested" in refused.message:
        return False
    try:
        cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError, MemoryError):
        return False
    return True


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def _libcst_message(error: cst.ParserSyntaxError) -> str:
    """libcst's message without the position and prefix its native parser puts into it."""
    return _LIBCST_POSITION.sub("", error.message).removeprefix("parser error: ").strip() or error.message


def _syntax_error(text: str, error: cst.ParserSyntaxError) -> PythonSyntaxError:
    """The parse error with CPython's wording and position when CPython agrees, else libcst's.

    libcst's native parser puts the position in its message and reports column 0
    in its attributes, so CPython's `SyntaxError` (exact, 1-based) is preferred.
    """
    try:
        _ast_parse(text)
    except SyntaxError as cpython:
        return PythonSyntaxError(cpython.msg, cpython.lineno or 1, cpython.offset or 1)
    except (RecursionError, MemoryError, ValueError):
        pass
    found = _LIBCST_POSITION.search(error.message)
    message = _libcst_message(error)
    if found:
        return PythonSyntaxError(message, int(found["line"]), int(found["column"]))
    return PythonSyntaxError(message, error.raw_line, error.raw_column + 1)


def analyse(parsed: ParsedPython, index: ProjectIndex, config: Config) -> ModuleIR:
    """Pass 2: the IR of every function and method in the module."""
    if not parsed.operates:
        return ModuleIR(parsed.path)
    constants = _string_constants(parsed.module)
    # Module-level facts a recogniser needs before any function is walked (cache clients in globals).
    facts: dict[str, object] = {"cache": cache.module_facts(parsed.module, parsed.imports, constants)}
    context = FileContext(parsed.path, parsed.imports, index, config, parsed.positions, RECOGNISERS, constants, facts)  # type: ignore[arg-type]
    result = ModuleIR(parsed.path)
    for func, class_name in _functions(parsed.module.body, None):
        result.units.append(FunctionWalker(context, func, class_name).run())
    return result


def _string_constants(module: cst.Module) -> dict[str, str]:
    """Module-level `NAME = "..."` assignments: SQL is often kept in such constants."""
    constants: dict[str, str] = {}
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString))
                    and isinstance(small.value.evaluated_value, str)
                ):
                    constants[small.targets[0].target.value] = small.value.evaluated_value
    return constants


def _functions(body: object, class_name: str | None) -> Iterator[tuple[cst.FunctionDef, str | None]]:
    """Every function at any depth, with the class it is a method of (if directly in one)."""
    for statement in body if isinstance(body, (list, tuple)) else ():
        if isinstance(statement, cst.FunctionDef):
            yield statement, class_name
            yield from _functions(_block(statement.body), None)
        elif isinstance(statement, cst.ClassDef):
            yield from _functions(_block(statement.body), statement.name.value)
        elif isinstance(statement, (cst.If, cst.Try, cst.With, cst.For, cst.While)):
            yield from _functions(_block(statement.body), class_name)


def _block(suite: cst.BaseSuite) -> object:
    return suite.body if isinstance(suite, (cst.IndentedBlock, cst.SimpleStatementSuite)) else ()
