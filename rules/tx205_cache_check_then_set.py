"""TX205 cache-check-then-set: a cache read decides, then a separate write claims the same key."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.ir import Unit
from txlint.core.queries import checked_then_set
from txlint.core.rule import RelatedSpan, Report, Rule, RuleContext, RuleDoc


class CacheCheckThenSet(Rule):
    code = "TX205"
    name = "cache-check-then-set"
    severity = Severity.ERROR
    summary = "A cache `get` decides whether to go on, and a separate `set`/`incr` of the same key claims it: two requests both pass."
    doc = RuleDoc(
        what_it_does=(
            "Finds a `get` (or `exists`/`has_key`) of a key whose result is only tested — `if cache.get(key): "
            "return`, `if not r.exists(key):` — followed, under that test, by a `set` of a marker value (a "
            "literal, a token, a timestamp) or an `incr` of the same key, as a mutex, a duplicate-request "
            "guard or a counter limit. The write reported is the claim the check decides: the first write "
            "of the key after it, made before the guarded work (a `set` after other code ran records an "
            "outcome, such as a \"last run\" mark, and is not reported), and not under an atomic claim the "
            "function already holds (`add`, `set(nx=True)`, a lock)."
        ),
        why_is_this_bad=(
            "The read and the write are two commands. Two requests arriving together both read nothing, both "
            "write their marker and both proceed: the refund is paid twice, the job runs twice, the limit lets "
            "one more through."
        ),
        example=(
            "if cache.get(f\"refund:{order_id}\"):\n"
            "    return False\n"
            "cache.set(f\"refund:{order_id}\", 1, timeout=60)\n"
            "do_refund(order_id)\n"
        ),
        use_instead=(
            "if not cache.add(f\"refund:{order_id}\", 1, timeout=60):  # one atomic set-if-absent\n"
            "    return False\n"
            "do_refund(order_id)\n"
            "\n"
            "# Redis: r.set(key, token, nx=True, ex=60); a counter: compare the result of `incr`\n"
        ),
        known_problems=(
            "A cache fill (`if cache.get(k) is None: cache.set(k, compute())`) writes computed data, not a "
            "marker, and its read value is usually used: it is not reported. A claim made only after some "
            "call the analysis takes for work (anything but a cache command, a conversion, an id or time "
            "maker, string formatting or logging) is taken for an outcome record and is missed. "
            "A marker used as a throttle in front of work that only rewrites a cache with freshly "
            "computed values (pretix's quota availability write) is reported, though two requests "
            "passing together only write the same data twice."
        ),
    )
    INVALID = [
        (
            "from django.core.cache import cache\n"
            "def refund_once(order_id):\n"
            "    key = f'refund:{order_id}'\n"
            "    if cache.get(key):\n"
            "        return False\n"
            "    cache.set(key, 1, timeout=60)  # error\n"
            "    do_refund(order_id)\n"
            "    return True\n"
        ),
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def send_once(message_id):\n"
            "    if not r.exists(f'sent:{message_id}'):\n"
            "        r.set(f'sent:{message_id}', 1, ex=86400)  # error\n"
            "        deliver(message_id)\n"
        ),
        (
            "from redis.asyncio import Redis\n"
            "async def attempt(r: Redis, user_id):\n"
            "    tries = await r.get(f'tries:{user_id}')\n"
            "    if tries is not None and int(tries) >= 5:\n"
            "        return False\n"
            "    await r.incr(f'tries:{user_id}')  # error\n"
            "    return True\n"
        ),
        (
            "from pymemcache.client.base import Client\n"
            "mc = Client(('localhost', 11211))\n"
            "def import_once(batch_id):\n"
            "    if mc.get(f'import:{batch_id}') is None:\n"
            "        mc.set(f'import:{batch_id}', b'running', expire=600)  # error\n"
            "        run_import(batch_id)\n"
        ),
        (
            "from django.core.cache import cache\n"
            "def export_once(export_id):\n"
            "    key = f'export:{export_id}'\n"
            "    if cache.get(key):\n"
            "        return\n"
            "    cache.set(key, 'running', 600)  # error\n"
            "    run_export(export_id)\n"
            "    cache.set(key, 'done', 600)\n"
        ),
    ]
    VALID = [
        # The good form: one atomic set-if-absent.
        (
            "from django.core.cache import cache\n"
            "def refund_once(order_id):\n"
            "    if not cache.add(f'refund:{order_id}', 1, timeout=60):\n"
            "        return False\n"
            "    do_refund(order_id)\n"
            "    return True\n"
        ),
        # Near miss: a cache fill; the value read is used and the value written is computed.
        (
            "from django.core.cache import cache\n"
            "def stats(shop_id):\n"
            "    value = cache.get(f'stats:{shop_id}')\n"
            "    if value is None:\n"
            "        value = compute_stats(shop_id)\n"
            "        cache.set(f'stats:{shop_id}', value, 300)\n"
            "    return value\n"
        ),
        # Near miss: the counter's own result is compared.
        (
            "from redis.asyncio import Redis\n"
            "async def attempt(r: Redis, user_id):\n"
            "    if await r.incr(f'tries:{user_id}') > 5:\n"
            "        return False\n"
            "    return True\n"
        ),
        # Near miss: the write goes to another key than the one checked.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def remember(user_id, token):\n"
            "    if r.get(f'banned:{user_id}'):\n"
            "        return\n"
            "    r.set(f'session:{token}', user_id, ex=3600)\n"
        ),
        # Near miss: an atomic claim guards the work; the result key is read and written under it.
        (
            "from django.core.cache import cache\n"
            "def run_periodic(job_id, fn):\n"
            "    key_running = f'job:{job_id}:running'\n"
            "    key_result = f'job:{job_id}:result'\n"
            "    if not cache.add(key_running, '1', timeout=1800):\n"
            "        return None\n"
            "    if cache.get(key_result):\n"
            "        return None\n"
            "    value = fn()\n"
            "    cache.set(key_result, 'success', timeout=3600)\n"
            "    return value\n"
        ),
        # Near miss: the write records the outcome after the work ("has run recently"); it claims nothing.
        (
            "from django.core.cache import cache\n"
            "def run_at_most_hourly(job_id, fn):\n"
            "    key = f'job:{job_id}:result'\n"
            "    if cache.get(key):\n"
            "        return None\n"
            "    value = fn()\n"
            "    cache.set(key, 'success', timeout=3600)\n"
            "    return value\n"
        ),
        # Near miss: the check and the write run under a lock held for the whole block.
        (
            "import redis\n"
            "r = redis.Redis()\n"
            "def refund_once(order_id):\n"
            "    with r.lock(f'lock:order:{order_id}', timeout=10):\n"
            "        if r.get(f'refunded:{order_id}'):\n"
            "            return False\n"
            "        r.set(f'refunded:{order_id}', 1, ex=86400)\n"
            "        do_refund(order_id)\n"
            "    return True\n"
        ),
        # Near miss: memcached check-and-set with a cas token.
        (
            "import memcache\n"
            "mc = memcache.Client(['127.0.0.1:11211'], cache_cas=True)\n"
            "def claim(batch_id):\n"
            "    if mc.gets(f'import:{batch_id}') == b'idle':\n"
            "        mc.cas(f'import:{batch_id}', b'running', time=600)\n"
        ),
    ]

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        for _, write, _, check in checked_then_set(unit):
            yield Report(
                write.span,
                f"`{write.key}` is checked with `{check.command}` and then written with `{write.command}`: two requests can both pass the check",
                (RelatedSpan(check.span, "checked here"),),
            )
