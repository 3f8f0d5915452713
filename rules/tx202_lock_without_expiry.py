"""TX202 lock-without-expiry: a lock or dedup key that never gets a TTL."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.ir import Unit
from txlint.core.queries import cache_ops, lock_like, never_expires, takes_lock
from txlint.core.rule import Report, Rule, RuleContext, RuleDoc


class LockWithoutExpiry(Rule):
    code = "TX202"
    name = "lock-without-expiry"
    severity = Severity.ERROR
    summary = "A lock or dedup key is taken without an expiry and never given one, so a crashed holder keeps it forever."
    doc = RuleDoc(
        what_it_does=(
            "Finds a lock or dedup key taken with `setnx`, `set(..., nx=True)` without `ex`/`px`/`exat`/`pxat`, "
            "`add` without a timeout (memcached's default `0`, Django's `timeout=None`), an `incr` whose own "
            "result decides an `if`/`while` by comparison with 1 (`if r.incr(k) == 1:`, or `n = r.incr(k)` "
            "then `if n == 1:` before `n` is bound again), or a redis-py `lock()`/`Lock` without `timeout` "
            "(`blocking_timeout` is how long to wait, not how long to hold), when no expiry is given to that "
            "key later in the function. A take whose result is returned to the caller is a try-acquire "
            "helper's, reported in the helper (clarification 22, 25), not again at its callers. A take "
            "whose result is thrown away (initialising a value) is not a lock and is not reported; neither "
            "is a `decr`, nor a result only checked by an `assert`."
        ),
        why_is_this_bad=(
            "A holder that crashes, is killed by a deploy or hangs never releases the lock. With no TTL the key "
            "stays forever: every later request is refused or waits for good, until someone deletes the key "
            "by hand."
        ),
        example=(
            "if not r.set(key, token, nx=True):\n"
            "    return False\n"
        ),
        use_instead=(
            "if not r.set(key, token, nx=True, ex=30):\n"
            "    return False\n"
        ),
        known_problems=(
            "A key deliberately kept forever (a one-time marker) is reported; suppress it there. An expiry "
            "given in another function is not seen."
        ),
        fix_safety=(
            'Unsafe (`--unsafe-fixes`): the take gets an expiry of 60 seconds (`set(key, value, nx=True, ex=60)`, a cache `add(..., timeout=60)`). The value is a choice: it must outlast the longest the guarded work may take, or a second holder gets the lock while the first still runs.'
        ),
    )
    INVALID = [
        # A try-acquire helper returning the take's result: its callers decide on it (clarification 22).
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def try_lock(key):\n"
            "    return r.set(key, '1', nx=True)  # error\n"
        ),
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def pay(order_id, token):\n"
            "    if not r.set(f'lock:order:{order_id}', token, nx=True):  # error\n"
            "        return False\n"
            "    return True\n"
        ),
        (
            "from redis.asyncio import Redis\n"
            "class Jobs:\n"
            "    def __init__(self, url):\n"
            "        self.redis = Redis.from_url(url)\n"
            "    async def run(self, job_id):\n"
            "        async with self.redis.lock(f'job:{job_id}', blocking_timeout=5):  # error\n"
            "            await work(job_id)\n"
        ),
        (
            "import redis\n"
            "r = redis.StrictRedis()\n"
            "def once(request_id):\n"
            "    if r.incr(f'seen:{request_id}') != 1:  # error\n"
            "        return\n"
            "    handle(request_id)\n"
        ),
        (
            "from django.core.cache import caches\n"
            "def once(request_id):\n"
            "    if not caches['locks'].add(f'req:{request_id}', 1, None):  # error\n"
            "        return\n"
            "    handle(request_id)\n"
        ),
        (
            "from pymemcache.client.base import Client\n"
            "mc = Client(('localhost', 11211))\n"
            "def once(request_id):\n"
            "    if not mc.add(f'req:{request_id}', b'1', noreply=False):  # error\n"
            "        return\n"
            "    handle(request_id)\n"
        ),
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def once(request_id):\n"
            "    first = r.incr(f'seen:{request_id}') == 1  # error\n"
            "    if first:\n"
            "        handle(request_id)\n"
        ),
    ]
    VALID = [
        # The good form: the take carries its expiry.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def pay(order_id, token):\n"
            "    if not r.set(f'lock:order:{order_id}', token, nx=True, ex=10):\n"
            "        return False\n"
            "    return True\n"
        ),
        # Near miss: `timeout` bounds how long the lock is held.
        (
            "from redis.asyncio import Redis\n"
            "async def run(r: Redis, job_id):\n"
            "    async with r.lock(f'job:{job_id}', timeout=30, blocking_timeout=5):\n"
            "        await work(job_id)\n"
        ),
        # Near miss: Django's `add` with the default timeout expires.
        (
            "from django.core.cache import cache\n"
            "def once(request_id):\n"
            "    if not cache.add(f'req:{request_id}', 1):\n"
            "        return\n"
            "    handle(request_id)\n"
        ),
        # Near miss: the counter is given its expiry in the same MULTI/EXEC transaction.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def once(request_id):\n"
            "    pipe = r.pipeline(transaction=True)\n"
            "    pipe.incr(f'seen:{request_id}')\n"
            "    pipe.expire(f'seen:{request_id}', 60, nx=True)\n"
            "    count, _ = pipe.execute()\n"
            "    if count > 1:\n"
            "        return\n"
            "    handle(request_id)\n"
        ),
        # Near miss: `setnx` whose result is not used initialises a value; it is no lock.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def init_counter(name):\n"
            "    r.setnx(f'counter:{name}', 0)\n"
        ),
        # Near miss: a hit counter; the later `n == 1` tests another value bound to the same name.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def bump(page_id):\n"
            "    n = r.incr(f'hits:{page_id}')\n"
            "    log(n)\n"
            "    n = len(page_id)\n"
            "    if n == 1:\n"
            "        return 'short'\n"
            "    return ''\n"
        ),
        # Near miss: a test asserting the counter's value; an `assert` decides nothing.
        (
            "from pymemcache.client.base import Client\n"
            "def test_incr(host, port):\n"
            "    client = Client((host, port))\n"
            "    result = client.incr(b'key', 1, noreply=False)\n"
            "    assert result == 1\n"
        ),
        # Near miss: a decrement takes nothing, even compared with 1 (the last seat, not a lock).
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def sell(show_id):\n"
            "    if r.decr(f'seats:{show_id}') == 1:\n"
            "        announce_last_seat(show_id)\n"
        ),
        # Near miss: python-memcached `add` with `time` expires.
        (
            "import memcache\n"
            "mc = memcache.Client(['127.0.0.1:11211'])\n"
            "def once(request_id):\n"
            "    if not mc.add(f'req:{request_id}', 1, time=60):\n"
            "        return\n"
            "    handle(request_id)\n"
        ),
    ]

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        for index, take in cache_ops(unit):
            if takes_lock(take) and never_expires(unit, index, take) and lock_like(unit, index, take):
                yield Report(take.span, f"lock `{take.key}` is taken with `{take.command}` and never given an expiry")
