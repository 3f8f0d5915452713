"""Cache and distributed-lock recogniser: redis-py (sync and asyncio), Django's cache API, pymemcache, python-memcached.

What it knows: which objects are clients (`clients`); what each command does
to its key (`commands`: `set(nx=True, ex=...)` takes a lock with an expiry,
`setnx` one without, `add` is memcached's and Django's set-if-absent,
`expire` gives an expiry later, `delete` frees whoever holds the key); that a
pipeline queues its commands into one MULTI/EXEC unless `transaction=False`
(then `multi()` makes it one), that `watch()` runs commands at once until
`multi()`, and that `transaction(func, *keys)` calls `func` with such a
watching pipeline; that a Lua script comparing the stored token before `del`
is a safe release, and that redis-py's `Lock` (`lock()`) stores and checks
its own token.

Everything it recognises becomes a `CacheOp` (`emitter`). When the client,
the key or an option cannot be read, it emits nothing rather than a guess.
Any other call may be work a cache check guards: where it runs is noted on
the path, so a write can be told apart as the claim made before the work or
the outcome recorded after it.
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from txlint.core.ir import CacheKind, RowOrigin
from txlint.core.summaries import FunctionSummary
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.expressions import source_text
from txlint.frontends.python.interpret.values import Data, Parameter, Unknown, Value
from txlint.frontends.python.recognisers.base import Recogniser, TxScope
from txlint.frontends.python.recognisers.cache.clients import (
    CLIENT_TYPES,
    DJANGO,
    DJANGO_CACHE,
    DJANGO_CACHES,
    FLASK,
    LOCK_CLASSES,
    REDIS,
    Client,
    LockHandle,
    Pipeline,
    Script,
    annotation_api,
    constant_text,
    is_compare_and_delete,
    redis_by_use,
)
from txlint.frontends.python.recognisers.cache.commands import DJANGO_METHODS, PIPELINE_COMMANDS
from txlint.frontends.python.recognisers.cache.emitter import Emitter, memo, trail
from txlint.frontends.python.recognisers.cache.syntax import arg, facts, is_false, is_local, is_work, key_text, named, script_keys, script_of_text
from txlint.frontends.python.recognisers.project_names import argument, summary_called


class CacheRecogniser(Recogniser):
    """Turns cache and distributed-lock commands into `CacheOp`s."""

    names = frozenset({*CLIENT_TYPES, *LOCK_CLASSES, DJANGO_CACHE, DJANGO_CACHES})

    def opens_transaction(self, ctx: Context, expr: cst.BaseExpression) -> TxScope | None:
        """`with lock:` for a lock object made earlier: the lock is taken for the block (never a transaction)."""
        if isinstance(expr, cst.Name):
            handle = ctx.lookup(expr.value)
            if isinstance(handle, LockHandle):
                Emitter(ctx, expr).acquire_lock(handle, scoped=True)
        return None

    def parameter(self, ctx: Context, param: cst.Param) -> Value | None:
        """A parameter annotated with a client type, or the pipeline a `transaction()` callback receives."""
        if param.annotation is not None:
            api = annotation_api(param.annotation.annotation, ctx.imports)
            if api is not None:
                return Client(api)
        callbacks = facts(ctx).watch_callbacks
        name = ctx.func.name.value
        if name in callbacks and _first_param(ctx) is param:
            return Pipeline(None, transactional=True, immediate=True, watching=callbacks[name])
        return None

    def attribute(self, ctx: Context, node: cst.Attribute, base: Value) -> Value | None:
        if ctx.class_name is None or not (isinstance(node.value, cst.Name) and node.value.value in {"self", "cls"}):
            return None
        return facts(ctx).attributes.get((ctx.class_name, node.attr.value))

    def call(self, ctx: Context, node: cst.Call, receiver: Value | None) -> Value | None:
        """A cache command (or client, lock, script); any other call may be work a cache check guards."""
        notes = memo(ctx)
        notes.trails.append(trail(ctx))  # a command's own arguments run before it: not work after a check
        try:
            found = self._call(ctx, node, receiver)
        finally:
            notes.trails.pop()
        if found is None and notes.emitted and ctx.uses.runs_here(node) and is_work(ctx, node):
            # Only work after some cache command can matter (it is compared with their indices).
            here = trail(ctx)
            if here.last is not None:
                ctx.set_facet(replace(here, work=here.last + 1))
        return found

    def _call(self, ctx: Context, node: cst.Call, receiver: Value | None) -> Value | None:
        helper = summary_called(ctx, node.func)
        if helper is not None and helper.keys and ctx.uses.runs_here(node):
            return _lock_helper(ctx, node, helper)
        qualified = ctx.imports.resolve(node.func)
        if qualified in CLIENT_TYPES and not is_local(ctx, node.func):
            _eval_args(ctx, node)
            return Client(CLIENT_TYPES[qualified])
        if qualified in LOCK_CLASSES and not is_local(ctx, node.func):
            _eval_args(ctx, node)
            return Emitter(ctx, node).lock_object(arg(node, 1, "name"), arg(node, 2, "timeout"))
        if isinstance(node.func, cst.Name):
            script = named(ctx, node.func)
            if isinstance(script, Script) and ctx.uses.runs_here(node):
                _eval_args(ctx, node)
                return Emitter(ctx, node).script_release(script, script_keys(node))
            return None
        if not isinstance(node.func, cst.Attribute):
            return None
        owner = receiver if isinstance(receiver, (Client, Pipeline, LockHandle, Script)) else named(ctx, node.func.value)
        if owner is None and _untyped(receiver) and redis_by_use(facts(ctx), ctx.class_name, ctx.func, source_text(node.func.value)):
            owner = Client(REDIS)  # sent a command only redis has, here or elsewhere in its class
        if owner is None or not ctx.uses.runs_here(node):
            return None  # not a client; or inside a lambda, which runs when called, not here
        method = node.func.attr.value
        if isinstance(owner, Client):
            return _client_call(ctx, node, owner, method)
        if isinstance(owner, Pipeline):
            return _pipeline_call(ctx, node, owner, method)
        if isinstance(owner, LockHandle):
            return _lock_call(ctx, node, owner, method)
        return None


def _untyped(receiver: Value | None) -> bool:
    """A receiver nothing is known of: unknown, a parameter, or what another call or attribute
    gave (`get_redis()`, `current_app.redis`, `request.app.state.redis`) when nothing of it was read
    from the database."""
    if isinstance(receiver, (Unknown, Parameter)):
        return True
    if not isinstance(receiver, Data) or receiver.in_database or receiver.column_ref or receiver.results or receiver.text is not None:
        return False
    return all(d.row.origin is RowOrigin.PARAMETER for d in receiver.deps)


def _client_call(ctx: Context, node: cst.Call, client: Client, method: str) -> Value:
    """A command on a client; the arguments are evaluated here, so the interpreter must not do it again."""
    _eval_args(ctx, node)
    emitter = Emitter(ctx, node)
    if client.api == DJANGO and method == "lock":  # django-redis: a redis-py Lock
        return emitter.lock_object(arg(node, 0, "key"), arg(node, 1, "timeout"))
    if client.api != REDIS:
        found = emitter.memcache_like(client.api, _sync_name(client.api, method))
        return Data() if found is None else found
    if method == "pipeline":
        transactional = not is_false(arg(node, 0, "transaction"))
        return Pipeline(memo(ctx).group(node) if transactional else None, transactional)
    if method == "lock":
        return emitter.lock_object(arg(node, 0, "name"), arg(node, 1, "timeout"))
    if method in {"register_script", "script_load"} and node.args:
        text = constant_text(node.args[0].value, ctx.file.constants)
        return Script(text is not None and is_compare_and_delete(text))
    if method == "eval":
        return emitter.eval_release(script_of_text(ctx, arg(node, 0, "script")), node)
    if method == "evalsha":
        sha = arg(node, 0, "sha")
        script = named(ctx, sha) if sha is not None else None
        return emitter.eval_release(script if isinstance(script, Script) else None, node)
    found = emitter.redis_command(method)
    return Data() if found is None else found


# Flask-Caching's names for what Django's cache calls `incr`, `decr` and `has_key`.
_FLASK_NAMES = {"inc": "incr", "dec": "decr", "has": "has_key"}


def _sync_name(api: str, method: str) -> str:
    """Django's async cache methods (`aadd`, `aget`, ...) do what their sync namesakes do;
    Flask-Caching's are Django's under other names."""
    if api == FLASK:
        return _FLASK_NAMES.get(method, method)
    return method[1:] if api == DJANGO and method.startswith("a") and method[1:] in DJANGO_METHODS else method


def _pipeline_call(ctx: Context, node: cst.Call, pipe: Pipeline, method: str) -> Value:
    _eval_args(ctx, node)
    if method in PIPELINE_COMMANDS:
        updated = _pipeline_state(ctx, node, pipe, method)
        if isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name) and ctx.lookup(node.func.value.value) is not None:
            ctx.rebind(node.func.value.value, updated)
        return Data() if method == "execute" else updated
    result = Emitter(ctx, node, pipe).redis_command(method)
    if pipe.immediate:
        return Data() if result is None else result
    return pipe  # queued: the command returns the pipeline (chaining)


def _pipeline_state(ctx: Context, node: cst.Call, pipe: Pipeline, method: str) -> Pipeline:
    if method == "multi":
        return replace(pipe, group=memo(ctx).group(node), immediate=False)
    if method == "watch":
        keys = frozenset(key_text(ctx, a.value) for a in node.args if a.keyword is None and not a.star)
        watching = None if pipe.watching is None or any(a.star for a in node.args) else pipe.watching | keys
        return replace(pipe, immediate=True, watching=watching)
    # execute/reset/discard/unwatch: a fresh start for the next batch.
    return Pipeline(memo(ctx).group(node) if pipe.transactional else None, pipe.transactional)


def _lock_call(ctx: Context, node: cst.Call, handle: LockHandle, method: str) -> Value:
    _eval_args(ctx, node)
    emitter = Emitter(ctx, node)
    if method == "acquire":
        return emitter.acquire_lock(handle, scoped=False)
    if method == "release":
        return emitter.release(handle.key, "release")
    return Data()


def _first_param(ctx: Context) -> cst.Param | None:
    params = list(ctx.func.params.posonly_params) + list(ctx.func.params.params)
    if params and ctx.class_name is not None and params[0].name.value in {"self", "cls"}:
        params = params[1:]
    return params[0] if params else None


def _lock_helper(ctx: Context, node: cst.Call, helper: FunctionSummary) -> Value:
    """A project function that takes or releases a lock on the key it is given (seed 004's
    `acquire_lock(name, timeout)` / `release_lock(name)`): the caller takes or releases that key.
    What is wrong inside the helper (a non-atomic take, no TTL, no owner check) is the helper's
    finding (clarification 25), so here a take without expiry is not judged again (its expiry is
    "cannot tell") and the release is the owner's: what is left to judge is how the caller holds
    it (TX204) and, for a lock that expires, how the caller frees it (TX203)."""
    _eval_args(ctx, node)
    command = f"{helper.name.rsplit('.', 1)[-1]}()"
    result: Value = Data()
    for effect in helper.keys:
        key = argument(node, helper.params, effect.param)
        if key is None:
            continue
        emitter = Emitter(ctx, node)
        if effect.kind is CacheKind.ACQUIRE:
            result = emitter.result(emitter.emit(CacheKind.ACQUIRE, command, key, ttl=True if effect.expires else None))
        else:
            emitter.release(key_text(ctx, key), command)
    return result


def _eval_args(ctx: Context, node: cst.Call) -> None:
    for each in node.args:
        ctx.eval(each.value)
