"""A cheap first look at a Python file: can it matter at all, and for what?

A file that mentions no database, ORM, SQL or cache API is not parsed with
libcst (the expensive part); CPython's own parser still checks it, so a
syntax error there is TX000 like anywhere else. The words are the ones every
recogniser's knowledge starts from: a file without any of them produces no
IR, so skipping it changes no finding.

Two questions, because a file can matter in two ways. It may declare tables
(a Django model, a mapped class): the project index needs it parsed. It may
operate on a database or cache (a query, a save, a cursor, a lock): only then
are its functions walked. A models module of a framework mentions `models`
everywhere and queries nothing; walking it costs as much as parsing it.
"""

from __future__ import annotations

import re

OPERATION_TRIGGERS = (
    # Django ORM: managers and querysets, instance writes, transactions
    ".objects", "_default_manager", "_base_manager", "QuerySet", "Manager", ".save(", ".delete(",
    "bulk_", "get_object_or_404", "get_object(", "select_for_update", "atomic",
    "set_autocommit", "get_or_create", "update_or_create", "refresh_from_db",
    # SQLAlchemy
    "sqlalchemy", "session", "Session", "with_for_update",
    # DB-API drivers and SQL
    "cursor", ".execute(", "connect(", ".commit(", ".rollback(", "autocommit",
    "fetchrow", "fetchval", "fetch_one", "fetch_val", "fetch_all", "getconn", "create_pool", "asyncpg", "aiosqlite",
    "aiomysql", "psycopg", "import databases", "from databases",
    # caches and distributed locks: clients it knows come from these imports and types
    # (`cached_property` and `lru_cache` are not among them), and the commands of a client called
    # `cache` (a project's own instance of a library's cache: its type is the project's to tell)
    "redis", "Redis", "memcache", "setnx", ".lock(", "core.cache", "BaseCache", "flask_caching", "flask_cache",
    "cache.get(", "cache.set(", "cache.add(", "cache.inc(", "cache.incr(", "cache.delete(",
    # commands only redis has, whatever the client is called (clarification 22)
    "pexpire", "psetex", "nx=True",
)  # fmt: skip
DECLARATION_TRIGGERS = (
    "models", "Model", "sqlalchemy", "__tablename__", "Table(", "Column(", "mapped_column", "Mapped[", "DeclarativeBase",
)  # fmt: skip

_OPERATES = re.compile("|".join(re.escape(t) for t in OPERATION_TRIGGERS))
_DECLARES = re.compile("|".join(re.escape(t) for t in DECLARATION_TRIGGERS))


def may_matter(text: str) -> bool:
    """Whether the source mentions anything a recogniser knows (so it is worth parsing)."""
    return may_operate(text) or _DECLARES.search(text) is not None


def may_operate(text: str) -> bool:
    """Whether the source mentions an operation a recogniser turns into IR (so its functions are walked)."""
    return _OPERATES.search(text) is not None
