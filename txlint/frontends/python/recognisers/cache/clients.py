"""Which objects are cache clients, pipelines, locks and scripts: the values, and what a module binds.

A client is known from its constructor (`redis.Redis(...)`, `from_url`,
`pymemcache.Client`), Django's `cache`/`caches[...]`, a module global or a
`self.<attr>` assigned one of those, or a parameter annotated with a client
type — never from a variable merely named `r`. The module is read once,
before its functions are interpreted (`module_facts`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst

from txlint.frontends.python.imports import ImportTable
from txlint.frontends.python.interpret.context import FileContext
from txlint.frontends.python.interpret.expressions import source_text
from txlint.frontends.python.interpret.values import Value
from txlint.frontends.python.literals import text_value
from txlint.frontends.python.recognisers.cache.commands import REDIS_ONLY, REDIS_ONLY_SET_OPTIONS, REDIS_SET_KEYWORDS
from txlint.frontends.python.tree import descendants

REDIS = "redis"
DJANGO = "django"
PYMEMCACHE = "pymemcache"
MEMCACHE = "memcache"  # python-memcached
FLASK = "flask-caching"  # Flask-Caching's `Cache`: Django's API with `inc`/`dec`/`has` and a default timeout

_REDIS_CLASSES = {
    "redis.Redis", "redis.StrictRedis", "redis.client.Redis", "redis.client.StrictRedis",
    "redis.RedisCluster", "redis.cluster.RedisCluster",
    "redis.asyncio.Redis", "redis.asyncio.StrictRedis", "redis.asyncio.client.Redis",
    "redis.asyncio.client.StrictRedis", "redis.asyncio.RedisCluster", "redis.asyncio.cluster.RedisCluster",
}  # fmt: skip
CLIENT_TYPES: dict[str, str] = {
    **{name: REDIS for name in _REDIS_CLASSES},
    **{f"{name}.from_url": REDIS for name in _REDIS_CLASSES},
    "redis.from_url": REDIS,
    "redis.asyncio.from_url": REDIS,
    "django_redis.get_redis_connection": REDIS,
    "django.core.cache.backends.base.BaseCache": DJANGO,
    "pymemcache.Client": PYMEMCACHE,
    "pymemcache.PooledClient": PYMEMCACHE,
    "pymemcache.HashClient": PYMEMCACHE,
    "pymemcache.client.base.Client": PYMEMCACHE,
    "pymemcache.client.base.PooledClient": PYMEMCACHE,
    "pymemcache.client.hash.HashClient": PYMEMCACHE,
    "pymemcache.client.retrying.RetryingClient": PYMEMCACHE,
    "memcache.Client": MEMCACHE,
    "flask_caching.Cache": FLASK,
    "flask_cache.Cache": FLASK,  # Flask-Cache, Flask-Caching's unmaintained predecessor: the same API
}
DJANGO_CACHE = "django.core.cache.cache"
DJANGO_CACHES = "django.core.cache.caches"
LOCK_CLASSES = {"redis.lock.Lock", "redis.asyncio.lock.Lock"}
_REDIS_ONLY_WORDS = re.compile(r"\.(?:" + "|".join(sorted(REDIS_ONLY)) + r")\(|\bnx\s*=")
_CALL_GET = re.compile(r"redis\.p?call\(\s*['\"]get['\"]", re.I)
_CALL_DEL = re.compile(r"redis\.p?call\(\s*['\"](del|unlink)['\"]", re.I)


@dataclass(frozen=True)
class Client(Value):
    """A cache or key-value store client of one library."""

    api: str


@dataclass(frozen=True)
class Pipeline(Value):
    """A redis-py pipeline: where its next command goes.

    `group` is the MULTI/EXEC transaction queued commands join (None: no MULTI,
    each command stands alone); `immediate` is WATCH mode (commands run at once,
    before `multi()`); `watching` the keys WATCHed (None: not known, taken as all).
    """

    group: int | None
    transactional: bool
    immediate: bool = False
    watching: frozenset[str] | None = frozenset()


@dataclass(frozen=True)
class LockHandle(Value):
    """A redis-py `Lock` object (from `r.lock(name, ...)` or `Lock(r, name, ...)`), not yet acquired."""

    key: str | None
    key_constant: bool
    ttl: bool | None


@dataclass(frozen=True)
class Script(Value):
    """A registered Lua script, and whether it deletes a key only when it holds the caller's token."""

    compare_and_delete: bool


CacheObject = Client | Pipeline | LockHandle | Script


@dataclass(frozen=True)
class CacheModuleFacts:
    """What the module itself binds: global clients and scripts, client attributes of its classes,
    and the functions handed to `transaction(func, *keys)` with the keys they watch."""

    objects: dict[str, CacheObject] = field(default_factory=dict)
    attributes: dict[tuple[str, str], CacheObject] = field(default_factory=dict)
    watch_callbacks: dict[str, frozenset[str] | None] = field(default_factory=dict)
    # Receivers sent a command only redis has (`self.redis` in a class, `r` in a function), by the
    # class (its `self.<attr>`s) or the function (by id) they are used in: redis clients.
    redis_by_use: dict[str | int, frozenset[str]] = field(default_factory=dict)


NO_FACTS = CacheModuleFacts()


def module_facts(file: FileContext) -> CacheModuleFacts:
    """Pass over the module before its functions are interpreted."""
    imports, module, constants = file.imports, file.module, file.constants
    redis_by_use = _redis_by_use(module) if not file.text or _REDIS_ONLY_WORDS.search(file.text) else {}
    if not any(imports.mentions(p) for p in ("redis", "django", "pymemcache", "memcache", "django_redis", "flask_caching", "flask_cache")):
        return CacheModuleFacts(redis_by_use=redis_by_use) if redis_by_use else NO_FACTS
    facts = CacheModuleFacts(redis_by_use=redis_by_use)
    for name, value in _module_assignments(module.body):
        found = _static_value(value, imports, facts.objects, constants, {})
        if found is not None:
            facts.objects[name] = found
    for cls in _classes(module.body):
        _class_attributes(cls, imports, constants, facts)
    if imports.mentions("redis"):
        _watch_callbacks(module, facts)
    return facts


def redis_by_use(facts: CacheModuleFacts, class_name: str | None, func: cst.FunctionDef, receiver: str) -> bool:
    """Whether `receiver` (its source text) is sent a command only redis has, in this function or,
    for `self.<attr>`, anywhere in its class."""
    if receiver in facts.redis_by_use.get(id(func), frozenset()):
        return True
    return class_name is not None and receiver.startswith("self.") and receiver in facts.redis_by_use.get(class_name, frozenset())


def _redis_by_use(module: cst.Module) -> dict[str | int, frozenset[str]]:
    found: dict[str | int, set[str]] = {}
    for func, class_name in _functions(module.body, None):
        for node in descendants(func.body):
            if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
                continue
            method = node.func.attr.value
            if method in REDIS_ONLY or (method == "set" and _redis_set_options(node)):
                receiver = source_text(node.func.value)
                found.setdefault(id(func), set()).add(receiver)
                if class_name is not None and receiver.startswith("self."):
                    found.setdefault(class_name, set()).add(receiver)
    return {key: frozenset(receivers) for key, receivers in found.items()}


def _redis_set_options(call: cst.Call) -> bool:
    keywords = {arg.keyword.value for arg in call.args if arg.keyword is not None}
    return "nx" in keywords and (bool(keywords & REDIS_ONLY_SET_OPTIONS) or keywords <= REDIS_SET_KEYWORDS)


def _functions(body: Sequence[cst.CSTNode], class_name: str | None) -> Iterator[tuple[cst.FunctionDef, str | None]]:
    for statement in body:
        if isinstance(statement, cst.FunctionDef):
            yield statement, class_name
        elif isinstance(statement, cst.ClassDef):
            yield from _functions(_block(statement.body), statement.name.value)


def is_compare_and_delete(script: str) -> bool:
    """A Lua script that reads the key and deletes it, comparing with an argument (the caller's token)."""
    return bool(_CALL_GET.search(script) and _CALL_DEL.search(script) and "argv" in script.lower())


def annotation_api(annotation: cst.BaseExpression, imports: ImportTable) -> str | None:
    """The client library an annotation names: `Redis`, `Optional[Redis]`, `Redis | None`, `"Redis"`."""
    for target in _annotation_targets(annotation):
        qualified = imports.resolve(target)
        if qualified in CLIENT_TYPES and not qualified.endswith(".from_url") and "." in qualified:
            return CLIENT_TYPES[qualified]
    return None


def constant_text(node: cst.BaseExpression, constants: dict[str, str]) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        return text_value(node)
    if isinstance(node, cst.Name):
        return constants.get(node.value)
    return None


def _module_assignments(body: Sequence[cst.CSTNode]) -> Iterator[tuple[str, cst.BaseExpression]]:
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    yield small.targets[0].target.value, small.value
                elif isinstance(small, cst.AnnAssign) and small.value is not None and isinstance(small.target, cst.Name):
                    yield small.target.value, small.value


def _classes(body: Sequence[cst.CSTNode]) -> Iterator[cst.ClassDef]:
    for statement in body:
        if isinstance(statement, cst.ClassDef):
            yield statement
            yield from _classes(_block(statement.body))


def _block(suite: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    return suite.body if isinstance(suite, (cst.IndentedBlock, cst.SimpleStatementSuite)) else ()


def _class_attributes(cls: cst.ClassDef, imports: ImportTable, constants: dict[str, str], facts: CacheModuleFacts) -> None:
    """`self.x = <client>` in any method, `x: Redis` or `x = <client>` in the class body."""
    name = cls.name.value
    for statement in _block(cls.body):
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    api = annotation_api(small.annotation.annotation, imports)
                    known = Client(api) if api else _static_value(small.value, imports, facts.objects, constants, {}) if small.value else None
                    if known is not None:
                        facts.attributes[(name, small.target.value)] = known
        if isinstance(statement, cst.FunctionDef):
            params = {p.name.value: p for p in _params(statement)}
            for target, value in _self_assignments(statement.body):
                found = _static_value(value, imports, facts.objects, constants, params)
                if found is not None:
                    facts.attributes[(name, target)] = found
    for target, value in _module_assignments(_block(cls.body)):
        found = _static_value(value, imports, facts.objects, constants, {})
        if found is not None:
            facts.attributes.setdefault((name, target), found)


def _self_assignments(body: cst.BaseSuite) -> Iterator[tuple[str, cst.BaseExpression]]:
    stack: list[cst.CSTNode] = list(_block(body))
    while stack:
        statement = stack.pop()
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1:
                    target = small.targets[0].target
                    if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
                        yield target.attr.value, small.value
        elif isinstance(statement, (cst.If, cst.Try, cst.With)):
            stack += list(_block(statement.body))


def _static_value(
    value: cst.BaseExpression, imports: ImportTable, objects: dict[str, CacheObject], constants: dict[str, str], params: dict[str, cst.Param]
) -> CacheObject | None:
    """A client, script or lock a module-level (or `self.x =`) expression builds, or None."""
    if isinstance(value, cst.Name):
        if value.value in params:
            annotation = params[value.value].annotation
            api = annotation_api(annotation.annotation, imports) if annotation else None
            return Client(api) if api else None
        if value.value in objects:
            return objects[value.value]
        return Client(DJANGO) if imports.resolve(value) == DJANGO_CACHE else None
    if isinstance(value, cst.Subscript):
        return Client(DJANGO) if imports.resolve(value.value) == DJANGO_CACHES else None
    if not isinstance(value, cst.Call):
        return None
    qualified = imports.resolve(value.func)
    if qualified in CLIENT_TYPES:
        return Client(CLIENT_TYPES[qualified])
    if isinstance(value.func, cst.Attribute) and value.func.attr.value in {"register_script", "script_load"}:
        owner = _static_value(value.func.value, imports, objects, constants, params)
        if isinstance(owner, Client) and owner.api == REDIS and value.args:
            text = constant_text(value.args[0].value, constants)
            return Script(text is not None and is_compare_and_delete(text))
    return None


def _watch_callbacks(module: cst.Module, facts: CacheModuleFacts) -> None:
    """`r.transaction(func, *keys)`: `func` gets a pipeline watching `keys` (redis-py's WATCH helper)."""
    for call in _calls(module):
        if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "transaction" and call.args):
            continue
        first = call.args[0]
        if first.keyword is not None or not isinstance(first.value, cst.Name):
            continue
        watched: set[str] | None = set()
        for arg in call.args[1:]:
            if arg.keyword is not None:
                continue
            if arg.star or watched is None:
                watched = None
            else:
                watched.add(source_text(arg.value))
        facts.watch_callbacks[first.value.value] = frozenset(watched) if watched is not None else None


def _calls(node: cst.CSTNode) -> Iterator[cst.Call]:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Call):
            yield current
        stack.extend(current.children)


def _annotation_targets(node: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    if isinstance(node, cst.SimpleString):
        text = text_value(node)
        if text is None:
            return
        try:
            node = cst.parse_expression(text)
        except cst.ParserSyntaxError:
            return
    if isinstance(node, cst.Subscript):
        for element in node.slice:
            if isinstance(element.slice, cst.Index):
                yield from _annotation_targets(element.slice.value)
        return
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        yield from _annotation_targets(node.left)
        yield from _annotation_targets(node.right)
        return
    yield node


def _params(func: cst.FunctionDef) -> list[cst.Param]:
    return list(func.params.posonly_params) + list(func.params.params) + list(func.params.kwonly_params)
