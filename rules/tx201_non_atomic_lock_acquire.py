"""TX201 non-atomic-lock-acquire: a lock key taken without an expiry, and given one by a second command."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.ir import Unit
from txlint.core.queries import atomic_together, cache_ops, expiries_after, takes_lock
from txlint.core.rule import RelatedSpan, Report, Rule, RuleContext, RuleDoc


class NonAtomicLockAcquire(Rule):
    code = "TX201"
    name = "non-atomic-lock-acquire"
    severity = Severity.ERROR
    summary = "A lock key is taken without an expiry and given one by a separate command; a crash in between keeps it forever."
    doc = RuleDoc(
        what_it_does=(
            "Finds a lock or dedup key taken with `setnx`, `set(..., nx=True)` without `ex`/`px`, `add` "
            "without a timeout (memcached, Django's cache with `timeout=None`), or an `incr` whose own result "
            "decides a branch by comparison with 1, when a later `expire`/`pexpire`/`expireat`/`touch` on the same key gives it "
            "its expiry — in any branch — and the two are not queued in one MULTI/EXEC transaction. "
            "Reported at the command that takes the key, with the expiry as the related location."
        ),
        why_is_this_bad=(
            "The two commands are two round trips. A process that dies, is killed by a deploy or loses its "
            "connection between them leaves a key with no TTL: the lock is never freed and every later "
            "request waits or gives up, until someone deletes the key by hand."
        ),
        example=(
            "if r.setnx(key, token):\n"
            "    r.expire(key, 30)\n"
            "    ...\n"
        ),
        use_instead=(
            "if r.set(key, token, nx=True, ex=30):\n"
            "    ...\n"
        ),
        known_problems=(
            "A key whose expiry is given in another function is not followed there: the take alone is "
            "then TX202."
        ),
        fix_safety=(
            'Safe (`--fix`): when the expiry runs right after the take succeeds (the next statement, the first statement of the `if` the take decides, or after `if not take: return`), the take becomes one command `set(key, value, nx=True, ex=ttl)` (`px=` for `pexpire`) and the expiry is removed. An expiry in another branch (a repair of an old key) or after other work gets no fix.'
        ),
    )
    INVALID = [
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def cancel(order_id):\n"
            "    key = f'lock:order:{order_id}'\n"
            "    if not r.setnx(key, '1'):  # error\n"
            "        return False\n"
            "    r.expire(key, 10)\n"
            "    return True\n"
        ),
        (
            "import redis.asyncio as aioredis\n"
            "async def claim(r: aioredis.Redis, job_id, token):\n"
            "    if await r.set(f'job:{job_id}', token, nx=True):  # error\n"
            "        await r.pexpire(f'job:{job_id}', 30000)\n"
            "        return True\n"
            "    return False\n"
        ),
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def claim(job_id):\n"
            "    acquired = r.setnx(f'job:{job_id}', 1)  # error\n"
            "    if acquired:\n"
            "        run(job_id)\n"
            "    else:\n"
            "        r.expire(f'job:{job_id}', 60)  # repairs a key left without TTL, too late\n"
        ),
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def claim(job_id):\n"
            "    pipe = r.pipeline(transaction=False)\n"
            "    pipe.setnx(f'job:{job_id}', 1)  # error\n"
            "    pipe.expire(f'job:{job_id}', 60)\n"
            "    pipe.execute()\n"
        ),
        (
            "from django.core.cache import cache\n"
            "def once(event_id):\n"
            "    if not cache.add(f'event:{event_id}', 1, timeout=None):  # error\n"
            "        return\n"
            "    cache.touch(f'event:{event_id}', 3600)\n"
        ),
        # A receiver of unknown type sent a command only Redis has is a Redis client (clarification 22).
        (
            "def claim(client, job_id):\n"
            "    if client.setnx(job_id, 1):  # error\n"
            "        client.expire(job_id, 60)\n"
        ),
        (
            "from pymemcache.client.base import Client\n"
            "mc = Client(('localhost', 11211))\n"
            "def once(event_id):\n"
            "    if mc.add(f'event:{event_id}', b'1', noreply=False):  # error\n"
            "        mc.touch(f'event:{event_id}', 60)\n"
        ),
    ]
    VALID = [
        # The good form: one command takes the key and sets its expiry.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def cancel(order_id, token):\n"
            "    if not r.set(f'lock:order:{order_id}', token, nx=True, ex=10):\n"
            "        return False\n"
            "    return True\n"
        ),
        # Near miss: SETNX and EXPIRE queued in one MULTI/EXEC pipeline run together or not at all.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def claim(job_id):\n"
            "    pipe = r.pipeline()\n"
            "    pipe.setnx(f'job:{job_id}', 1)\n"
            "    pipe.expire(f'job:{job_id}', 60)\n"
            "    created, _ = pipe.execute()\n"
            "    return created\n"
        ),
        # Near miss: a lock taken with a TTL whose expiry is later extended.
        (
            "import redis.asyncio as aioredis\n"
            "async def renew(r: aioredis.Redis, key, token):\n"
            "    if await r.set(key, token, nx=True, px=5000):\n"
            "        await r.pexpire(key, 10000)\n"
        ),
        # Near miss: Django's `add` with the default timeout already expires; `touch` only extends it.
        (
            "from django.core.cache import cache\n"
            "def once(event_id):\n"
            "    if cache.add(f'event:{event_id}', 1):\n"
            "        cache.touch(f'event:{event_id}', 3600)\n"
        ),
        # Near miss: the expiry goes to another key than the one taken.
        (
            "import memcache\n"
            "mc = memcache.Client(['127.0.0.1:11211'])\n"
            "def once(event_id, user_id):\n"
            "    if mc.add(f'event:{event_id}', 1, time=60):\n"
            "        mc.touch(f'user:{user_id}', 60)\n"
        ),
        # Near miss: a receiver of unknown type sent only commands every cache has (`add`, `expire`
        # exist in several libraries with other meanings) is not taken for a Redis client.
        (
            "def claim(store, job_id):\n"
            "    if store.add(job_id, 1):\n"
            "        store.expire(job_id, 60)\n"
        ),
    ]

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        for index, take in cache_ops(unit):
            if not takes_lock(take) or take.ttl is not False or take.lock_object:
                continue
            later = expiries_after(unit, index, take)
            if not later or any(atomic_together(take, expire) for expire in later):
                continue
            expire = later[0]
            yield Report(
                take.span,
                f"`{take.command}` takes `{take.key}` without an expiry and `{expire.command}` gives it one in a separate command",
                (RelatedSpan(expire.span, "expiry set here, not atomically with the take"),),
            )
