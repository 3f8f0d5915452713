"""Shared by the runtime tests: database servers, throw-away tables, finding lines.

The servers are the ones on the development machine (override with
`TXLINT_TEST_POSTGRES_URL` / `TXLINT_TEST_MARIADB_URL`). A server that is
absent skips its tests with the reason, except under `CI=true`, where an
absent server is a failure: CI must run the proofs.
"""

from __future__ import annotations

import inspect
import os
import uuid
from collections.abc import Callable
from typing import Any

import pytest

POSTGRES_URL = os.environ.get("TXLINT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("TXLINT_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")

_unreachable: dict[str, str] = {}


def unavailable(reason: str) -> None:
    """Skip, or fail under CI (where every server must be there)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the runtime proofs must run)")
    pytest.skip(reason)


def server_engine(url: str) -> Any:
    """A SQLAlchemy engine on a running server, with room for eight racing connections."""
    if url in _unreachable:
        unavailable(_unreachable[url])
    sqlalchemy = pytest.importorskip("sqlalchemy")
    try:
        engine = sqlalchemy.create_engine(url, pool_size=10, max_overflow=10, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
    except Exception as error:  # no driver, no server, no database
        _unreachable[url] = f"database server not available at {url.split('@')[-1]}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        unavailable(_unreachable[url])
    return engine


def unique_name(prefix: str = "txl") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def line_of(fn: Callable[..., Any], marker: str) -> int:
    """The file line of the first line of `fn` that contains `marker`."""
    lines, first = inspect.getsourcelines(fn)
    return next(first + i for i, text in enumerate(lines) if marker in text)


def account_model(table: str) -> Any:
    """A fresh declarative `Account(id, balance)` mapped to `table`."""
    from sqlalchemy import Column, Integer
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase):
        pass

    class Account(Base):
        __tablename__ = table
        id = Column(Integer, primary_key=True)
        balance = Column(Integer)
        hits = Column(Integer, default=0)

    return Account
