"""The cache recogniser's IR (`CacheOp`) and the lock path states the walker keeps for it."""

from __future__ import annotations

from textwrap import dedent

from txlint.core.config import Config
from txlint.core.index import ProjectIndex
from txlint.core.ir import CacheKind, CacheOp, Exit, Unit
from txlint.frontends import python as python_frontend


def units(source: str) -> dict[str, Unit]:
    parsed = python_frontend.parse("example.py", dedent(source))
    assert isinstance(parsed, python_frontend.ParsedPython)
    return {u.name: u for u in python_frontend.analyse(parsed, ProjectIndex.build([]), Config()).units}


def cache_ops(unit: Unit) -> list[CacheOp]:
    return [op for op in unit.ops if isinstance(op, CacheOp)]


def exits(unit: Unit) -> list[Exit]:
    return [op for op in unit.ops if isinstance(op, Exit)]


def test_clients_are_known_by_construction_not_by_name() -> None:
    found = units(
        """
        import redis
        from typing import Optional
        from django.core.cache import caches
        r = redis.Redis()
        default = caches["default"]

        def module_global(k):
            r.get(k)

        def django_alias(k):
            default.get(k)

        def typed(client: Optional[redis.Redis], k):
            client.get(k)

        def untyped(r, k):
            r.get(k)

        def local_shadow(k):
            r = make_client()
            r.get(k)

        class Store:
            def __init__(self, url):
                self.redis = redis.Redis.from_url(url)

            def read(self, k):
                return self.redis.get(k)
        """
    )
    assert [len(cache_ops(found[name])) for name in ("module_global", "django_alias", "typed", "read")] == [1, 1, 1, 1]
    assert cache_ops(found["untyped"]) == [] and cache_ops(found["local_shadow"]) == []


def test_set_options_and_expiry_defaults() -> None:
    found = units(
        """
        import redis
        from django.core.cache import cache
        from pymemcache.client.base import Client
        r = redis.Redis()
        mc = Client(("localhost", 11211))

        def f(k, v, flag):
            r.set(k, v, nx=True, ex=10)
            r.set(k, v, nx=True)
            r.set(k, v, ex=None)
            r.set(k, v, nx=flag)
            r.set(k, v, nx=True, **options)
            cache.add(k, v)
            cache.add(k, v, None)
            mc.add(k, v)
            mc.add(k, v, expire=30)
        """
    )
    ops = cache_ops(found["f"])
    assert [(op.kind, op.ttl) for op in ops] == [
        (CacheKind.ACQUIRE, True),
        (CacheKind.ACQUIRE, False),
        (CacheKind.SET, False),
        # `nx=flag`: decided at run time, nothing emitted
        (CacheKind.ACQUIRE, None),
        (CacheKind.ACQUIRE, True),
        (CacheKind.ACQUIRE, False),
        (CacheKind.ACQUIRE, False),
        (CacheKind.ACQUIRE, True),
    ]


def test_keys_the_same_expression_or_the_same_variable() -> None:
    found = units(
        """
        import redis
        r = redis.Redis()
        KEY = "lock:all"

        def f(order_id):
            key = f"lock:{order_id}"
            r.setnx(key, 1)
            r.expire(f"lock:{order_id}", 10)
            r.setnx(KEY, 1)
            r.setnx("lock:" "all", 1)

        def rebound(order_id):
            key = f"a:{order_id}"
            key = f"b:{order_id}"
            r.setnx(key, 1)
        """
    )
    take, expire, constant, literal = cache_ops(found["f"])
    assert take.key == expire.key == 'f"lock:{order_id}"' and not take.key_constant
    assert constant.key_constant and literal.key_constant
    assert cache_ops(found["rebound"])[0].key == "key"


def test_pipelines_multi_and_watch() -> None:
    found = units(
        """
        import redis
        r = redis.Redis()

        def default_pipeline(k):
            pipe = r.pipeline()
            pipe.setnx(k, 1).expire(k, 10)
            pipe.execute()
            pipe.setnx(k, 1)

        def plain_pipeline(k):
            pipe = r.pipeline(transaction=False)
            pipe.setnx(k, 1)
            pipe.multi()
            pipe.expire(k, 10)

        def watching(k, token):
            with r.pipeline() as pipe:
                pipe.watch(k)
                if pipe.get(k) == token:
                    pipe.multi()
                    pipe.delete(k)
                    pipe.execute()

        def callback(k, token):
            def release(pipe):
                if pipe.get(k) == token:
                    pipe.delete(k)
            r.transaction(release, k)
        """
    )
    take, expire, after_execute = cache_ops(found["default_pipeline"])
    assert take.atomic_group is not None and take.atomic_group == expire.atomic_group != after_execute.atomic_group
    plain, multi = cache_ops(found["plain_pipeline"])
    assert plain.atomic_group is None and multi.atomic_group is not None
    get, delete = cache_ops(found["watching"])
    assert get.atomic_group is None and get.watched and get.decides
    assert delete.atomic_group is not None and delete.watched
    get, delete = cache_ops(found["release"])
    assert delete.atomic_group is None and delete.watched  # WATCH without multi(): runs at once


def test_compare_and_delete_scripts_and_lock_objects_release_safely() -> None:
    found = units(
        """
        import redis
        r = redis.Redis()
        SAFE = r.register_script("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end")
        OTHER = r.register_script("return redis.call('del', KEYS[1])")

        def f(k, token):
            SAFE(keys=[k], args=[token])
            OTHER(keys=[k])
            lock = r.lock(k, timeout=5)
            lock.acquire()
            lock.release()
        """
    )
    kinds = [(op.kind, op.command) for op in cache_ops(found["f"])]
    assert kinds == [(CacheKind.RELEASE, "script"), (CacheKind.ACQUIRE, "acquire"), (CacheKind.RELEASE, "release")]


def test_result_use_decides_or_is_data() -> None:
    found = units(
        """
        from django.core.cache import cache

        def flag(k):
            if cache.get(k):
                return

        def fill(k):
            value = cache.get(k)
            if value is None:
                value = compute()
            return value

        def converted(k):
            tries = cache.get(k)
            if int(tries) > 5:
                return
        """
    )
    assert cache_ops(found["flag"])[0].decides and not cache_ops(found["flag"])[0].result_used
    assert cache_ops(found["fill"])[0].decides and cache_ops(found["fill"])[0].result_used
    assert cache_ops(found["converted"])[0].compared_with == ("5",) and not cache_ops(found["converted"])[0].result_used


def test_result_use_follows_the_bound_value_not_the_name() -> None:
    found = units(
        """
        import redis
        r = redis.Redis()

        def rebound(k):
            n = r.incr(k)
            log(n)
            n = len(k)
            if n == 1:
                return

        def in_a_loop(k):
            for _ in range(3):
                if n == 1:
                    return
                n = r.incr(k)

        def in_handler(k):
            try:
                n = r.incr(k)
                n = other()
            except KeyError:
                if n == 1:
                    return

        def flag(k):
            first = r.incr(k) == 1
            if not first:
                return

        def walrus(k):
            if (n := r.incr(k)) == 1:
                return

        def asserted(k):
            n = r.incr(k)
            assert n == 1

        def decr(k):
            if r.decr(k) == 1:
                return
        """
    )
    assert not cache_ops(found["rebound"])[0].decides and cache_ops(found["rebound"])[0].result_used
    for name in ("in_a_loop", "in_handler", "flag", "walrus"):  # a later round, a raise, a bool, `:=`
        op = cache_ops(found[name])[0]
        assert op.decides and op.compared_with == ("1",), name
    assert not cache_ops(found["asserted"])[0].decides and cache_ops(found["asserted"])[0].compared_with == ()
    assert cache_ops(found["decr"])[0].decrement and not cache_ops(found["flag"])[0].decrement


def test_owner_checks_and_work_between_a_check_and_a_write() -> None:
    found = units(
        """
        import os
        import uuid
        from django.core.cache import cache

        def owner(k, token):
            if cache.get(k) == token:
                cache.delete(k)

        def stored(k):
            value = compute()
            cache.set(k, value)
            if cache.get(k) == value:
                cache.delete(k)

        def invalidation(k, version):
            if cache.get(k) is not None and cache.get(k) == version:
                cache.delete(k)

        def record(k):
            if cache.get(k):
                return
            logger.info("running %s", str(uuid.uuid4()))
            cache.set(make_key(k), 1)
            result = compute()
            cache.set(k, "done")
            return result

        def claimed(k):
            if not cache.add("lock:" + k, 1):
                return
            cache.set(k, 1)
        """
    )
    assert cache_ops(found["owner"])[0].owner_check
    assert [op.owner_check for op in cache_ops(found["stored"]) if op.kind is CacheKind.GET] == [True]
    assert not any(op.owner_check for op in cache_ops(found["invalidation"]))
    _check, claim, done = cache_ops(found["record"])
    assert claim.last_work is None or claim.last_work <= 0  # logging, id makers and the key's own helper are no work
    assert done.last_work is not None and done.last_work > 0
    assert not claim.under_claim and cache_ops(found["claimed"])[1].under_claim


def test_a_failed_acquire_holds_nothing_and_finally_releases() -> None:
    found = units(
        """
        import redis
        r = redis.Redis()

        def guarded(k, t):
            if not r.set(k, t, nx=True, ex=5):
                return False
            if r.set(k + "x", t, nx=True, ex=5) is None:
                return False
            try:
                return work()
            finally:
                r.delete(k)

        def leaks(k, t):
            acquired = r.set(k, t, nx=True, ex=5)
            if not acquired:
                return
            if broken():
                raise ValueError(k)
            r.delete(k)

        def unknown_test(k, t):
            if ready() and r.set(k, t, nx=True, ex=5):
                return
        """
    )
    guarded = found["guarded"]
    first, other = [i for i, op in enumerate(guarded.ops) if isinstance(op, CacheOp) and op.kind is CacheKind.ACQUIRE]
    early, second, inside_try = exits(guarded)
    assert early.held == ()
    assert second.held == (first,)  # the second take failed, but the first lock is still held here
    assert inside_try.held == (other,)  # `k + "x"` is never released; `k` is, by the finally
    leaks = found["leaks"]
    failed, raised, end = exits(leaks)
    assert failed.held == () and raised.kind == "raise" and raised.held == (leaks.ops.index(cache_ops(leaks)[0]),) and end.held == ()
    assert all(e.held == () for e in exits(found["unknown_test"]))  # not understood: taken as not held


def test_lambda_bodies_run_later_not_where_they_are_written() -> None:
    found = units(
        """
        from django.core.cache import cache

        def f(lock_id):
            acquire = lambda: cache.add(lock_id, 1, 60)
            release = lambda: cache.delete(lock_id)
            if acquire():
                release()
        """
    )
    assert cache_ops(found["f"]) == []
