"""A cheap first look at a Python file: can it matter at all?

A file that mentions no database, ORM, SQL or cache API is not parsed with
libcst (the expensive part); CPython's own parser still checks it, so a
syntax error there is TX000 like anywhere else. The words are the ones every
recogniser's knowledge starts from: a file without any of them produces no
IR, so skipping it changes no finding.
"""

from __future__ import annotations

import re

TRIGGERS = (
    # Django ORM (models, managers, transactions)
    "models", "objects", "_default_manager", "_base_manager", ".save(", "get_object_or_404",
    "select_for_update", "atomic", "set_autocommit", "get_or_create", "update_or_create",
    "refresh_from_db",
    # SQLAlchemy
    "sqlalchemy", "session", "Session", "with_for_update",
    # DB-API drivers and SQL
    "cursor", ".execute(", "connect(", ".commit(", ".rollback(", "autocommit",
    # caches and distributed locks
    "redis", "Redis", "cache", "memcache", "setnx", ".lock(",
)  # fmt: skip
_PATTERN = re.compile("|".join(re.escape(t) for t in TRIGGERS))


def may_matter(text: str) -> bool:
    """Whether the source mentions anything a recogniser knows."""
    return _PATTERN.search(text) is not None
