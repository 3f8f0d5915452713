"""TX206 coarse-lock-key: one constant lock key for every request (off by default)."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.ir import Unit
from txlint.core.queries import cache_ops, checked_then_set, lock_like, takes_lock
from txlint.core.rule import Report, Rule, RuleContext, RuleDoc


class CoarseLockKey(Rule):
    code = "TX206"
    name = "coarse-lock-key"
    severity = Severity.INFO
    default_enabled = False
    summary = "A lock key is a constant string with no resource id, so every request waits for the same lock."
    doc = RuleDoc(
        what_it_does=(
            "Finds a lock taken (`set(..., nx=True)`, `setnx`, `add`, `lock()`, `Lock(...)`) on a key built "
            "from constant strings only — a literal, a module-level string constant, an f-string without a "
            "variable part. Off by default: a job that must run once at a time across the whole system wants "
            "exactly that."
        ),
        why_is_this_bad=(
            "Requests about different orders, users or accounts, which could run side by side, queue behind "
            "one key: throughput drops to one at a time, and with non-blocking locks most requests are refused."
        ),
        example=(
            "with r.lock(\"lock:checkout\", timeout=10):\n"
            "    checkout(order_id)\n"
        ),
        use_instead=(
            "with r.lock(f\"lock:checkout:{order_id}\", timeout=10):\n"
            "    checkout(order_id)\n"
        ),
        known_problems="A key held in a variable of unknown origin is taken as per-resource (not reported).",
    )
    INVALID = [
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def checkout(order_id):\n"
            "    with r.lock('lock:checkout', timeout=10):  # error\n"
            "        place(order_id)\n"
        ),
        (
            "from django.core.cache import cache\n"
            "PAYOUT_LOCK = 'lock:payouts'\n"
            "def payout(user_id):\n"
            "    if not cache.add(PAYOUT_LOCK, 1, timeout=30):  # error\n"
            "        return\n"
            "    pay(user_id)\n"
        ),
        (
            "from redis.asyncio import Redis\n"
            "async def payout(r: Redis, token):\n"
            "    if await r.set(f'lock:' 'payouts', token, nx=True, ex=30):  # error\n"
            "        await pay()\n"
        ),
    ]
    VALID = [
        # The good form: the key names the resource.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def checkout(order_id):\n"
            "    with r.lock(f'lock:checkout:{order_id}', timeout=10):\n"
            "        place(order_id)\n"
        ),
        # Near miss: a constant key that is a cache entry, not a lock.
        (
            "from django.core.cache import cache\n"
            "def refresh_rates():\n"
            "    cache.set('fx:rates', fetch_rates(), 3600)\n"
        ),
        # Near miss: a constant-key counter whose result is asserted (a test), or compared with 1
        # only after the name was bound to something else: no lock is taken.
        (
            "from pymemcache.client.base import Client\n"
            "def test_decr(host, port):\n"
            "    client = Client((host, port))\n"
            "    result = client.decr(b'key', 1, noreply=False)\n"
            "    assert result is None\n"
            "    result = client.incr(b'key', 1, noreply=False)\n"
            "    assert result == 1\n"
            "    result = len(b'key')\n"
            "    if result == 1:\n"
            "        return\n"
        ),
        # Near miss: the key comes from the caller.
        (
            "from pymemcache.client.base import Client\n"
            "mc = Client(('localhost', 11211))\n"
            "def once(key):\n"
            "    if mc.add(key, b'1', expire=60, noreply=False):\n"
            "        run(key)\n"
        ),
    ]

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        for index, take in cache_ops(unit):
            if takes_lock(take) and take.key_constant and (take.scoped or lock_like(unit, index, take)):
                yield Report(take.span, f"lock key `{take.key}` is one constant: every request waits for the same lock")
        for _, flag, _, _ in checked_then_set(unit):  # a flag used as a mutex (seed 003's "buying")
            if flag.key_constant:
                yield Report(flag.span, f"mutex flag `{flag.key}` is one constant: every request waits for the same flag")
