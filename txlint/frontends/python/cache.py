"""Cache and distributed-lock recogniser: redis-py (sync and asyncio), Django's cache API, pymemcache, python-memcached.

What it knows: which objects are clients (constructors, `from_url`, Django's
`cache`/`caches[...]`, module globals, `self.<attr>` set in the class, typed
parameters — never a variable merely named `r`); what each command does to
its key (`set(nx=True, ex=...)` takes a lock with an expiry, `setnx` one
without, `add` is memcached's and Django's set-if-absent, `expire` gives an
expiry later, `delete` frees whoever holds the key); that a pipeline queues
its commands into one MULTI/EXEC unless `transaction=False` (then `multi()`
makes it one), that `watch()` runs commands at once until `multi()`, and that
`transaction(func, *keys)` calls `func` with such a watching pipeline; that a
Lua script comparing the stored token before `del` is a safe release, and
that redis-py's `Lock` (`lock()`) stores and checks its own token.

Everything it recognises becomes a `txlint.core.ir.CacheOp`; locks it sees taken
are handed to the walker (`hold`/`let_go`) so path states know which locks a
`return` or `raise` leaves with. When the client, the key or an option cannot
be read, it emits nothing rather than a guess.

It also notes, along each path, where other code last ran (a call it does not
recognise and that is no conversion, id/time maker or logging: the work a
cache check guards), so a write can be told apart as the claim made before
the work or the outcome recorded after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import libcst as cst

from txlint.core.ir import CacheKind, CacheOp, Dependency, RowOrigin, RowRef
from txlint.core.queries import takes_lock
from txlint.frontends.python.imports import ImportTable, dotted_name
from txlint.frontends.python.uses import FunctionUses
from txlint.frontends.python.values import AbstractValue, Data
from txlint.frontends.python.walker import NOT_MINE, FunctionWalker, NotMine, TxScope, source_text

REDIS = "redis"
DJANGO = "django"
PYMEMCACHE = "pymemcache"
MEMCACHE = "memcache"  # python-memcached

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
}
DJANGO_CACHE = "django.core.cache.cache"
DJANGO_CACHES = "django.core.cache.caches"
LOCK_CLASSES = {"redis.lock.Lock", "redis.asyncio.lock.Lock"}
PIPELINE_COMMANDS = {"multi", "watch", "unwatch", "execute", "reset", "discard"}
# Parameters naming the expiry, per library (redis-py `set` has several, handled apart).
_EXPIRY = {DJANGO: "timeout", PYMEMCACHE: "expire", MEMCACHE: "time"}
# Calls whose result is a marker value (a token, a timestamp) rather than computed data.
_MARKER_CALLS = {
    "uuid.uuid1", "uuid.uuid4", "time.time", "time.monotonic", "time.time_ns", "secrets.token_hex",
    "secrets.token_urlsafe", "secrets.token_bytes", "django.utils.timezone.now", "datetime.datetime.now",
    "datetime.datetime.utcnow", "os.getpid", "socket.gethostname",
}  # fmt: skip
# Calls that are not "work" a cache check guards: conversions, id/time makers, logging.
_NOT_WORK_BUILTINS = {
    "str", "int", "float", "bool", "bytes", "len", "repr", "isinstance", "issubclass", "hasattr", "getattr",
    "dict", "list", "tuple", "set", "frozenset", "min", "max", "abs", "round", "sorted", "reversed", "range",
    "enumerate", "zip", "any", "all", "type", "hash", "id", "format", "print", "sum", "divmod", "ord", "chr", "hex",
}  # fmt: skip
_NOT_WORK_MODULES = (
    "uuid.", "time.", "datetime.", "secrets.", "hashlib.", "hmac.", "json.", "math.", "base64.", "binascii.", "re.",
    "logging.", "warnings.", "django.utils.timezone.", "os.getpid", "socket.gethostname",
)  # fmt: skip
_NOT_WORK_METHODS = {
    "format", "encode", "decode", "join", "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "replace",
    "startswith", "endswith", "hex", "hexdigest", "isoformat", "strftime", "timestamp", "total_seconds",
}  # fmt: skip
_LOGGERS = re.compile(r"^_*(log|logger|logging)$", re.I)
_WORK = "<cache:work>"  # the walker-environment slot of the `WorkMark` (no variable can have this name)
# Words that name an owner token in a variable: `token`, `lock_token`, `uniqid`, `owner_id`, `self.nonce`.
_TOKEN_WORDS = {"token", "uuid", "guid", "uniqid", "uniq", "unique", "nonce", "owner", "holder", "ident", "identifier", "identity", "secret"}
_CALL_GET = re.compile(r"redis\.p?call\(\s*['\"]get['\"]", re.I)
_CALL_DEL = re.compile(r"redis\.p?call\(\s*['\"](del|unlink)['\"]", re.I)


@dataclass(frozen=True)
class WorkMark:
    """Other code (work) last ran on this path when the unit had `ops` ops. Kept in the walker's
    environment, so branches fork it and joins merge it like any variable."""

    ops: int


@dataclass(frozen=True)
class Client:
    """A cache or key-value store client of one library."""

    api: str


@dataclass(frozen=True)
class Pipeline:
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
class LockHandle:
    """A redis-py `Lock` object (from `r.lock(name, ...)` or `Lock(r, name, ...)`), not yet acquired."""

    key: str | None
    key_constant: bool
    ttl: bool | None


@dataclass(frozen=True)
class Script:
    """A registered Lua script, and whether it deletes a key only when it holds the caller's token."""

    compare_and_delete: bool


@dataclass(frozen=True)
class CacheModuleFacts:
    """What the module itself binds: global clients and scripts, client attributes of its classes,
    and the functions handed to `transaction(func, *keys)` with the keys they watch."""

    objects: dict[str, object] = field(default_factory=dict)
    attributes: dict[tuple[str, str], object] = field(default_factory=dict)
    watch_callbacks: dict[str, frozenset[str] | None] = field(default_factory=dict)


NO_FACTS = CacheModuleFacts()


# -- module-level facts ------------------------------------------------------------------------
def module_facts(module: cst.Module, imports: ImportTable, constants: dict[str, str]) -> CacheModuleFacts:
    """Pass over the module before its functions are walked."""
    if not any(imports.mentions(p) for p in ("redis", "django", "pymemcache", "memcache", "django_redis")):
        return NO_FACTS
    facts = CacheModuleFacts()
    for name, value in _module_assignments(module.body):
        found = _static_value(value, imports, facts.objects, constants, {})
        if found is not None:
            facts.objects[name] = found
    for cls in _classes(module.body):
        _class_attributes(cls, imports, constants, facts)
    if imports.mentions("redis"):
        _watch_callbacks(module, facts)
    return facts


def _module_assignments(body: object) -> Iterator[tuple[str, cst.BaseExpression]]:
    for statement in body if isinstance(body, (list, tuple)) else ():
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    yield small.targets[0].target.value, small.value
                elif isinstance(small, cst.AnnAssign) and small.value is not None and isinstance(small.target, cst.Name):
                    yield small.target.value, small.value


def _classes(body: object) -> Iterator[cst.ClassDef]:
    for statement in body if isinstance(body, (list, tuple)) else ():
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
                    api = _annotation_api(small.annotation.annotation, imports)
                    value = Client(api) if api else _static_value(small.value, imports, facts.objects, constants, {}) if small.value else None
                    if value is not None:
                        facts.attributes[(name, small.target.value)] = value
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
    value: cst.BaseExpression, imports: ImportTable, objects: dict[str, object], constants: dict[str, str], params: dict[str, cst.Param]
) -> object | None:
    """A client, script or lock a module-level (or `self.x =`) expression builds, or None."""
    if isinstance(value, cst.Name):
        if value.value in params:
            annotation = params[value.value].annotation
            api = _annotation_api(annotation.annotation, imports) if annotation else None
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
            text = _text(value.args[0].value, constants)
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


# -- the recogniser ----------------------------------------------------------------------------
class CacheRecogniser:
    """Turns cache and distributed-lock commands into `CacheOp`s."""

    def opens_transaction(self, walker: FunctionWalker, expr: cst.BaseExpression) -> TxScope | None:
        """`with lock:` for a lock object made earlier: the lock is taken for the block (never a transaction)."""
        if isinstance(expr, cst.Name):
            handle = walker.env.get(expr.value)
            if isinstance(handle, LockHandle):
                _Emitter(walker, expr).acquire_lock(handle, scoped=True)
        return None

    def parameter(self, walker: FunctionWalker, param: cst.Param) -> AbstractValue | None | NotMine:
        """A parameter annotated with a client type, or the pipeline a `transaction()` callback receives."""
        if param.annotation is not None:
            api = _annotation_api(param.annotation.annotation, walker.imports)
            if api is not None:
                return Client(api)  # type: ignore[return-value]
        facts = _facts(walker)
        name = walker.func.name.value
        if name in facts.watch_callbacks and _first_param(walker) is param:
            return Pipeline(None, transactional=True, immediate=True, watching=facts.watch_callbacks[name])  # type: ignore[return-value]
        return NOT_MINE

    def attribute_assigned(self, walker: FunctionWalker, target: cst.Attribute, value: cst.BaseExpression) -> bool:
        return False

    def attribute(self, walker: FunctionWalker, node: cst.Attribute, base: AbstractValue | None) -> AbstractValue | None | NotMine:
        if walker.class_name is None or not (isinstance(node.value, cst.Name) and node.value.value in {"self", "cls"}):
            return NOT_MINE
        found = _facts(walker).attributes.get((walker.class_name, node.attr.value))
        return found if found is not None else NOT_MINE  # type: ignore[return-value]

    def call(self, walker: FunctionWalker, node: cst.Call, receiver: AbstractValue | None) -> AbstractValue | None | NotMine:
        """A cache command (or client, lock, script); any other call may be work a cache check guards."""
        marks = _work_before(walker)
        marks.append(walker.env.get(_WORK))  # a command's own arguments run before it: not work after a check
        try:
            found = self._call(walker, node, receiver)
        finally:
            marks.pop()
        if isinstance(found, NotMine) and walker.scratch.get("cache:emitted") and _uses(walker).runs_here(node) and _is_work(walker, node):
            # Only work after some cache command can matter (it is compared with their indices).
            walker.env[_WORK] = WorkMark(len(walker.unit.ops))  # type: ignore[assignment]
        return found

    def _call(self, walker: FunctionWalker, node: cst.Call, receiver: AbstractValue | None) -> AbstractValue | None | NotMine:
        qualified = walker.imports.resolve(node.func)
        if qualified in CLIENT_TYPES and not _is_local(walker, node.func):
            _eval_args(walker, node)
            return Client(CLIENT_TYPES[qualified])  # type: ignore[return-value]
        if qualified in LOCK_CLASSES and not _is_local(walker, node.func):
            _eval_args(walker, node)
            return _Emitter(walker, node).lock_object(_arg(node, 1, "name"), _arg(node, 2, "timeout"))  # type: ignore[return-value]
        if isinstance(node.func, cst.Name):
            script = _named(walker, node.func)
            if isinstance(script, Script) and _uses(walker).runs_here(node):
                _eval_args(walker, node)
                return _Emitter(walker, node).script_release(script, _first_key(node))
            return NOT_MINE
        if not isinstance(node.func, cst.Attribute):
            return NOT_MINE
        owner = receiver if isinstance(receiver, (Client, Pipeline, LockHandle, Script)) else _named(walker, node.func.value)
        if owner is None or not _uses(walker).runs_here(node):
            return NOT_MINE  # not a client; or inside a lambda, which runs when called, not here
        method = node.func.attr.value
        if isinstance(owner, Client):
            return _client_call(walker, node, owner, method)
        if isinstance(owner, Pipeline):
            return _pipeline_call(walker, node, owner, method)
        if isinstance(owner, LockHandle):
            return _lock_call(walker, node, owner, method)
        return NOT_MINE


def _client_call(walker: FunctionWalker, node: cst.Call, client: Client, method: str) -> AbstractValue | None:
    """A command on a client; the arguments are evaluated here, so the walker must not do it again."""
    _eval_args(walker, node)
    if client.api == DJANGO and method == "lock":  # django-redis: a redis-py Lock
        return _Emitter(walker, node).lock_object(_arg(node, 0, "key"), _arg(node, 1, "timeout"))
    if client.api != REDIS:
        found = _Emitter(walker, node).memcache_like(client.api, _sync_name(client.api, method))
        return Data() if isinstance(found, NotMine) else found
    if method == "pipeline":
        transactional = not _is_false(_arg(node, 0, "transaction"))
        return Pipeline(_new_group(walker) if transactional else None, transactional)  # type: ignore[return-value]
    if method == "lock":
        return _Emitter(walker, node).lock_object(_arg(node, 0, "name"), _arg(node, 1, "timeout"))  # type: ignore[return-value]
    if method in {"register_script", "script_load"} and node.args:
        text = _text(node.args[0].value, walker.file.constants)
        return Script(text is not None and is_compare_and_delete(text))  # type: ignore[return-value]
    if method == "eval":
        return _Emitter(walker, node).eval_release(_script_of_text(walker, _arg(node, 0, "script")), node)
    if method == "evalsha":
        sha = _arg(node, 0, "sha")
        script = _named(walker, sha) if sha is not None else None
        return _Emitter(walker, node).eval_release(script if isinstance(script, Script) else None, node)
    found = _Emitter(walker, node).redis_command(method)
    return Data() if isinstance(found, NotMine) else found


def _sync_name(api: str, method: str) -> str:
    """Django's async cache methods (`aadd`, `aget`, ...) do what their sync namesakes do."""
    return method[1:] if api == DJANGO and method.startswith("a") and method[1:] in _DJANGO_METHODS else method


def _pipeline_call(walker: FunctionWalker, node: cst.Call, pipe: Pipeline, method: str) -> AbstractValue | None:
    _eval_args(walker, node)
    if method in PIPELINE_COMMANDS:
        updated = _pipeline_state(walker, node, pipe, method)
        if isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name) and node.func.value.value in walker.env:
            walker.env[node.func.value.value] = updated  # type: ignore[assignment]
        return Data() if method == "execute" else updated  # type: ignore[return-value]
    emitter = _Emitter(walker, node, pipe)
    result = emitter.redis_command(method)
    if pipe.immediate:
        return Data() if isinstance(result, NotMine) else result
    return pipe  # type: ignore[return-value]  # queued: the command returns the pipeline (chaining)


def _pipeline_state(walker: FunctionWalker, node: cst.Call, pipe: Pipeline, method: str) -> Pipeline:
    if method == "multi":
        return replace(pipe, group=_new_group(walker), immediate=False)
    if method == "watch":
        keys = frozenset(_key_text(walker, a.value) for a in node.args if a.keyword is None and not a.star)
        watching = None if pipe.watching is None or any(a.star for a in node.args) else pipe.watching | keys
        return replace(pipe, immediate=True, watching=watching)
    # execute/reset/discard/unwatch: a fresh start for the next batch.
    return Pipeline(_new_group(walker) if pipe.transactional else None, pipe.transactional)


def _lock_call(walker: FunctionWalker, node: cst.Call, handle: LockHandle, method: str) -> AbstractValue | None:
    _eval_args(walker, node)
    emitter = _Emitter(walker, node)
    if method == "acquire":
        return emitter.acquire_lock(handle, scoped=False)
    if method == "release":
        return emitter.release(handle.key, "release")
    return Data()


# -- emitting ops ------------------------------------------------------------------------------
_DJANGO_METHODS = {"add", "set", "get", "has_key", "delete", "incr", "decr", "get_or_set", "touch"}
_INCR = {"incr", "incrby", "incrbyfloat", "decr", "decrby"}
_DECR = {"decr", "decrby"}
_EXPIRE = {"expire", "pexpire", "expireat", "pexpireat"}


class _Emitter:
    """Builds the `CacheOp` of one call, with what the function's syntax says about its result."""

    def __init__(self, walker: FunctionWalker, node: cst.CSTNode, pipe: Pipeline | None = None) -> None:
        self.walker = walker
        self.node = node
        self.pipe = pipe
        self.uses = _uses(walker)

    @property
    def queued(self) -> bool:
        return self.pipe is not None and not self.pipe.immediate

    def emit(
        self,
        kind: CacheKind,
        command: str,
        key_node: cst.BaseExpression | None,
        known: tuple[str | None, bool] | None = None,
        stored: cst.BaseExpression | None = None,
        **fields: object,
    ) -> int:
        """Emit the op; `known` is (key, constant) when the key was read elsewhere (a lock object);
        `stored` is the value a write puts under the key."""
        if known is not None:
            key, constant = known
        else:
            key = _key_text(self.walker, key_node) if key_node is not None else None
            constant = key_node is not None and _constant_key(self.walker, key_node)
        place = self.uses.place_of(self.node)
        use = self.uses.use_of(self.node) if not self.queued else None  # type: ignore[arg-type]
        watched = self.pipe is not None and key is not None and (self.pipe.watching is None or key in self.pipe.watching)
        marks = _work_before(self.walker)
        mark = marks[-1] if marks else self.walker.env.get(_WORK)
        if kind is CacheKind.GET and use is not None and key is not None:
            fields["owner_check"] = any(self._token_like(other, key) for other in use.compared_to)
        op = CacheOp(
            self.walker.span(self.node),
            self.walker.tx,
            kind=kind,
            key=key,
            command=command,
            key_constant=constant,
            atomic_group=self.pipe.group if self.queued and self.pipe is not None else None,
            watched=watched,
            in_finally=place.in_finally,
            in_handler=place.in_handler,
            decides=use.decides if use else False,
            result_used=use.as_value if use else False,
            compared_with=tuple(sorted(use.compared_with)) if use else (),
            last_work=mark.ops if isinstance(mark, WorkMark) else None,
            under_claim=self._under_claim(),
            **fields,  # type: ignore[arg-type]
        )
        index = self.walker.emit(op)
        self.walker.scratch["cache:emitted"] = True
        if stored is not None and key is not None:
            _stored(self.walker).setdefault(key, set()).add(_key_text(self.walker, stored))
        if takes_lock(op):
            if op.scoped:
                _scoped(self.walker).add(id(self.node))
            else:
                self.walker.hold(index)
            _taken(self.walker).append((index, key))
        elif kind in {CacheKind.DELETE, CacheKind.RELEASE} and key is not None:
            self.walker.let_go(i for i, taken in _taken(self.walker) if taken == key)
        return index

    def _under_claim(self) -> bool:
        """Every path here holds a lock taken atomically and used as one (its result decides, or a
        lock object), or the command runs in the body of a `with` that holds one."""
        states = self.walker.paths.states
        ops = self.walker.unit.ops

        def claims(index: int) -> bool:
            op = ops[index]
            return isinstance(op, CacheOp) and (op.decides or op.lock_object)

        if states and all(any(claims(i) for i in state.held) for state in states):
            return True
        scoped = _scoped(self.walker)
        child: cst.CSTNode = self.node
        parent = self.uses.parent(child)
        while parent is not None:
            if isinstance(parent, cst.With) and child is parent.body and any(id(item.item) in scoped for item in parent.items):
                return True
            child, parent = parent, self.uses.parent(parent)
        return False

    def _token_like(self, other: cst.BaseExpression, key: str) -> bool:
        """A value a stored owner token is compared with: named like a token, generated here
        (uuid4, a timestamp, the pid), or the value this function wrote under the same key."""
        if _key_text(self.walker, other) in _stored(self.walker).get(key, ()):
            return True
        return _token_named(other) or _generated(self.walker, other)

    def result(self, index: int) -> AbstractValue:
        return Data(frozenset({Dependency(RowRef(RowOrigin.READ, index, ""), None)}))

    # -- redis-py commands -------------------------------------------------------------------
    def redis_command(self, method: str) -> AbstractValue | None | NotMine:
        node = self.node
        assert isinstance(node, cst.Call)
        key = _arg(node, 0, "name")
        if key is None:
            return NOT_MINE
        if method == "set":
            return self._redis_set(node, key)
        if method in {"setex", "psetex"}:
            value = _arg(node, 2, "value")
            return self.result(self.emit(CacheKind.SET, method, key, stored=value, ttl=True, flag_value=_marker(self.walker, value)))
        if method == "setnx":
            return self.result(self.emit(CacheKind.ACQUIRE, method, key, stored=_arg(node, 1, "value"), nx=True, ttl=False))
        if method in {"get", "exists"}:
            return self.result(self.emit(CacheKind.GET, method, key))
        if method in {"delete", "unlink", "getdel"}:
            keys = [a.value for a in node.args if a.keyword is None and not a.star] if method != "getdel" else [key]
            last = None
            for each in keys:
                last = self.emit(CacheKind.DELETE, method, each)
            return self.result(last) if last is not None else Data()
        if method in _EXPIRE:
            return self.result(self.emit(CacheKind.EXPIRE, method, key, ttl=True))
        if method in _INCR:
            return self.result(self.emit(CacheKind.INCR, method, key, decrement=method in _DECR))
        return NOT_MINE

    def _redis_set(self, node: cst.Call, key: cst.BaseExpression) -> AbstractValue | None | NotMine:
        nx = _arg(node, 4, "nx")
        if nx is not None and not _is_literal_bool(nx):
            return Data()  # decided at run time: no guess
        expiry = [_arg(node, 2, "ex"), _arg(node, 3, "px"), _arg(node, 8, "exat"), _arg(node, 9, "pxat")]
        ttl: bool | None = any(e is not None and not _is_none(e) for e in expiry)
        if not ttl and (_has_star_kwargs(node) or _is_true(_arg(node, 6, "keepttl"))):
            ttl = None
        value = _arg(node, 1, "value")
        if _is_true(nx):
            return self.result(self.emit(CacheKind.ACQUIRE, "set", key, stored=value, nx=True, ttl=ttl))
        return self.result(self.emit(CacheKind.SET, "set", key, stored=value, ttl=ttl, flag_value=_marker(self.walker, value)))

    # -- Django cache, pymemcache, python-memcached -----------------------------------------------
    def memcache_like(self, api: str, method: str) -> AbstractValue | None | NotMine:
        node = self.node
        assert isinstance(node, cst.Call)
        key = _arg(node, 0, "key")
        if key is None:
            return NOT_MINE
        if method in {"add", "set"}:
            ttl = _expiry(node, api, 2)
            value = _arg(node, 1, "value" if api != MEMCACHE else "val")
            if method == "add":
                return self.result(self.emit(CacheKind.ACQUIRE, method, key, stored=value, nx=True, ttl=ttl))
            return self.result(self.emit(CacheKind.SET, method, key, stored=value, ttl=ttl, flag_value=_marker(self.walker, value)))
        if method in {"get", "gets", "has_key"}:
            return self.result(self.emit(CacheKind.GET, method, key))
        if method == "get_or_set" and api == DJANGO:
            return self.result(self.emit(CacheKind.GET_OR_SET, method, key, ttl=_expiry(node, api, 2)))
        if method == "cas" and api != DJANGO:
            return self.result(self.emit(CacheKind.CAS, method, key, ttl=None))
        if method == "delete":
            return self.result(self.emit(CacheKind.DELETE, method, key))
        if method in {"incr", "decr"}:
            return self.result(self.emit(CacheKind.INCR, method, key, decrement=method == "decr"))
        if method == "touch" and _expiry(node, api, 1):
            return self.result(self.emit(CacheKind.EXPIRE, method, key, ttl=True))
        return NOT_MINE

    # -- locks and scripts ---------------------------------------------------------------------
    def lock_object(self, name: cst.BaseExpression | None, timeout: cst.BaseExpression | None) -> AbstractValue | None:
        """`r.lock(name, timeout=...)` / `Lock(r, name, ...)`: taken here when it is a `with` item."""
        if name is None:
            return None
        ttl: bool | None = timeout is not None and not _is_none(timeout)
        if not ttl and isinstance(self.node, cst.Call) and _has_star_kwargs(self.node):
            ttl = None
        handle = LockHandle(_key_text(self.walker, name), _constant_key(self.walker, name), ttl)
        if self.uses.place_of(self.node).with_item:
            self.acquire_lock(handle, scoped=True)
        return handle  # type: ignore[return-value]

    def acquire_lock(self, handle: LockHandle, scoped: bool) -> AbstractValue:
        known = (handle.key, handle.key_constant)
        command = "lock" if scoped else "acquire"
        return self.result(self.emit(CacheKind.ACQUIRE, command, None, known, nx=True, ttl=handle.ttl, scoped=scoped, lock_object=True))

    def release(self, key: str | None, command: str) -> AbstractValue:
        """An owner-checked release of the lock on `key`."""
        op = CacheOp(self.walker.span(self.node), self.walker.tx, kind=CacheKind.RELEASE, key=key, command=command)
        place = self.uses.place_of(self.node)
        index = self.walker.emit(replace(op, in_finally=place.in_finally, in_handler=place.in_handler))
        if key is not None:
            self.walker.let_go(i for i, taken in _taken(self.walker) if taken == key)
        return self.result(index)

    def script_release(self, script: Script, keys: list[cst.BaseExpression]) -> AbstractValue:
        if not script.compare_and_delete or not keys:
            return Data()
        last: AbstractValue = Data()
        for key in keys:
            last = self.release(_key_text(self.walker, key), "script")
        return last

    def eval_release(self, script: Script | None, node: cst.Call) -> AbstractValue:
        """`eval(script, numkeys, *keys, *args)` / `evalsha(sha, ...)` of a compare-and-delete."""
        if script is None or not script.compare_and_delete:
            return Data()
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        if len(positional) < 2 or not isinstance(positional[1], cst.Integer):
            return Data()
        count = int(positional[1].value)
        return self.script_release(script, positional[2 : 2 + count])


# -- helpers -----------------------------------------------------------------------------------
def _facts(walker: FunctionWalker) -> CacheModuleFacts:
    facts = walker.file.facts.get("cache")
    return facts if isinstance(facts, CacheModuleFacts) else NO_FACTS


def _uses(walker: FunctionWalker) -> FunctionUses:
    uses = walker.scratch.get("cache:uses")
    if not isinstance(uses, FunctionUses):
        uses = walker.scratch["cache:uses"] = FunctionUses(walker.func)
    return uses


def _work_before(walker: FunctionWalker) -> list[object]:
    """The work marks as they were when each cache call being read began (before its arguments ran)."""
    marks = walker.scratch.setdefault("cache:work-before", [])
    assert isinstance(marks, list)
    return marks


def _stored(walker: FunctionWalker) -> dict[str, set[str]]:
    """The values (normalised text) the function wrote under each key so far."""
    stored = walker.scratch.setdefault("cache:stored", {})
    assert isinstance(stored, dict)
    return stored


def _scoped(walker: FunctionWalker) -> set[int]:
    """`with` items (node ids) that took a lock for their block."""
    scoped = walker.scratch.setdefault("cache:scoped", set())
    assert isinstance(scoped, set)
    return scoped


def _is_work(walker: FunctionWalker, node: cst.Call) -> bool:
    """A call of other code, which a cache check may be guarding: not a conversion or other pure
    builtin, an id/time maker, a string method or logging."""
    func = node.func
    if isinstance(func, cst.Name) and func.value in _NOT_WORK_BUILTINS and func.value not in walker.env:
        return False
    qualified = walker.imports.resolve(func) or ""
    if qualified in _MARKER_CALLS or qualified.startswith(_NOT_WORK_MODULES):
        return False
    if isinstance(func, cst.Attribute):
        if func.attr.value in _NOT_WORK_METHODS:
            return False
        owner = dotted_name(func.value)
        if owner is not None and _LOGGERS.match(owner.rsplit(".", 1)[-1]):
            return False
    return True


def _token_named(node: cst.BaseExpression, depth: int = 0) -> bool:
    """`token`, `self.lock_token`, `token.encode()`, `str(owner_id)`: a variable named like an owner token."""
    if depth > 5:
        return False
    if isinstance(node, (cst.Name, cst.Attribute)):
        name = node.value if isinstance(node, cst.Name) else node.attr.value
        words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower().split("_")
        return any(word in _TOKEN_WORDS for word in words)
    if isinstance(node, cst.Call):
        if isinstance(node.func, cst.Attribute):
            return _token_named(node.func.value, depth + 1)  # `token.encode()`
        if isinstance(node.func, cst.Name) and node.func.value in _CONVERSIONS and node.args:
            return _token_named(node.args[0].value, depth + 1)
    return False


def _generated(walker: FunctionWalker, node: cst.BaseExpression, depth: int = 0) -> bool:
    """The value comes from an id or time maker called here (`uuid.uuid4()`, `time.time()`,
    `os.getpid()`), perhaps converted or formatted, possibly through a variable bound once."""
    if depth > 5:
        return False
    if isinstance(node, cst.Name):
        bound = _uses(walker).bound_once(node.value)
        return bound is not None and _generated(walker, bound, depth + 1)
    if isinstance(node, cst.Attribute):
        return _generated(walker, node.value, depth + 1)  # `uuid4().hex`
    if isinstance(node, cst.Call):
        if walker.imports.resolve(node.func) in _MARKER_CALLS:
            return True
        if isinstance(node.func, cst.Attribute):
            return _generated(walker, node.func.value, depth + 1)  # `token.encode()`
        if isinstance(node.func, cst.Name) and node.func.value in _CONVERSIONS:
            return any(_generated(walker, a.value, depth + 1) for a in node.args)
        return False
    if isinstance(node, cst.FormattedString):
        return any(isinstance(p, cst.FormattedStringExpression) and _generated(walker, p.expression, depth + 1) for p in node.parts)
    if isinstance(node, cst.BinaryOperation):
        return _generated(walker, node.left, depth + 1) or _generated(walker, node.right, depth + 1)
    return False


_CONVERSIONS = {"str", "bytes", "int", "float", "repr"}


def _taken(walker: FunctionWalker) -> list[tuple[int, str | None]]:
    """Locks taken in the function so far: (op index, key)."""
    taken = walker.scratch.setdefault("cache:taken", [])
    assert isinstance(taken, list)
    return taken


def _new_group(walker: FunctionWalker) -> int:
    group = walker.scratch.get("cache:groups", 0)
    assert isinstance(group, int)
    walker.scratch["cache:groups"] = group + 1
    return group


def _first_param(walker: FunctionWalker) -> cst.Param | None:
    params = list(walker.func.params.posonly_params) + list(walker.func.params.params)
    if params and walker.class_name is not None and params[0].name.value in {"self", "cls"}:
        params = params[1:]
    return params[0] if params else None


def _named(walker: FunctionWalker, node: cst.BaseExpression) -> object | None:
    """The client, script or lock an expression names: a local, a module global, Django's cache."""
    if isinstance(node, cst.Name):
        if node.value in walker.env:
            value = walker.env[node.value]
            return value if isinstance(value, (Client, Pipeline, LockHandle, Script)) else None
        found = _facts(walker).objects.get(node.value)
        if found is None and walker.imports.resolve(node) == DJANGO_CACHE:
            found = Client(DJANGO)
        if found is None or _uses(walker).is_local(node.value):
            return None  # a local bound later in the function (a loop) is not the global
        return found
    if isinstance(node, cst.Subscript):
        return Client(DJANGO) if walker.imports.resolve(node.value) == DJANGO_CACHES else None
    return None


def _is_local(walker: FunctionWalker, func: cst.BaseExpression) -> bool:
    """The head of a dotted name is a local variable, not the imported module it shadows."""
    head = dotted_name(func)
    return head is not None and head.split(".")[0] in walker.env


def _annotation_api(annotation: cst.BaseExpression, imports: ImportTable) -> str | None:
    """The client library an annotation names: `Redis`, `Optional[Redis]`, `Redis | None`, `"Redis"`."""
    for target in _annotation_targets(annotation):
        qualified = imports.resolve(target)
        if qualified in CLIENT_TYPES and not qualified.endswith(".from_url") and "." in qualified:
            return CLIENT_TYPES[qualified]
    return None


def _annotation_targets(node: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        try:
            node = cst.parse_expression(node.evaluated_value)
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


def _eval_args(walker: FunctionWalker, node: cst.Call) -> None:
    for arg in node.args:
        walker.eval(arg.value)


def _arg(node: cst.Call, position: int | None, keyword: str) -> cst.BaseExpression | None:
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    positional = [a for a in node.args if a.keyword is None]
    if any(a.star for a in positional[: (position or 0) + 1]):
        return None
    if position is not None and len(positional) > position:
        return positional[position].value
    return None


def _has_star_kwargs(node: cst.Call) -> bool:
    return any(a.star == "**" for a in node.args)


def _first_key(node: cst.Call) -> list[cst.BaseExpression]:
    """The keys a registered script is called with: `script(keys=[k], args=[...])` or `script([k], [...])`."""
    keys = _arg(node, 0, "keys")
    if isinstance(keys, (cst.List, cst.Tuple)):
        return [e.value for e in keys.elements if not isinstance(e, cst.StarredElement)]
    return []


def _expiry(node: cst.Call, api: str, position: int) -> bool | None:
    """Whether an add/set/touch gives an expiry. Django: the default timeout is one, `None` is none;
    memcached: the default 0 is none."""
    value = _arg(node, position, _EXPIRY[api])
    if value is None:
        return None if _has_star_kwargs(node) else api == DJANGO
    if _is_none(value):
        return False
    if isinstance(value, cst.Integer) and int(value.value) == 0:
        return api == DJANGO  # Django: 0 expires at once; memcached: never
    return True


def _key_text(walker: FunctionWalker, node: cst.BaseExpression) -> str:
    """A key's normalised text: a local bound exactly once stands for the expression bound to it."""
    uses = _uses(walker)
    for _ in range(5):
        if not isinstance(node, cst.Name):
            break
        bound = uses.bound_once(node.value)
        if bound is None:
            break
        node = bound
    return source_text(node)


def _constant_key(walker: FunctionWalker, node: cst.BaseExpression, depth: int = 0) -> bool:
    """The key is built from constant strings alone (literals, module string constants)."""
    if depth > 5:
        return False
    if isinstance(node, cst.SimpleString):
        return True
    if isinstance(node, cst.ConcatenatedString):
        return _constant_key(walker, node.left, depth + 1) and _constant_key(walker, node.right, depth + 1)  # type: ignore[arg-type]
    if isinstance(node, cst.FormattedString):
        return all(
            isinstance(part, cst.FormattedStringText)
            or (isinstance(part, cst.FormattedStringExpression) and _constant_key(walker, part.expression, depth + 1))
            for part in node.parts
        )
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return _constant_key(walker, node.left, depth + 1) and _constant_key(walker, node.right, depth + 1)
    if isinstance(node, cst.Name):
        uses = _uses(walker)
        if uses.is_local(node.value):
            bound = uses.bound_once(node.value)
            return bound is not None and _constant_key(walker, bound, depth + 1)
        return node.value in walker.file.constants
    return False


def _marker(walker: FunctionWalker, node: cst.BaseExpression | None, depth: int = 0) -> bool:
    """The value written is a marker: a literal, a variable or parameter, a token or a timestamp —
    not data computed by some other call (a cache fill)."""
    if node is None or depth > 5:
        return False
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.Name):
        bound = _uses(walker).bound_once(node.value)
        return True if bound is None else _marker(walker, bound, depth + 1)
    if isinstance(node, cst.Attribute):
        return _marker(walker, node.value, depth + 1) if isinstance(node.value, cst.Call) else True
    if isinstance(node, cst.Call):
        if walker.imports.resolve(node.func) in _MARKER_CALLS:
            return True
        if isinstance(node.func, cst.Name) and node.func.value in {"str", "int", "float"} and len(node.args) == 1:
            return _marker(walker, node.args[0].value, depth + 1)
    return False


def _text(node: cst.BaseExpression, constants: dict[str, str]) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.Name):
        return constants.get(node.value)
    return None


def _script_of_text(walker: FunctionWalker, node: cst.BaseExpression | None) -> Script | None:
    if node is None:
        return None
    if isinstance(node, cst.Name) and node.value in walker.env:
        value = walker.env[node.value]
        text = value.text if isinstance(value, Data) else None
    else:
        text = _text(node, walker.file.constants)
    return Script(is_compare_and_delete(text)) if text is not None else None


def is_compare_and_delete(script: str) -> bool:
    """A Lua script that reads the key and deletes it, comparing with an argument (the caller's token)."""
    return bool(_CALL_GET.search(script) and _CALL_DEL.search(script) and "argv" in script.lower())


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _is_true(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "True" or isinstance(node, cst.Integer) and int(node.value, 0) != 0


def _is_false(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def _is_literal_bool(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value in {"True", "False", "None"} or isinstance(node, cst.Integer)
