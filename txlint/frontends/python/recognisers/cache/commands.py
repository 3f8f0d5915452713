"""Cache commands as data: what each method of each client library does to its key.

One row per method: the `CacheKind` it performs and where its arguments
are. Commands whose meaning depends on their options (redis-py `set` with
`nx`/`ex`/`px`, Django's and memcached's `add`/`set` with a timeout) are
read by the emitter; the rest is looked up here.
"""

from __future__ import annotations

from dataclasses import dataclass

from txlint.core.ir import CacheKind


@dataclass(frozen=True)
class Command:
    """What a command does: its kind, where the value it stores is (position, keyword), whether it
    leaves the key with an expiry, whether it applies to every positional key, whether it lowers a counter."""

    kind: CacheKind
    value: tuple[int, str] | None = None
    ttl: bool | None = False
    every_key: bool = False
    decrement: bool = False


_EXPIRE = Command(CacheKind.EXPIRE, ttl=True)
_GET = Command(CacheKind.GET)

REDIS_COMMANDS: dict[str, Command] = {
    "setex": Command(CacheKind.SET, value=(2, "value"), ttl=True),
    "psetex": Command(CacheKind.SET, value=(2, "value"), ttl=True),
    "setnx": Command(CacheKind.ACQUIRE, value=(1, "value")),
    "get": _GET,
    "exists": _GET,
    "delete": Command(CacheKind.DELETE, every_key=True),
    "unlink": Command(CacheKind.DELETE, every_key=True),
    "getdel": Command(CacheKind.DELETE),
    "expire": _EXPIRE,
    "pexpire": _EXPIRE,
    "expireat": _EXPIRE,
    "pexpireat": _EXPIRE,
    "incr": Command(CacheKind.INCR),
    "incrby": Command(CacheKind.INCR),
    "incrbyfloat": Command(CacheKind.INCR),
    "decr": Command(CacheKind.INCR, decrement=True),
    "decrby": Command(CacheKind.INCR, decrement=True),
}
# Django's cache API, pymemcache and python-memcached (`add`, `set`, `get_or_set`, `cas`, `touch`
# depend on the library's expiry conventions and are read by the emitter).
MEMCACHE_COMMANDS: dict[str, Command] = {
    "get": _GET,
    "gets": _GET,
    "has_key": _GET,
    "delete": Command(CacheKind.DELETE),
    "incr": Command(CacheKind.INCR),
    "decr": Command(CacheKind.INCR, decrement=True),
}
# Django's async cache methods (`aadd`, `aget`, ...) do what their sync namesakes do.
DJANGO_METHODS = {"add", "set", "get", "has_key", "delete", "incr", "decr", "get_or_set", "touch"}
PIPELINE_COMMANDS = {"multi", "watch", "unwatch", "execute", "reset", "discard"}
# Commands no other client library has: a receiver of unknown type that is sent one is a redis client
# (as is one sent `set(..., nx=True, px=...)` or `ex=`: Django's and memcached's `set` take no `px`/`ex`;
# or `set(..., nx=True)` with redis-py's own keywords only: django-redis's takes a `timeout`).
REDIS_ONLY = {"setnx", "setex", "psetex", "pexpire", "pexpireat", "expireat", "getdel", "unlink", "pttl"}
REDIS_ONLY_SET_OPTIONS = {"px", "ex", "pxat", "exat"}
REDIS_SET_KEYWORDS = {"name", "value", "ex", "px", "nx", "xx", "keepttl", "get", "exat", "pxat"}
