"""TX203 unsafe-lock-release: a lock freed with a plain delete, or after a check that is not atomic with it."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity, Span
from txlint.core.ir import CacheKind, CacheOp, Unit
from txlint.core.queries import (
    cache_ops,
    callers_of,
    checked_then_set,
    expiries_after,
    never_expires,
    optimistic,
    result_tested_by,
    same_key,
    takes_lock,
)
from txlint.core.rule import RelatedSpan, Report, Rule, RuleContext, RuleDoc


class UnsafeLockRelease(Rule):
    code = "TX203"
    name = "unsafe-lock-release"
    severity = Severity.ERROR
    summary = "A lock with an expiry is released by a delete that does not check, atomically, that the caller still owns it."
    doc = RuleDoc(
        what_it_does=(
            "Finds a `delete`/`unlink`/`getdel` of a key the function took as a lock with an expiry, and a "
            "`delete` that runs only after `get(key) == token` in a separate command (also inside a "
            "`transaction()` callback that never calls `multi()`). The key must be shown to be a lock: "
            "the function takes it, or the check compares the stored value with a token (a variable "
            "named like one, an id or timestamp the function made, or the value it stored there); "
            "`if r.exists(key): r.delete(key)` alone is a cache invalidation. A lock that never expires "
            "is TX202's alone: nobody else can hold it, so the delete frees only the caller's own. A key "
            "claimed by a check and a separate write (a TX205 mutex: `if not cache.get(k): cache.set(k, 1)`) "
            "and freed by a plain delete is reported too (clarification 22: the codes stack), as is a "
            "plain delete of a key taken through a project's try-acquire helper whose lock expires."
        ),
        why_is_this_bad=(
            "The TTL exists because holders can stall. When one stalls past it, the lock expires, another "
            "request takes it, and the first one's `delete` then frees the *second* request's lock: a third "
            "request walks in and two run the critical section at once. Comparing first and deleting in a "
            "second command has the same hole — the lock can expire and change hands between the two."
        ),
        example=(
            "if r.set(key, token, nx=True, ex=10):\n"
            "    try:\n"
            "        work()\n"
            "    finally:\n"
            "        r.delete(key)\n"
        ),
        use_instead=(
            "RELEASE = r.register_script(\n"
            "    \"if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end\"\n"
            ")\n"
            "\n"
            "if r.set(key, token, nx=True, ex=10):\n"
            "    try:\n"
            "        work()\n"
            "    finally:\n"
            "        RELEASE(keys=[key], args=[token])\n"
            "\n"
            "# or redis-py's Lock, which does the same:\n"
            "with r.lock(key, timeout=10):\n"
            "    work()\n"
        ),
        known_problems=(
            "A release in a helper of its own is judged only when it checks the token by hand "
            "(`if r.get(key) == token: r.delete(key)`); a bare `delete` there cannot be told from "
            "deleting any other key."
        ),
    )
    INVALID = [
        # A get-then-set mutex freed by a plain delete (also TX205).
        (
            "from django.core.cache import cache\n"
            "def ship(order_id):\n"
            "    key = f'lock:ship:{order_id}'\n"
            "    if cache.get(key):\n"
            "        return\n"
            "    cache.set(key, 1, 30)\n"
            "    try:\n"
            "        do_ship(order_id)\n"
            "    finally:\n"
            "        cache.delete(key)  # error\n"
        ),
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def cancel(order_id, token):\n"
            "    key = f'lock:order:{order_id}'\n"
            "    if not r.set(key, token, nx=True, ex=10):\n"
            "        return False\n"
            "    try:\n"
            "        do_cancel(order_id)\n"
            "    finally:\n"
            "        r.delete(key)  # error\n"
            "    return True\n"
        ),
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def release(order_id, token):\n"
            "    key = f'lock:order:{order_id}'\n"
            "    if r.get(key) == token:\n"
            "        r.delete(key)  # error\n"
        ),
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def release(key, token):\n"
            "    def check_and_delete(pipe):\n"
            "        if pipe.get(key) == token:\n"
            "            pipe.delete(key)  # error\n"
            "    r.transaction(check_and_delete, key)\n"
        ),
        (
            "from redis.asyncio import Redis\n"
            "async def run(r: Redis, job_id, token):\n"
            "    if await r.set(f'job:{job_id}', token, nx=True, px=30000):\n"
            "        try:\n"
            "            await work(job_id)\n"
            "        finally:\n"
            "            await r.unlink(f'job:{job_id}')  # error\n"
        ),
        (
            "from django.core.cache import cache\n"
            "def release(order_id, token):\n"
            "    if cache.get(f'lock:{order_id}') == token:\n"
            "        cache.delete(f'lock:{order_id}')  # error\n"
        ),
        (
            "import uuid\n"
            "from django.core.cache import cache\n"
            "def run_periodic(job_id):\n"
            "    key = f'job:{job_id}:running'\n"
            "    uniqid = str(uuid.uuid4())\n"
            "    cache.set(key, uniqid, timeout=1800)\n"
            "    try:\n"
            "        run(job_id)\n"
            "    finally:\n"
            "        if cache.get(key) == uniqid:\n"
            "            cache.delete(key)  # error\n"
        ),
    ]
    VALID = [
        # The good form: a Lua compare-and-delete.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "RELEASE = r.register_script(\n"
            "    \"if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end\"\n"
            ")\n"
            "def cancel(order_id, token):\n"
            "    key = f'lock:order:{order_id}'\n"
            "    if not r.set(key, token, nx=True, ex=10):\n"
            "        return False\n"
            "    try:\n"
            "        do_cancel(order_id)\n"
            "    finally:\n"
            "        RELEASE(keys=[key], args=[token])\n"
            "    return True\n"
        ),
        # Near miss: a WATCH/MULTI/EXEC transaction: EXEC fails if the key changed after the check.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def release(key, token):\n"
            "    def check_and_delete(pipe):\n"
            "        if pipe.get(key) == token:\n"
            "            pipe.multi()\n"
            "            pipe.delete(key)\n"
            "    r.transaction(check_and_delete, key)\n"
        ),
        # Near miss: the same by hand with a pipeline.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def release(key, token):\n"
            "    with r.pipeline() as pipe:\n"
            "        pipe.watch(key)\n"
            "        if pipe.get(key) == token:\n"
            "            pipe.multi()\n"
            "            pipe.delete(key)\n"
            "            pipe.execute()\n"
        ),
        # Near miss: redis-py's Lock releases with its own token check.
        (
            "from redis.asyncio import Redis\n"
            "async def run(r: Redis, job_id):\n"
            "    lock = r.lock(f'job:{job_id}', timeout=30)\n"
            "    if await lock.acquire(blocking=False):\n"
            "        try:\n"
            "            await work(job_id)\n"
            "        finally:\n"
            "            await lock.release()\n"
        ),
        # Near miss: an `eval` of a compare-and-delete script.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "UNLOCK = \"if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0\"\n"
            "def release(key, token):\n"
            "    r.eval(UNLOCK, 1, key, token)\n"
        ),
        # Near miss: invalidating a cache entry that exists; nothing says the key is a lock.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def reset_profile(user_id):\n"
            "    key = f'profile:{user_id}'\n"
            "    if r.exists(key):\n"
            "        r.delete(key)\n"
        ),
        # Near miss: the same with `get`; the stored value is not compared with a token.
        (
            "from django.core.cache import cache\n"
            "def drop_cached(pk):\n"
            "    if cache.get(f'obj:{pk}') is not None:\n"
            "        cache.delete(f'obj:{pk}')\n"
        ),
        # Near miss: a worker hash rebuilt after a liveness check (rq's `register_birth`).
        (
            "import redis\n"
            "class Worker:\n"
            "    def __init__(self, name):\n"
            "        self.connection = redis.Redis()\n"
            "        self.key = 'rq:worker:' + name\n"
            "    def register_birth(self):\n"
            "        key = self.key\n"
            "        if self.connection.exists(key) and not self.connection.hexists(key, 'death'):\n"
            "            raise ValueError('worker already active')\n"
            "        with self.connection.pipeline() as pipeline:\n"
            "            pipeline.delete(key)\n"
            "            pipeline.hset(key, mapping={'birth': 'now'})\n"
            "            pipeline.expire(key, 480)\n"
            "            pipeline.execute()\n"
        ),
        # Near miss: deleting a cache entry that is not a lock.
        (
            "from pymemcache.client.base import Client\n"
            "mc = Client(('localhost', 11211))\n"
            "def invalidate(user_id):\n"
            "    mc.delete(f'profile:{user_id}')\n"
        ),
    ]

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        for index, delete in cache_ops(unit):
            if delete.kind is not CacheKind.DELETE or optimistic(delete):
                continue
            report = (
                _frees_expiring_lock(unit, index, delete)
                or _frees_mutex(unit, index, delete)
                or _checked_apart(unit, index, delete)
                or _frees_callers_lock(unit, delete, context)
            )
            if report is not None:
                yield report


def _takes_before(unit: Unit, index: int, delete: CacheOp) -> list[tuple[int, CacheOp]]:
    return [(i, op) for i, op in cache_ops(unit) if i < index and takes_lock(op) and same_key(op, delete)]


def _frees_expiring_lock(unit: Unit, index: int, delete: CacheOp) -> Report | None:
    """A plain delete of a lock taken here with an expiry (given by the take or a later command)."""
    takes = _takes_before(unit, index, delete)
    if any(never_expires(unit, i, take) for i, take in takes):
        return None  # a lock that never expires: TX202 only (clarification 12)
    for i, take in takes:
        if take.ttl is True or (take.ttl is False and expiries_after(unit, i, take)):
            return Report(
                delete.span,
                f"`{delete.command}` frees lock `{delete.key}` without checking that it still holds the caller's token",
                (RelatedSpan(take.span, "lock taken here with an expiry: after it runs out, the key may be another holder's"),),
            )
    return None


def _frees_mutex(unit: Unit, index: int, delete: CacheOp) -> Report | None:
    """A plain delete of a key the function claimed by reading it and then writing it (a TX205
    mutex, clarification 22: the codes stack). Two requests can both hold such a key; the first to
    finish frees the other's, and, once the key expires, anyone's."""
    for write_index, write, _, _ in checked_then_set(unit):
        if write_index < index and same_key(write, delete):
            return Report(
                delete.span,
                f"`{delete.command}` frees mutex `{delete.key}` without checking that it still holds the caller's value",
                (RelatedSpan(write.span, "mutex claimed here by a check and a separate write"),),
            )
    return None


def _frees_callers_lock(unit: Unit, delete: CacheOp, context: RuleContext) -> Report | None:
    """A release helper: a plain delete of the key it is given, which its callers hold as a lock
    when they call it (seed 004's `release_lock(lock_name)`). Wrong for every caller, so reported
    here, once (clarification 25)."""
    if delete.key is None or delete.key not in unit.params:
        return None
    holders = [site for site in callers_of(unit, context) if site.holds_lock_on(unit.params, delete.key)]
    if not holders:
        return None  # no caller shows the key is a lock: a cache invalidation helper
    return Report(
        delete.span,
        f"`{delete.command}` frees the lock its callers hold on `{delete.key}` without checking that it still holds their token",
        tuple(RelatedSpan(Span.point(s.line, s.column), f"`{s.caller}` calls it to release its lock", path=s.path) for s in holders[:3]),
    )


def _checked_apart(unit: Unit, index: int, delete: CacheOp) -> Report | None:
    """`if get(key) == token: delete(key)`: the check and the delete are two commands.

    Only for a key known to be a lock: the function takes it (set-if-absent, a lock object, an
    `incr` compared with 1), or the check compares the stored value with a token. A delete after
    `if r.exists(key):` or `if cache.get(key) is not None:` is a cache invalidation."""
    if any(never_expires(unit, i, take) for i, take in _takes_before(unit, index, delete)):
        return None
    taken_here = any(takes_lock(op) and same_key(op, delete) for _, op in cache_ops(unit))
    for _, check in result_tested_by(unit, delete):
        if check.kind is CacheKind.GET and same_key(check, delete) and (taken_here or check.owner_check):
            return Report(
                delete.span,
                f"lock `{delete.key}` is checked and deleted in two commands: it can change hands in between",
                (RelatedSpan(check.span, "owner checked here, not atomically with the delete"),),
            )
    return None
