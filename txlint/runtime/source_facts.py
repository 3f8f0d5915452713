"""What the application's own source says about a write a trace saw.

A trace sees values, not data flow: `UPDATE checks SET n_pings = 8 WHERE id = 3`
after a read of row 3 does not say whether 8 was computed from what was read
(`check.n_pings + 1`) or came from a form or a constant. The static front-end
knows (RULES.md clarification 17): the function the write was sent from
assigns each column a value it classifies as computed from database values
(DERIVED), an input or a constant (INDEPENDENT, or UNKNOWN when it cannot
tell), or an expression the database evaluates. The trace asks it, by the
application line it already has, and falls back to judging by values only
where the source does not say (no source file, no write of that column at
that line).

The function's write also says where the value was assigned: a SQLAlchemy
flush or a Django `save()` sends the change where the code flushes, but the
line a maintainer fixes is the assignment (`check.n_pings += 1`).

Cheap where it runs: a file is parsed and interpreted once, the first time a
write sent from it is in question (a write that follows an unlocked read of
its row), and its answers are kept for the process's life (source files do not
change under a running program). The index it is interpreted against holds
the tables the file and the project modules it imports declare, found through
`sys.modules`: at run time the imports are already resolved. Whatever goes
wrong (no file, syntax the parser refuses, a bug of txlint) is an answer of
"no source", never an exception in the host.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from txlint.core.config import Config
from txlint.core.index import ProjectIndex, TableDecl, normalise_column
from txlint.core.ir import ModuleIR, RowOrigin, Unit, Value, ValueKind, Write
from txlint.core.queries import same_row
from txlint.core.summaries import Symbol, module_of
from txlint.frontends.python import Irrelevant, Outline, ParsedPython, analyse, declarations, parse
from txlint.frontends.python.imports import ImportTable

MAX_FILES = 512  # source files whose answers are kept
MAX_IMPORTED = 64  # project modules read for the tables a file's models come from
MAX_BYTES = 2_000_000  # a larger file is not read (a generated one)


@dataclass(frozen=True)
class Written:
    """What a function's source says about one column it writes.

    derived: True when the value is computed from a column of the row written (the instance
        saved, or a read of its table); False when it is computed from something else (a request
        object's attributes, another row, a row given as a reference), an input or a constant (made only of literals, the function's parameters other than
        `self`, imported names and builtins) or an expression the database evaluates; None when the
        source does not say (a local the analysis cannot trace, a call it does not know).
    line: the line the value was assigned at (None when it is the write's own line).
    """

    derived: bool | None
    line: int | None = None


@dataclass(frozen=True)
class _Sent:
    """A write of the file: the lines it is sent from, and what its function's values are made of."""

    start: int
    end: int
    write: Write
    parsed: ParsedPython
    params: frozenset[str]  # the function's parameters, `self` and `cls` left out
    # What each local of the function is assigned (None: bound otherwise too: a loop, `+=`, unpacking)
    locals: dict[str, list[ast.expr] | None]
    in_project: Callable[[str], bool]  # whether an imported name is the project's own
    unit: Unit  # the function, for the reads its values depend on


@dataclass
class _Source:
    """One file's writes."""

    writes: list[_Sent]


class SourceFacts:
    """Answers, per application line and column, from the static analysis of the file.

    Args:
        config: the project's configuration (its root decides which files are the project's).
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self._root = _absolute(config.root)
        self._files: dict[str, _Source | None] = {}
        self._declared: dict[str, _Declared] = {}  # module file -> what it declares (read once)
        self._lock = threading.Lock()
        self.unread = 0  # files that could not be read or parsed (their writes are judged by values)

    def written(self, path: str, line: int, column: str) -> Written | None:
        """What the function sending the write at `path:line` assigned to `column`; None when there
        is no source (a file outside the project, unreadable, or Python the parser refuses): the
        values decide then.

        A project file that shows no assignment of the column at that line (the change was made
        in a function that returned before the flush, a whole-row save writes back a column the
        function never touched, or the analysis does not recognise the write) gives no evidence
        that the value came from a read: `derived` False, not linked (clarification 17: evidence
        decides; when the project gives none, stay silent)."""
        source = self._source(path)
        if source is None:
            return None
        wanted = normalise_column(column)
        verdicts: list[bool | None] = []
        assigned: int | None = None
        for sent in source.writes:
            if not sent.start <= line <= sent.end:
                continue
            for assignment in sent.write.assignments:
                if normalise_column(assignment.column) != wanted:
                    continue
                verdict = _verdict(assignment.value, sent)
                verdicts.append(verdict)
                if verdict or assigned is None:
                    assigned = sent.parsed.positions.resolve(assignment.span).line
        if not verdicts:
            return Written(False)
        derived = True if True in verdicts else (False if all(v is False for v in verdicts) else None)
        return Written(derived, assigned if assigned != line else None)

    def _source(self, path: str) -> _Source | None:
        if path in self._files:
            known = self._files.get(path)  # `get`: a concurrent clear of the cache reads as "no source"
            return known
        with self._lock:
            if path in self._files:
                return self._files[path]
            try:
                found = self._analysed(path)
            except Exception:  # noqa: BLE001 - a bug of txlint must not reach the host: judged by values instead
                found = None
            if found is None:
                self.unread += 1
            if len(self._files) >= MAX_FILES:
                self._files.clear()
            self._files[path] = found
            return found

    def _analysed(self, path: str) -> _Source | None:
        if not path.endswith(".py") or self._root is None or not _below(_absolute(path), self._root):
            return None
        text = _text(path)
        if text is None:
            return None
        parsed = parse(path, text)
        if isinstance(parsed, (Irrelevant, Outline)):
            return _Source([])  # valid Python in which the analysis sees no database work
        if not isinstance(parsed, ParsedPython):
            return None  # a syntax error, or nesting too deep to parse
        tree = ast.parse(text)
        decls, symbols = self._imported(path, tree)
        index = ProjectIndex.build(decls)
        index.set_symbols(symbols)
        module: ModuleIR = analyse(parsed, index, self.config)
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        bindings: dict[int, dict[str, list[ast.expr] | None]] = {}  # by function node: its writes share them
        writes = []
        for unit in module.units:
            params = frozenset(unit.params) - {"self", "cls"}
            for op in unit.ops:
                if isinstance(op, Write) and op.assignments:
                    span = parsed.positions.resolve(op.span)
                    around = [f for f in functions if f.lineno <= span.line <= (f.end_lineno or f.lineno)]
                    if around and id(around[-1]) not in bindings:
                        bindings[id(around[-1])] = _locals(around[-1])
                    bound = bindings[id(around[-1])] if around else {}
                    writes.append(_Sent(span.line, max(span.line, span.end_line), op, parsed, params, bound, self._in_project, unit))
        return _Source(writes)

    def _in_project(self, qualified: str) -> bool:
        """Whether an imported name is the project's: the longest imported module it names lies
        below the root (a name of no imported module, a relative import: the project's)."""
        if qualified.startswith("."):
            return True
        parts = qualified.split(".")
        for end in range(len(parts), 0, -1):
            module = sys.modules.get(".".join(parts[:end]))
            if module is not None:
                return _project_file(".".join(parts[:end]), self._root or "") is not None
        return True

    def _imported(self, path: str, tree: ast.Module) -> tuple[list[TableDecl], list[Symbol]]:
        """The tables and symbols of the file and of the project modules it imports (and they
        import, to a bound): what its models and their abstract bases declare. Each module is read
        once for the process (`_declared`): the files a test suite's writes come from import the
        same models."""
        decls: list[TableDecl] = []
        symbols: list[Symbol] = []
        seen: set[str] = set()
        queue: list[str] = [path]
        while queue and len(seen) < MAX_IMPORTED:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            declared = self._declared.get(current)
            if declared is None:
                declared = self._declared[current] = self._declarations(current, tree if current == path else None)
            decls += declared.decls
            symbols += declared.symbols
            queue += [file for file in declared.imports if file not in seen]
        return decls, symbols

    def _declarations(self, path: str, tree: ast.Module | None) -> _Declared:
        """What one module declares, and the project files it imports."""
        if tree is None:
            text = _text(path)
            try:
                tree = ast.parse(text) if text is not None else None
            except (SyntaxError, ValueError, RecursionError):
                tree = None
        if tree is None:
            return _Declared([], [], [])
        imports = ImportTable.of_tree(tree)
        decls = declarations.table_decls(tree, imports, path)
        symbols = declarations.symbols(path, _text(path) or "", tree, imports, self.config.root)
        root = self._root or ""
        files = [f for f in (_project_file(name, root) for name in _imported_modules(tree, module_of(path, self.config.root))) if f is not None]
        return _Declared(decls, symbols, list(dict.fromkeys(files)))


@dataclass(frozen=True)
class _Declared:
    """One module's tables and symbols, and the project files it imports."""

    decls: list[TableDecl]
    symbols: list[Symbol]
    imports: list[str]


def _verdict(value: Value, sent: _Sent) -> bool | None:
    """Whether a value written is computed from the database (True), surely is not (False), or
    the analysis cannot tell (None). Its classification as independent is taken at its word only
    when the expression shows why: a value made of a call or a local it could not trace may well
    come from a read it does not model (a query picked by a conditional, a helper's result)."""
    if value.kind is ValueKind.DERIVED:
        return _from_written_row(value, sent)
    if value.kind is ValueKind.IN_DATABASE:
        return False
    if value.expression is None:
        return None
    try:
        tree = ast.parse(value.expression, mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return None
    return False if _plain(tree.body, sent, 3) else None


def _from_written_row(value: Value, sent: _Sent) -> bool:
    """A value computed from a column of the row the write writes (the instance saved, or a read
    of its table): what a lost update recomputes. One computed from a request's object
    (`check.name = spec.name`), from another table's row, or a row given as a reference
    (`project.owner = request.user`) is not (clarification 17)."""
    row = sent.write.row
    for dependency in value.depends_on:
        if dependency.column is None:
            continue
        if row is not None and same_row(dependency.row, row):
            return True
        if dependency.row.origin is RowOrigin.READ:
            read = sent.unit.read_at(dependency.row.read)
            if read is not None and read.table == sent.write.table:
                return True
    return False


def _plain(expression: ast.expr, sent: _Sent, depth: int) -> bool:
    """The expression is made of literals, parameters, imported names, builtins, calls of those, and
    locals assigned only such expressions (followed `depth` assignments deep)."""
    for node in ast.walk(expression):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            name = node.id
            imported = sent.parsed.imports.resolve_name(name)
            if name in sent.params or name in _BUILTIN_NAMES or (imported is not None and not sent.in_project(imported)):
                continue
            assigned = sent.locals.get(name)
            if depth > 0 and assigned and all(_plain(value, sent, depth - 1) for value in assigned):
                continue
            return False
        if isinstance(node, ast.Call) and not _known_callee(node, sent):
            return False
    return True


def _locals(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, list[ast.expr] | None]:
    """What each local name of a function is assigned, where it is only ever assigned whole
    (`x = ...`, `x: int = ...`); None where it is bound any other way too."""
    found: dict[str, list[ast.expr] | None] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            values = found.setdefault(name, [])
            if values is not None:
                values.append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            values = found.setdefault(node.target.id, [])
            if values is not None:
                values.append(node.value)
    for node in ast.walk(function):  # bound by a loop, `+=`, a walrus, `with ... as`, unpacking: not followed
        if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension, ast.AugAssign, ast.NamedExpr, ast.withitem)):
            bound = getattr(node, "target", None) or getattr(node, "optional_vars", None)
            for store in ast.walk(bound) if bound is not None else ():
                if isinstance(store, ast.Name):
                    found[store.id] = None
        elif isinstance(node, ast.Assign) and not (len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            for each in node.targets:
                for store in ast.walk(each):
                    if isinstance(store, ast.Name):
                        found[store.id] = None
    return found


def _known_callee(call: ast.Call, sent: _Sent) -> bool:
    """A call whose result is no database value: a builtin (`int(...)`), a function of a library
    (`timezone.now()`, `uuid4()`), or a look-up of a named input in a parameter
    (`request.POST.get("qty")`). A project function, or a method of a parameter given a variable
    (`repo.get(account_id)`), may return what a read loaded."""
    func = call.func
    root = func
    while isinstance(root, (ast.Attribute, ast.Subscript, ast.Call)):
        root = root.func if isinstance(root, ast.Call) else root.value
    if not isinstance(root, ast.Name):
        return False
    if root.id in _BUILTIN_NAMES:
        return True
    qualified = sent.parsed.imports.resolve_name(root.id)
    if qualified is not None:
        return not sent.in_project(qualified)
    if root.id in sent.params:
        named = bool(call.args) and isinstance(call.args[0].value if isinstance(call.args[0], ast.Starred) else call.args[0], ast.Constant)
        return isinstance(func, ast.Attribute) and func.attr in _INPUT_LOOKUPS and named
    return False


_INPUT_LOOKUPS = frozenset({"get", "getlist", "getone", "get_all", "pop"})
_BUILTIN_NAMES = frozenset({"True", "False", "None", "int", "float", "str", "bool", "len", "min", "max", "round", "abs", "Decimal", "dict", "list", "tuple", "set"})


def _imported_modules(tree: ast.Module, module: tuple[str, bool]) -> list[str]:
    """The modules a module's top-level imports name (`from a.b import C`: `a.b.C` and `a.b`)."""
    name, is_package = module
    package = name if is_package else name.rpartition(".")[0]
    found: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            try:
                absolute = importlib.util.resolve_name(base, package) if node.level else base
            except (ImportError, ValueError):
                continue
            found += [f"{absolute}.{alias.name}" for alias in node.names if alias.name != "*"]
            found.append(absolute)
    return found


def _project_file(name: str, root: str) -> str | None:
    """The file of an imported module when it belongs to the project (below its root, outside the
    virtual environment's packages)."""
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None) if module is not None else None
    if not isinstance(file, str) or not file.endswith(".py"):
        return None
    absolute = _absolute(file)
    if absolute is None or not _below(absolute, root) or "site-packages" in absolute:
        return None
    return absolute


def _text(path: str) -> str | None:
    try:
        if os.path.getsize(path) > MAX_BYTES:
            return None
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _absolute(path: str | Path) -> str | None:
    try:
        return os.path.abspath(path)
    except (OSError, ValueError):
        return None


def _below(path: str | None, root: str) -> bool:
    if path is None:
        return False
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
