"""Builds the `CacheOp` of one command, with what the function's code says about its result.

Besides the command itself, an op records how its result is used (tested
by a branch, compared with literals or with a token, used as data), where it
sits (a `finally`, an `except`), the MULTI/EXEC transaction it is queued in,
whether the key is WATCHed, where other code last ran on the path before
it, and whether every path to it holds a lock taken atomically. Locks it
takes are handed to the interpreter (`hold`), so exits know which locks a
path leaves with; deletes and releases let them go.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import libcst as cst

from txlint.core.ir import CacheKind, CacheOp, Dependency, RowOrigin, RowRef
from txlint.core.queries import takes_lock
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.state import Facet
from txlint.frontends.python.interpret.values import UNKNOWN, Data, Value
from txlint.frontends.python.recognisers.cache.clients import DJANGO, FLASK, MEMCACHE, LockHandle, Pipeline, Script
from txlint.frontends.python.recognisers.cache.commands import MEMCACHE_COMMANDS, REDIS_COMMANDS, Command
from txlint.frontends.python.recognisers.cache.syntax import (
    arg,
    constant_key,
    expiry,
    generated,
    has_star_kwargs,
    is_literal_bool,
    is_none,
    is_true,
    key_text,
    marker,
    token_named,
)


@dataclass(frozen=True)
class CacheTrail(Facet):
    """Along one path: the last cache command (`last`, an op index) and where other code last ran
    (`work`: one past the last cache command before it; None: no work after any command)."""

    last: int | None = None
    work: int | None = None

    def join(self, other: Facet) -> Facet:
        if not isinstance(other, CacheTrail):
            return self
        return CacheTrail(_max(self.last, other.last), _max(self.work, other.work))


def _max(left: int | None, right: int | None) -> int | None:
    return right if left is None else left if right is None else max(left, right)


@dataclass
class CacheMemo:
    """Per function, whatever the path: locks taken (op → key), values written per key, `with`
    items holding a lock, MULTI/EXEC groups by the call that started them, the trail as it was
    when each command being read began (its own arguments are not work after a check)."""

    taken: dict[int, str | None] = field(default_factory=dict)
    stored: dict[str, set[str]] = field(default_factory=dict)
    scoped: set[int] = field(default_factory=set)
    groups: dict[int, int] = field(default_factory=dict)
    trails: list[CacheTrail] = field(default_factory=list)
    emitted: bool = False

    def group(self, node: cst.CSTNode) -> int:
        return self.groups.setdefault(id(node), len(self.groups))


def memo(ctx: Context) -> CacheMemo:
    return ctx.memo(CacheMemo, CacheMemo)


def trail(ctx: Context) -> CacheTrail:
    return ctx.facet(CacheTrail, CacheTrail())


class Emitter:
    """Emits the op of one command node (queued in `pipe` when it is a pipeline's)."""

    def __init__(self, ctx: Context, node: cst.CSTNode, pipe: Pipeline | None = None) -> None:
        self.ctx = ctx
        self.node = node
        self.pipe = pipe
        self.memo = memo(ctx)

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
        *,
        ttl: bool | None = False,
        flag_value: bool = False,
        decrement: bool = False,
        scoped: bool = False,
        lock_object: bool = False,
    ) -> int:
        """Emit the op; `known` is (key, constant) when the key was read elsewhere (a lock object);
        `stored` is the value a write puts under the key; the other fields are `CacheOp`'s."""
        ctx = self.ctx
        if known is not None:
            key, constant = known
        else:
            key = key_text(ctx, key_node) if key_node is not None else None
            constant = key_node is not None and constant_key(ctx, key_node)
        place = ctx.uses.place_of(self.node)
        use = ctx.uses.use_of(self.node) if not self.queued and isinstance(self.node, cst.BaseExpression) else None
        watched = self.pipe is not None and key is not None and (self.pipe.watching is None or key in self.pipe.watching)
        before = self.memo.trails[-1] if self.memo.trails else trail(ctx)
        owner_check = kind is CacheKind.GET and use is not None and key is not None and any(self._token_like(other, key) for other in use.compared_to)
        op = CacheOp(
            ctx.span(self.node),
            ctx.tx,
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
            returned=use.returned if use else False,
            compared_with=tuple(sorted(use.compared_with)) if use else (),
            last_work=before.work,
            under_claim=self._under_claim(),
            ttl=ttl,
            flag_value=flag_value,
            decrement=decrement,
            scoped=scoped,
            lock_object=lock_object,
            owner_check=owner_check,
        )
        index = ctx.emit(op)
        self._after(index, op, key, stored)
        if kind is CacheKind.GET and place.in_finally and use is not None and use.decides and key is not None:
            # In `finally`, a read of the lock's key that decides is the release's owner check
            # (`if r.get(key) == token: r.delete(key)`): where it fails the lock is no longer the
            # caller's, so no path leaves holding it from here (clarification 22: not TX204).
            ctx.let_go(i for i, taken in self.memo.taken.items() if taken == key)
        return index

    def _after(self, index: int, op: CacheOp, key: str | None, stored: cst.BaseExpression | None) -> None:
        ctx = self.ctx
        self.memo.emitted = True
        ctx.set_facet(replace(trail(ctx), last=index))
        if stored is not None and key is not None:
            self.memo.stored.setdefault(key, set()).add(key_text(ctx, stored))
        if takes_lock(op):
            if op.scoped:
                self.memo.scoped.add(id(self.node))
            else:
                ctx.hold(index)
            self.memo.taken[index] = key
        elif op.kind in {CacheKind.DELETE, CacheKind.RELEASE} and key is not None:
            ctx.let_go(i for i, taken in self.memo.taken.items() if taken == key)

    def _under_claim(self) -> bool:
        """Every path here holds a lock taken atomically and used as one (its result decides, or a
        lock object), or the command runs in the body of a `with` that holds one."""
        ctx = self.ctx

        def claims(index: int) -> bool:
            op = ctx.op(index)
            return isinstance(op, CacheOp) and (op.decides or op.lock_object)

        paths = ctx.paths
        if paths and all(any(claims(i) for i in path.held) for path in paths):
            return True
        child: cst.CSTNode = self.node
        parent = ctx.uses.parent(child)
        while parent is not None:
            if isinstance(parent, cst.With) and child is parent.body and any(id(item.item) in self.memo.scoped for item in parent.items):
                return True
            child, parent = parent, ctx.uses.parent(parent)
        return False

    def _token_like(self, other: cst.BaseExpression, key: str) -> bool:
        """A value a stored owner token is compared with: named like a token, generated here
        (uuid4, a timestamp, the pid), or the value this function wrote under the same key."""
        if key_text(self.ctx, other) in self.memo.stored.get(key, ()):
            return True
        return token_named(other) or generated(self.ctx, other)

    def result(self, index: int) -> Value:
        return Data(frozenset({Dependency(RowRef(RowOrigin.READ, index, ""), None)}))

    # -- redis-py commands -------------------------------------------------------------------
    def redis_command(self, method: str) -> Value | None:
        node = self.node
        assert isinstance(node, cst.Call)
        key = arg(node, 0, "name")
        if key is None:
            return None
        if method == "set":
            return self._redis_set(node, key)
        command = REDIS_COMMANDS.get(method)
        if command is None:
            return None
        return self._command(node, method, key, command)

    def _command(self, node: cst.Call, method: str, key: cst.BaseExpression, command: Command) -> Value:
        if command.every_key:
            keys = [a.value for a in node.args if a.keyword is None and not a.star]
            last = None
            for each in keys:
                last = self.emit(command.kind, method, each)
            return self.result(last) if last is not None else Data()
        value = arg(node, *command.value) if command.value is not None else None
        flag_value = command.kind is CacheKind.SET and marker(self.ctx, value)
        ttl = command.ttl if command.kind in (CacheKind.ACQUIRE, CacheKind.SET, CacheKind.EXPIRE) else False
        return self.result(self.emit(command.kind, method, key, stored=value, ttl=ttl, flag_value=flag_value, decrement=command.decrement))

    def _redis_set(self, node: cst.Call, key: cst.BaseExpression) -> Value:
        nx = arg(node, 4, "nx")
        if nx is not None and not is_literal_bool(nx):
            return Data()  # decided at run time: no guess
        expiries = [arg(node, 2, "ex"), arg(node, 3, "px"), arg(node, 8, "exat"), arg(node, 9, "pxat")]
        ttl: bool | None = any(e is not None and not is_none(e) for e in expiries)
        if not ttl and (has_star_kwargs(node) or is_true(arg(node, 6, "keepttl"))):
            ttl = None
        value = arg(node, 1, "value")
        if is_true(nx):
            return self.result(self.emit(CacheKind.ACQUIRE, "set", key, stored=value, ttl=ttl))
        return self.result(self.emit(CacheKind.SET, "set", key, stored=value, ttl=ttl, flag_value=marker(self.ctx, value)))

    # -- Django cache, pymemcache, python-memcached -----------------------------------------------
    def memcache_like(self, api: str, method: str) -> Value | None:
        node = self.node
        assert isinstance(node, cst.Call)
        key = arg(node, 0, "key")
        if key is None:
            return None
        # Flask-Caching's default timeout (300 s) never expires when the project sets it to 0.
        default_expires = api != FLASK or self.ctx.file.index.setting("CACHE_DEFAULT_TIMEOUT") != "0"
        if method in {"add", "set"}:
            ttl = expiry(node, api, 2, default_expires)
            value = arg(node, 1, "value" if api != MEMCACHE else "val")
            if method == "add":
                return self.result(self.emit(CacheKind.ACQUIRE, method, key, stored=value, ttl=ttl))
            return self.result(self.emit(CacheKind.SET, method, key, stored=value, ttl=ttl, flag_value=marker(self.ctx, value)))
        if method == "get_or_set" and api == DJANGO:
            return self.result(self.emit(CacheKind.GET_OR_SET, method, key, ttl=expiry(node, api, 2)))
        if method == "cas" and api != DJANGO:
            return self.result(self.emit(CacheKind.CAS, method, key, ttl=None))
        if method == "touch" and expiry(node, api, 1):
            return self.result(self.emit(CacheKind.EXPIRE, method, key, ttl=True))
        command = MEMCACHE_COMMANDS.get(method)
        return self._command(node, method, key, command) if command is not None else None

    # -- locks and scripts ---------------------------------------------------------------------
    def lock_object(self, name: cst.BaseExpression | None, timeout: cst.BaseExpression | None) -> Value:
        """`r.lock(name, timeout=...)` / `Lock(r, name, ...)`: taken here when it is a `with` item."""
        if name is None:
            return UNKNOWN
        ttl: bool | None = timeout is not None and not is_none(timeout)
        if not ttl and isinstance(self.node, cst.Call) and has_star_kwargs(self.node):
            ttl = None
        handle = LockHandle(key_text(self.ctx, name), constant_key(self.ctx, name), ttl)
        if self.ctx.uses.place_of(self.node).with_item:
            self.acquire_lock(handle, scoped=True)
        return handle

    def acquire_lock(self, handle: LockHandle, scoped: bool) -> Value:
        known = (handle.key, handle.key_constant)
        command = "lock" if scoped else "acquire"
        return self.result(self.emit(CacheKind.ACQUIRE, command, None, known, ttl=handle.ttl, scoped=scoped, lock_object=True))

    def release(self, key: str | None, command: str) -> Value:
        """An owner-checked release of the lock on `key`."""
        ctx = self.ctx
        place = ctx.uses.place_of(self.node)
        op = CacheOp(ctx.span(self.node), ctx.tx, kind=CacheKind.RELEASE, key=key, command=command, in_finally=place.in_finally, in_handler=place.in_handler)
        index = ctx.emit(op)
        if key is not None:
            ctx.let_go(i for i, taken in self.memo.taken.items() if taken == key)
        return self.result(index)

    def script_release(self, script: Script, keys: list[cst.BaseExpression]) -> Value:
        if not script.compare_and_delete or not keys:
            return Data()
        last: Value = Data()
        for key in keys:
            last = self.release(key_text(self.ctx, key), "script")
        return last

    def eval_release(self, script: Script | None, node: cst.Call) -> Value:
        """`eval(script, numkeys, *keys, *args)` / `evalsha(sha, ...)` of a compare-and-delete."""
        if script is None or not script.compare_and_delete:
            return Data()
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        if len(positional) < 2 or not isinstance(positional[1], cst.Integer):
            return Data()
        count = int(positional[1].value)
        return self.script_release(script, positional[2 : 2 + count])
