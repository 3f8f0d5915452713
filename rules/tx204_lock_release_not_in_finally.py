"""TX204 lock-release-not-in-finally: a lock released on the normal path only."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.ir import CacheKind, CacheOp, Exit, Unit
from txlint.core.queries import cache_ops, same_key, takes_lock
from txlint.core.rule import RelatedSpan, Report, Rule, RuleContext, RuleDoc

_WAYS_OUT = {"return": "this `return`", "raise": "raising here", "end": "the end of the function"}


class LockReleaseNotInFinally(Rule):
    code = "TX204"
    name = "lock-release-not-in-finally"
    severity = Severity.WARNING
    summary = "A lock taken in the function is released on the normal path only, not on an exception or an early return."
    doc = RuleDoc(
        what_it_does=(
            "Follows a cache lock the function takes and releases itself (`delete`, a compare-and-delete "
            "script, `Lock.release()`). Reports the release when no release of that lock is in a `finally` "
            "block or an `except` handler (an exception between acquire and release skips it), and each "
            "`return`/`raise` that leaves, on some path, with the lock still held — the error branch that "
            "returns early. A failed acquisition (`if not r.set(..., nx=True): return`) holds nothing; "
            "nor does a path on which a release in `finally` found the lock no longer the caller's (an "
            "owner check that fails, `Lock.release()` raising `LockNotOwnedError`): a release that was "
            "tried has let the lock go (clarification 22)."
        ),
        why_is_this_bad=(
            "The lock stays held until its TTL runs out — or forever, without one. Every request for the same "
            "resource is refused or waits meanwhile, although the holder is long gone."
        ),
        example=(
            "if not r.set(key, token, nx=True, ex=30):\n"
            "    return False\n"
            "charge(order)\n"
            "RELEASE(keys=[key], args=[token])\n"
        ),
        use_instead=(
            "if not r.set(key, token, nx=True, ex=30):\n"
            "    return False\n"
            "try:\n"
            "    charge(order)\n"
            "finally:\n"
            "    RELEASE(keys=[key], args=[token])\n"
            "\n"
            "# or: with r.lock(key, timeout=30): charge(order)\n"
        ),
        known_problems=(
            "A key deleted only in an `except` handler is taken to be a dedup marker meant to stay on "
            "success, and is not reported. Calls between the acquire and the `try` whose `finally` "
            "releases are taken not to raise. Locks released by a caller, a helper or a lambda are not "
            "followed."
        ),
    )
    INVALID = [
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "RELEASE = r.register_script(\n"
            "    \"if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end\"\n"
            ")\n"
            "def pay(order_id, token):\n"
            "    key = f'lock:order:{order_id}'\n"
            "    if not r.set(key, token, nx=True, ex=30):\n"
            "        return False\n"
            "    charge(order_id)\n"
            "    RELEASE(keys=[key], args=[token])  # error\n"
            "    return True\n"
        ),
        (
            "from redis.asyncio import Redis\n"
            "async def run(r: Redis, job_id):\n"
            "    lock = r.lock(f'job:{job_id}', timeout=30)\n"
            "    if not await lock.acquire(blocking=False):\n"
            "        return\n"
            "    job = await load(job_id)\n"
            "    if job is None:\n"
            "        return  # error\n"
            "    try:\n"
            "        await work(job)\n"
            "    finally:\n"
            "        await lock.release()\n"
        ),
        (
            "from django.core.cache import cache\n"
            "def export(user_id):\n"
            "    key = f'export:{user_id}'\n"
            "    if not cache.add(key, 1, timeout=600):\n"
            "        return\n"
            "    if not allowed(user_id):\n"
            "        raise PermissionError(user_id)  # error\n"
            "    try:\n"
            "        build_export(user_id)\n"
            "    finally:\n"
            "        cache.delete(key)\n"
        ),
    ]
    VALID = [
        # Near miss: an owner-checked release in `finally`: where the check fails the lock is no
        # longer the caller's, so nothing is left held (its non-atomic check is TX203's).
        (
            "import redis, uuid\n"
            "r = redis.Redis()\n"
            "def ship(order_id):\n"
            "    token = str(uuid.uuid4())\n"
            "    if not r.set(f'lock:{order_id}', token, nx=True, ex=30):\n"
            "        return False\n"
            "    try:\n"
            "        do_ship(order_id)\n"
            "    finally:\n"
            "        if r.get(f'lock:{order_id}') == token.encode():\n"
            "            r.delete(f'lock:{order_id}')\n"
            "    return True\n"
        ),
        # Near miss: redis-py's `release()` raising `LockNotOwnedError` (the lock expired meanwhile).
        (
            "import redis\n"
            "from redis.exceptions import LockNotOwnedError\n"
            "r = redis.Redis()\n"
            "def ship(order_id):\n"
            "    lock = r.lock(f'lock:{order_id}', timeout=30)\n"
            "    if not lock.acquire(blocking=False):\n"
            "        return False\n"
            "    try:\n"
            "        do_ship(order_id)\n"
            "    finally:\n"
            "        try:\n"
            "            lock.release()\n"
            "        except LockNotOwnedError:\n"
            "            pass\n"
            "    return True\n"
        ),
        # The good form: the release is in `finally`.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "RELEASE = r.register_script(\n"
            "    \"if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end\"\n"
            ")\n"
            "def pay(order_id, token):\n"
            "    key = f'lock:order:{order_id}'\n"
            "    if not r.set(key, token, nx=True, ex=30):\n"
            "        return False\n"
            "    try:\n"
            "        if not charge(order_id):\n"
            "            return False\n"
            "    finally:\n"
            "        RELEASE(keys=[key], args=[token])\n"
            "    return True\n"
        ),
        # Near miss: a context manager releases on every way out.
        (
            "from redis.asyncio import Redis\n"
            "async def run(r: Redis, job_id):\n"
            "    async with r.lock(f'job:{job_id}', timeout=30):\n"
            "        job = await load(job_id)\n"
            "        if job is None:\n"
            "            return\n"
            "        await work(job)\n"
        ),
        # Near miss: the early return is the branch where the lock was not acquired.
        (
            "from pymemcache.client.base import Client\n"
            "mc = Client(('localhost', 11211))\n"
            "def sync(user_id):\n"
            "    acquired = mc.add(f'sync:{user_id}', b'1', expire=60, noreply=False)\n"
            "    if not acquired:\n"
            "        return\n"
            "    try:\n"
            "        pull(user_id)\n"
            "    finally:\n"
            "        mc.delete(f'sync:{user_id}')\n"
        ),
        # Near miss: a dedup key deleted only when the work fails stays, on purpose, after success.
        (
            "from django.core.cache import cache\n"
            "def once(request_id):\n"
            "    if not cache.add(f'req:{request_id}', 1, timeout=3600):\n"
            "        return\n"
            "    try:\n"
            "        handle(request_id)\n"
            "    except Exception:\n"
            "        cache.delete(f'req:{request_id}')\n"
            "        raise\n"
        ),
        # Near miss: released in `except` (then re-raised) and on the normal path.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def run(job_id, token):\n"
            "    lock = r.lock(f'job:{job_id}', timeout=30)\n"
            "    lock.acquire()\n"
            "    try:\n"
            "        work(job_id)\n"
            "    except Exception:\n"
            "        lock.release()\n"
            "        raise\n"
            "    lock.release()\n"
        ),
    ]

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        for index, take in cache_ops(unit):
            if not takes_lock(take) or take.scoped:
                continue
            releases = [op for i, op in cache_ops(unit) if i > index and op.kind in {CacheKind.DELETE, CacheKind.RELEASE} and same_key(op, take)]
            normal = [op for op in releases if not op.in_handler]
            if not normal:
                continue  # never released here, or only when something failed (a dedup marker)
            yield from _early_exits(unit, index, take, normal[0])
            if not any(op.in_finally or op.in_handler for op in releases):
                yield Report(
                    normal[0].span,
                    f"lock `{take.key}` is released outside `finally`: an exception after `{take.command}` leaves it held",
                    (RelatedSpan(take.span, "lock taken here"),),
                )


def _early_exits(unit: Unit, index: int, take: CacheOp, release: CacheOp) -> Iterable[Report]:
    for op in unit.ops[index + 1 :]:
        if isinstance(op, Exit) and index in op.held:
            yield Report(
                op.span,
                f"{_WAYS_OUT.get(op.kind, 'this exit')} leaves with lock `{take.key}` still held: it is released on another path only",
                (RelatedSpan(take.span, "lock taken here"), RelatedSpan(release.span, "released here")),
            )
