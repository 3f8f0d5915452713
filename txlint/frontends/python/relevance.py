"""Which functions of a module can operate on a database or cache: `prefilter`'s look, one function at a time.

In a module that operates, most functions still do not: Django's own
`db/models/query.py` has hundreds of methods and a handful that a recogniser
turns into IR. Those that cannot are cut from what libcst parses
(`skeleton`), which is most of a run's time, and so are never interpreted.

Every value a recogniser turns into IR starts from something the function's
own text names:

- a word of `FUNCTION_TRIGGERS`: a manager (`.objects`), `atomic`, a cursor,
  a session, `select_for_update`, a redis client type;
- a name the module binds to something that can be such a value (an *alias*):
  an import of a name a recogniser resolves (`Recogniser.names`), or of the
  module it is in (`from django.db import transaction`), or whose path
  mentions a trigger (`from .redis_client import client`); a module or class
  attribute assigned from a trigger or another alias (`r = redis.Redis()`,
  `release = r.register_script(...)`); a `self.<attr>` assigned in a function
  that can operate (`self.client = client` where `client: Redis`);
- a configured lock function (`lock-functions`, passed in as extra words);
- a method of a manager or queryset class (`class X(Manager)`): `self` is a
  model's rows;
- a method of a class deriving from a project class whose methods operate
  (passed in as an extra word): `self.method()` may be one of them;
- another function of the module, named in a function that can operate: a
  callback (`r.transaction(update, "key")` calls `update` with a pipeline),
  a helper whose `NoReturn` ends a path.

So a function whose text names none of these produces no IR, and cutting it
changes no finding. The test is on text, so it errs one way only: a word in a
comment or a string keeps a function that did not need keeping.

What counts as a function here is what `skeleton` can cut (functions at
module level, methods of classes at module level); anything else stays.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from txlint.frontends.python.skeleton import Function, cuttable, first_line

# The words a value or an op a recogniser knows starts from, in a function's own text (`prefilter`'s words
# are wider: they also find the modules that declare tables). Django: a manager, `save()`/`asave()`, a view's `get_object()`,
# `refresh_from_db()`, `atomic`, the transaction functions, the shortcuts; SQLAlchemy: a session (a
# parameter named so, Flask's `db.session`, `Session(...)`, an annotation), `engine.begin()`, a statement
# locking its rows; DB-API: a connection, a cursor, `execute`, autocommit, psycopg 3's `conn.transaction()`,
# the asyncio drivers' fetch methods (asyncpg, `databases`), an application wrapper's own `fetchone(sql)`/`fetchall(sql)`, a pool's connection or its creation; caches: a client's library or type, Django's cache module, redis-py's `transaction(func, *keys)`, a
# command only redis has (its receiver is a redis client, whatever it is called).
FUNCTION_TRIGGERS = (
    ".objects", "_default_manager", "_base_manager", "save(", "refresh_from_db", "atomic", "set_autocommit",
    ".commit(", ".rollback(", "get_object_or_404", "get_list_or_404", "get_object(", "select_for_update",
    "sqlalchemy", "session", "Session", ".begin(", "begin_nested", "with_for_update",
    "connect(", "cursor", "execute", "autocommit", "transaction(",
    "fetchrow", "fetchval", "fetchone(", "fetchall(", "fetch_one", "fetch_val", "fetch_all", "getconn", "create_pool",
    "redis", "Redis", "memcache", "core.cache", "BaseCache", "setnx", "setex", "psetex", "pexpire", "nx=True",
    "flask_caching", "flask_cache", "cache.get(", "cache.set(", "cache.add(", "cache.inc(", "cache.incr(", "cache.delete(",
)  # fmt: skip
_TRIGGERS = re.compile("|".join(re.escape(t) for t in FUNCTION_TRIGGERS))
_BINDINGS = (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.AugAssign)


class _Module:
    """The text of one module cut into what the analysis below reads."""

    def __init__(self, text: str, tree: ast.Module) -> None:
        self.lines = text.split("\n")
        cut = list(cuttable(tree))
        self.functions = [function for function, _ in cut]
        self.methods = {function for function, method in cut if method}
        self.bindings = list(_binding_statements(tree.body))

    def text_of(self, node: ast.stmt) -> str:
        """The lines a statement is on (a definition with its decorators)."""
        first = first_line(node)
        return "\n".join(self.lines[first : node.end_lineno or node.lineno])

    def text_of_node(self, node: ast.expr) -> str:
        """The source of an expression (one line's slice, or its lines when it spans several)."""
        if node.end_lineno == node.lineno and node.end_col_offset is not None:
            return self.lines[node.lineno - 1].encode()[node.col_offset : node.end_col_offset].decode(errors="replace")
        return "\n".join(self.lines[node.lineno - 1 : node.end_lineno or node.lineno])


class _Text:
    """A piece of source and the names in it, each kind read off once: the test of every round is
    then a set operation, where a pattern of the names found so far cost a regex compile per round
    (a tenth of a run on Django's source)."""

    def __init__(self, source: str) -> None:
        self.source = source

    @functools.cached_property
    def words(self) -> frozenset[str]:
        return frozenset(_WORD.findall(self.source))

    @functools.cached_property
    def bare(self) -> frozenset[str]:
        """Names not followed by `(`: a function handed over, not called."""
        return frozenset(_BARE.findall(self.source))

    @functools.cached_property
    def called(self) -> frozenset[str]:
        """Names followed by `(` (`f(`, `obj.f(`)."""
        return frozenset(_CALLED.findall(self.source))

    @functools.cached_property
    def own(self) -> frozenset[str]:
        """Attributes of `self` or `cls` (`self.f`, `cls.f`)."""
        return frozenset(_OWN.findall(self.source))


_WORD = re.compile(r"\w+")
_REDIS_RECEIVERS = re.compile(
    r"\b(?:self|cls)\.(\w+)\.(?:(?:setnx|setex|psetex|pexpire|pexpireat|expireat|getdel|unlink|pttl)\s*\(|set\s*\([^)]*?\bnx\s*=)"
)
_BARE = re.compile(r"\b(\w+)\b(?!\s*\()")
_CALLED = re.compile(r"\b(\w+)\s*\(")
_OWN = re.compile(r"\b(?:self|cls)\.(\w+)\b")


class _Vocabulary:
    """The triggers and the aliases found so far: what makes a text mention an operation."""

    def __init__(self, extra_words: Sequence[str]) -> None:
        self.extra = frozenset(word for word in extra_words if word)
        self.aliases: set[str] = set()

    def add(self, names: Iterable[str]) -> None:
        self.aliases.update(names)

    def mentions(self, text: _Text) -> bool:
        return _TRIGGERS.search(text.source) is not None or not self.extra.isdisjoint(text.words) or not self.aliases.isdisjoint(text.words)


@dataclass(frozen=True)
class _AttributeAssignment:
    """`self.<attr> = value` in a function: the attributes, the statement's text, and the parameter
    assigned when the value is one."""

    attributes: tuple[str, ...]
    source: _Text
    parameter_annotation: _Text | None


def operating_functions(text: str, tree: ast.Module, known: frozenset[str], extra_words: Sequence[str] = ()) -> set[Function]:
    """The functions of `cuttable(tree)` that can operate (see the module's docstring).

    `known` is the qualified names the recognisers start values from;
    `extra_words` are further names that make a function operate (the
    configured lock functions)."""
    module = _Module(text, tree)
    texts = {function: _Text(module.text_of(function)) for function in module.functions}
    vocabulary = _Vocabulary(extra_words)
    vocabulary.add(_import_aliases(module.bindings, known))
    bindings = [(statement, _Text(module.text_of(statement))) for statement in module.bindings if not isinstance(statement, (ast.Import, ast.ImportFrom))]
    assignments: dict[Function, list[_AttributeAssignment]] = {}
    operating: set[Function] = {function for function in module.functions if _never_returns(function)} | _manager_methods(tree)
    operating |= _derived_methods(tree, vocabulary.extra)
    while True:
        before = (len(vocabulary.aliases), len(operating))
        vocabulary.add(name for statement, source in bindings if vocabulary.mentions(source) for name in _targets(statement))
        operating.update(function for function, source in texts.items() if function not in operating and vocabulary.mentions(source))
        # `self.client.setnx(...)` in one method: `self.client` is a redis client in every method of
        # the class (clarification 22), so a method that only deletes through it operates too.
        vocabulary.add(attribute for function in operating for attribute in _REDIS_RECEIVERS.findall(texts[function].source))
        for function in operating:
            if function not in assignments:
                assignments[function] = list(_attribute_assignments(function, module))
            for assignment in assignments[function]:
                annotation = assignment.parameter_annotation
                if vocabulary.mentions(assignment.source) or (annotation is not None and vocabulary.mentions(annotation)):
                    vocabulary.add(assignment.attributes)
        handed = frozenset().union(*(texts[function].bare for function in operating))
        operating.update(function for function in module.functions if function.name in handed)
        operating |= _callers(module, texts, operating)
        if (len(vocabulary.aliases), len(operating)) == before:
            return operating


def _manager_methods(tree: ast.Module) -> set[Function]:
    """The methods of a class deriving from a manager or a queryset class (`class X(Manager)`,
    `models.QuerySet`): `self.filter(...)` there queries the model's rows with no trigger word."""
    return _methods_of_classes(tree, lambda base: base.endswith(("Manager", "QuerySet")))


def _derived_methods(tree: ast.Module, words: frozenset[str]) -> set[Function]:
    """The methods of a class deriving from a project class one of whose methods operates (an
    extra word: `class AddToCart(WebshopMixin, View)`): `self.current_order_line()` there is the
    mixin's, with no trigger word of its own."""
    return _methods_of_classes(tree, lambda base: not words.isdisjoint(_WORD.findall(base))) if words else set()


def _methods_of_classes(tree: ast.Module, derives: Callable[[str], bool]) -> set[Function]:
    """The methods of the module's classes one of whose bases (its source text) `derives` accepts."""
    found: set[Function] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(derives(ast.unparse(base)) for base in node.bases):
            found |= {member for member in node.body if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return found


def _callers(module: _Module, texts: dict[Function, _Text], operating: set[Function]) -> set[Function]:
    """The functions that call one that can operate: what the callee returns or opens is theirs
    (its summary), so they can operate too. A module function is called by its name, a method
    through `self`/`cls`."""
    names = {f.name for f in operating if f not in module.methods}
    methods = {f.name for f in operating if f in module.methods}
    return {
        function
        for function, text in texts.items()
        if function not in operating and ((names and not names.isdisjoint(text.called)) or (methods and not methods.isdisjoint(text.own)))
    }


def _attribute_assignments(function: Function, module: _Module) -> Iterator[_AttributeAssignment]:
    """`self.<attr> = ...` (or `cls.<attr>`) anywhere in the function, with the annotation of the
    parameter it assigns (`def __init__(self, client: Redis): self.client = client`)."""
    annotations = {arg.arg: _Text(module.text_of_node(arg.annotation)) for arg in _arguments(function) if arg.annotation is not None}
    for statement in _statements(function.body):
        if not isinstance(statement, (ast.Assign, ast.AnnAssign)):
            continue
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        owned = tuple(t.attr for t in targets if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id in {"self", "cls"})
        if owned:
            value = statement.value
            parameter = annotations.get(value.id) if isinstance(value, ast.Name) else None
            yield _AttributeAssignment(owned, _Text(module.text_of(statement)), parameter)


def _never_returns(function: Function) -> bool:
    """Annotated `NoReturn`/`Never`: a call of it ends a path in whatever function calls it."""
    returns = function.returns
    return returns is not None and isinstance(returns, (ast.Name, ast.Attribute, ast.Constant)) and any(
        word in ast.unparse(returns) for word in ("NoReturn", "Never")
    )


def _import_aliases(bindings: Iterable[ast.stmt], known: frozenset[str]) -> Iterator[str]:
    """Local names imports bind to something a recogniser knows (`from django.db.transaction import
    commit`), or from a path that mentions a trigger (`from .redis_client import client`; the last
    part of every name a recogniser knows is a trigger, or its module path has one)."""
    packages = _packages(known)
    for statement in bindings:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.name in known or alias.name in packages or _TRIGGERS.search(alias.name):
                    yield alias.asname or alias.name.split(".")[0]
        elif isinstance(statement, ast.ImportFrom):
            module = "." * statement.level + (statement.module or "")
            for alias in statement.names:
                qualified = f"{module}.{alias.name}" if statement.module else f"{module}{alias.name}"
                if qualified in known or _TRIGGERS.search(qualified):
                    yield alias.asname or alias.name


@functools.cache
def _packages(known: frozenset[str]) -> frozenset[str]:
    """The modules the known names are in (`import asyncpg` binds the module of `asyncpg.connect`)."""
    return frozenset(name.rsplit(".", 1)[0] for name in known if "." in name)


def _binding_statements(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """Imports and assignments at module level and in class bodies, at any depth of `if`/`try`/`with`/loops,
    never inside a function."""
    for statement in body:
        if isinstance(statement, _BINDINGS):
            yield statement
        elif isinstance(statement, ast.ClassDef):
            yield from _binding_statements(statement.body)
        elif not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for field in ("body", "orelse", "finalbody"):
                yield from _binding_statements(getattr(statement, field, []))
            for handler in getattr(statement, "handlers", []):
                yield from _binding_statements(handler.body)


def _targets(statement: ast.stmt) -> Iterator[str]:
    """The names an assignment binds (`x = ...`, `x: T = ...`, `a, b = ...`, `X.attr = ...` binds `attr`)."""
    targets = statement.targets if isinstance(statement, ast.Assign) else [getattr(statement, "target", None)]
    stack = [target for target in targets if target is not None]
    while stack:
        target = stack.pop()
        if isinstance(target, ast.Name):
            yield target.id
        elif isinstance(target, ast.Attribute):
            yield target.attr
        elif isinstance(target, (ast.Tuple, ast.List)):
            stack.extend(target.elts)
        elif isinstance(target, ast.Starred):
            stack.append(target.value)


def _arguments(function: Function) -> list[ast.arg]:
    arguments = function.args
    return [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]


def _statements(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of a function body at any depth of compound statements, not in nested functions or classes."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            yield from _statements(getattr(statement, field, []))
        for handler in getattr(statement, "handlers", []):
            yield from _statements(handler.body)
        for case in getattr(statement, "cases", []):
            yield from _statements(case.body)
