"""Shared by the runtime tests: database servers, throw-away tables, finding lines.

The servers are the ones on the development machine (override with
`TXLINT_TEST_POSTGRES_URL` / `TXLINT_TEST_MARIADB_URL`). A server that is
absent skips its tests with the reason, except under `CI=true`, where an
absent server is a failure: CI must run the proofs.
"""

from __future__ import annotations

import inspect
import os
import tempfile
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
    except Exception as error:  # noqa: BLE001 - no driver, no server, no database
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
    from sqlalchemy.orm import declarative_base  # SQLAlchemy 1.4 and 2.x alike

    Base: Any = declarative_base()

    class Account(Base):
        __tablename__ = table
        id = Column(Integer, primary_key=True)
        balance = Column(Integer)
        hits = Column(Integer, default=0)

    return Account


_django_models: tuple[Any, Any, Any] | None = None


def django_models() -> tuple[Any, Any, Any]:
    """Django configured once per process on a SQLite file, with `Account(balance, name)`,
    `Order(status)` and `Shipment(order_id)` tables; skips when Django is not installed or its
    settings were configured by something else."""
    global _django_models
    if _django_models is not None:
        return _django_models
    django = pytest.importorskip("django")
    from django.conf import settings

    if settings.configured:
        pytest.skip("Django settings are already configured by something else in this process")
    folder = tempfile.mkdtemp(prefix="txlint-django-")
    settings.configure(
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(folder, "shop.db")}},
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()
    from django.db import connection
    from django.db import models as m

    class Account(m.Model):
        balance = m.IntegerField()
        name = m.CharField(max_length=40, default="")

        class Meta:
            app_label = "txlshop"

    class Order(m.Model):
        status = m.CharField(max_length=20)

        class Meta:
            app_label = "txlshop"

    class Shipment(m.Model):
        order_id = m.IntegerField()

        class Meta:
            app_label = "txlshop"

    with connection.schema_editor() as editor:
        for model in (Account, Order, Shipment):
            editor.create_model(model)
    _django_models = (Account, Order, Shipment)
    return _django_models


def django_shop() -> tuple[Any, Any, Any]:
    """The Django models with fresh rows: account 1 (balance 100), order 1 ("paid")."""
    Account, Order, Shipment = django_models()  # noqa: N806
    Account.objects.all().delete()
    Order.objects.all().delete()
    Shipment.objects.all().delete()
    Account.objects.create(id=1, balance=100)
    Order.objects.create(id=1, status="paid")
    return Account, Order, Shipment
