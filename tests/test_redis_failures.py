"""TX201, TX202 and TX203 against a real Redis: the failure each rule predicts happens, and the
code the rule recommends instead does not fail.

Each case is one snippet of Python that is both linted (the rule must report on the line marked
`# TXnnn`, and stay silent on the good variant) and run against the Redis server at
127.0.0.1:6379. A crash is simulated by `checkpoint()` raising where the process would die; a
holder that stalls past its TTL by `checkpoint()` sleeping. Keys are unique per test and deleted
afterwards. Without a reachable server the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from textwrap import dedent
from typing import Any

import pytest

from txlint.core.config import Config
from txlint.core.registry import all_rules
from txlint.engine.runner import Engine

HOST, PORT = "127.0.0.1", 6379
TTL_MS = 150  # short TTLs keep the suite fast; waits below are generous multiples
CLIENT = f'import redis\nr = redis.Redis(host="{HOST}", port={PORT})\n'
RELEASE_LUA = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class SimulatedCrash(Exception):
    """The process died here (raised by `checkpoint`)."""


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true: the Redis failure tests must run there", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def redis_client() -> Iterator[Any]:
    try:
        import redis
    except ImportError:
        _unavailable("redis-py is not installed (it is in the `dev` extra)")
    client = redis.Redis(host=HOST, port=PORT, socket_connect_timeout=1, socket_timeout=5)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        _unavailable(f"no Redis server answering at {HOST}:{PORT} ({error})")
    yield client
    client.close()


@pytest.fixture
def keys(redis_client: Any) -> Iterator[Callable[[str], str]]:
    """Unique key names for one test; all of them are deleted afterwards."""
    made: list[str] = []
    prefix = f"txlint-test:{uuid.uuid4().hex}"

    def new(name: str) -> str:
        made.append(f"{prefix}:{name}")
        return made[-1]

    yield new
    if made:
        redis_client.delete(*made)


def lint(source: str) -> list[tuple[str, int]]:
    result = Engine(Config(), frozenset(all_rules())).check_text("snippet.py", source.encode())
    assert not result.notices, result.notices
    return [(f.code, f.line) for f in result.findings]


def marked_line(source: str, code: str) -> int:
    return next(n for n, text in enumerate(source.splitlines(), start=1) if text.rstrip().endswith(f"# {code}"))


def load(body: str, checkpoint: Callable[[], None]) -> dict[str, Any]:
    """Run the snippet's module code (it builds its own client) with `checkpoint` in scope."""
    namespace: dict[str, Any] = {"checkpoint": checkpoint}
    exec(compile(CLIENT + dedent(body), "snippet.py", "exec"), namespace)  # noqa: S102 - the snippet is ours
    return namespace


def crash() -> None:
    raise SimulatedCrash


def no_crash() -> None:
    return None


# -- TX201: SETNX then EXPIRE ------------------------------------------------------------------------
SETNX_THEN_EXPIRE = """
def acquire(key, token, ttl_ms):
    if not r.setnx(key, token):  # TX201
        return False
    checkpoint()
    r.pexpire(key, ttl_ms)
    return True
"""
SET_NX_PX = """
def acquire(key, token, ttl_ms):
    if not r.set(key, token, nx=True, px=ttl_ms):
        return False
    checkpoint()
    return True
"""
MULTI_SETNX_PEXPIRE = """
def acquire(key, token, ttl_ms):
    pipe = r.pipeline(transaction=True)
    pipe.setnx(key, token)
    pipe.pexpire(key, ttl_ms)
    created, _ = pipe.execute()
    if not created:
        return False
    checkpoint()
    return True
"""


def test_tx201_crash_between_setnx_and_expire_leaves_a_lock_that_never_expires(redis_client: Any, keys: Callable[[str], str]) -> None:
    source = CLIENT + dedent(SETNX_THEN_EXPIRE)
    assert ("TX201", marked_line(source, "TX201")) in lint(source)
    key = keys("tx201-bad")
    with pytest.raises(SimulatedCrash):
        load(SETNX_THEN_EXPIRE, crash)["acquire"](key, "worker-a", TTL_MS)
    assert redis_client.ttl(key) == -1  # the key exists and has no expiry
    time.sleep(TTL_MS * 3 / 1000)
    assert redis_client.get(key) == b"worker-a"
    assert load(SETNX_THEN_EXPIRE, no_crash)["acquire"](key, "worker-b", TTL_MS) is False  # locked out for good


@pytest.mark.parametrize("good", [SET_NX_PX, MULTI_SETNX_PEXPIRE], ids=["set-nx-px", "multi-pipeline"])
def test_tx201_atomic_acquire_expires_after_a_crash(redis_client: Any, keys: Callable[[str], str], good: str) -> None:
    assert not [code for code, _ in lint(CLIENT + dedent(good)) if code in {"TX201", "TX202"}]
    key = keys("tx201-good")
    with pytest.raises(SimulatedCrash):
        load(good, crash)["acquire"](key, "worker-a", TTL_MS)
    assert redis_client.pttl(key) > 0
    time.sleep(TTL_MS * 3 / 1000)
    assert redis_client.exists(key) == 0
    assert load(good, no_crash)["acquire"](key, "worker-b", TTL_MS) is True


# -- TX202: a lock without TTL ------------------------------------------------------------------------
SET_NX_NO_TTL = """
def run(key, token, work):
    if not r.set(key, token, nx=True):  # TX202
        return False
    work()
    r.delete(key)
    return True
"""
LOCK_NO_TIMEOUT = """
def run(name, work):
    lock = r.lock(name, blocking=False)
    if not lock.acquire():  # TX202
        return False
    try:
        work()
    finally:
        lock.release()
    return True
"""
LOCK_WITH_TIMEOUT = """
def run(name, work):
    lock = r.lock(name, timeout=0.15, blocking=False)
    if not lock.acquire():
        return False
    try:
        work()
    finally:
        lock.release()
    return True
"""


def test_tx202_lock_without_ttl_stays_forever_after_its_holder_dies(redis_client: Any, keys: Callable[[str], str]) -> None:
    source = CLIENT + dedent(SET_NX_NO_TTL)
    assert ("TX202", marked_line(source, "TX202")) in lint(source)
    key = keys("tx202-bad")
    run = load(SET_NX_NO_TTL, no_crash)["run"]
    with pytest.raises(SimulatedCrash):
        run(key, "worker-a", crash)  # dies inside the critical section
    time.sleep(TTL_MS * 3 / 1000)
    assert redis_client.pttl(key) == -1
    assert run(key, "worker-b", no_crash) is False  # nobody gets the lock again


def test_tx202_redis_py_lock_without_timeout_stays_forever(redis_client: Any, keys: Callable[[str], str]) -> None:
    source = CLIENT + dedent(LOCK_NO_TIMEOUT)
    assert ("TX202", marked_line(source, "TX202")) in lint(source)
    name = keys("tx202-lock-bad")
    run = load(LOCK_NO_TIMEOUT, no_crash)["run"]
    holder = redis_client.lock(name, blocking=False)
    assert holder.acquire()  # a holder of the same code that then dies without `finally` running (kill -9)
    time.sleep(TTL_MS * 3 / 1000)
    assert redis_client.pttl(name) == -1
    assert run(name, no_crash) is False


def test_tx202_lock_with_timeout_frees_itself(redis_client: Any, keys: Callable[[str], str]) -> None:
    assert "TX202" not in [code for code, _ in lint(CLIENT + dedent(LOCK_WITH_TIMEOUT))]
    name = keys("tx202-lock-good")
    run = load(LOCK_WITH_TIMEOUT, no_crash)["run"]
    holder = redis_client.lock(name, timeout=TTL_MS / 1000, blocking=False)
    assert holder.acquire()  # the holder dies without releasing
    assert redis_client.pttl(name) > 0
    time.sleep(TTL_MS * 3 / 1000)
    assert run(name, no_crash) is True


# -- TX203: a holder past its TTL frees the next holder's lock -------------------------------------------
PLAIN_DELETE = """
def run(key, token, ttl_ms, work):
    if not r.set(key, token, nx=True, px=ttl_ms):
        return False
    try:
        work()
    finally:
        r.delete(key)  # TX203
    return True
"""
CHECK_THEN_DELETE = """
def release(key, token):
    if r.get(key) == token.encode():
        checkpoint()
        r.delete(key)  # TX203
"""
LUA_RELEASE = f"""
RELEASE = r.register_script("{RELEASE_LUA}")

def run(key, token, ttl_ms, work):
    if not r.set(key, token, nx=True, px=ttl_ms):
        return False
    try:
        work()
    finally:
        RELEASE(keys=[key], args=[token])
    return True
"""
LOCK_OBJECT = """
def run(key, ttl_ms, work):
    with r.lock(key, timeout=ttl_ms / 1000, blocking=False):
        work()
"""


def _stall_then_someone_else_takes(redis_client: Any, key: str) -> Callable[[], None]:
    """The holder stalls past its TTL; meanwhile worker B takes the expired lock (for long)."""

    def work() -> None:
        time.sleep(TTL_MS * 2 / 1000)
        assert redis_client.exists(key) == 0, "the first holder's lock should have expired"
        assert redis_client.set(key, "worker-b", nx=True, ex=30)

    return work


def test_tx203_plain_delete_frees_the_next_holders_lock(redis_client: Any, keys: Callable[[str], str]) -> None:
    source = CLIENT + dedent(PLAIN_DELETE)
    assert ("TX203", marked_line(source, "TX203")) in lint(source)
    key = keys("tx203-bad")
    run = load(PLAIN_DELETE, no_crash)["run"]
    assert run(key, "worker-a", TTL_MS, _stall_then_someone_else_takes(redis_client, key)) is True
    assert redis_client.exists(key) == 0  # worker B still works, but its lock is gone
    assert run(key, "worker-c", 30_000, no_crash) is True  # so C runs the critical section beside B


def test_tx203_check_then_delete_frees_the_next_holders_lock(redis_client: Any, keys: Callable[[str], str]) -> None:
    source = CLIENT + dedent(CHECK_THEN_DELETE)
    assert ("TX203", marked_line(source, "TX203")) in lint(source)
    key = keys("tx203-check")
    assert redis_client.set(key, "worker-a", nx=True, px=TTL_MS)
    release = load(CHECK_THEN_DELETE, _stall_then_someone_else_takes(redis_client, key))["release"]
    release(key, "worker-a")  # the check passed while A owned it; the delete hits B's lock
    assert redis_client.exists(key) == 0


def test_tx203_lua_compare_and_delete_leaves_the_next_holders_lock(redis_client: Any, keys: Callable[[str], str]) -> None:
    assert "TX203" not in [code for code, _ in lint(CLIENT + dedent(LUA_RELEASE))]
    key = keys("tx203-lua")
    run = load(LUA_RELEASE, no_crash)["run"]
    assert run(key, "worker-a", TTL_MS, _stall_then_someone_else_takes(redis_client, key)) is True
    assert redis_client.get(key) == b"worker-b"
    assert run(key, "worker-c", 30_000, no_crash) is False


def test_tx203_redis_py_lock_refuses_to_free_the_next_holders_lock(redis_client: Any, keys: Callable[[str], str]) -> None:
    import redis

    assert "TX203" not in [code for code, _ in lint(CLIENT + dedent(LOCK_OBJECT))]
    key = keys("tx203-lock")
    run = load(LOCK_OBJECT, no_crash)["run"]
    with pytest.raises(redis.exceptions.LockError):  # it notices it no longer owns the lock
        run(key, TTL_MS, _stall_then_someone_else_takes(redis_client, key))
    assert redis_client.get(key) == b"worker-b"
