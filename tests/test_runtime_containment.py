"""The hook cannot hurt its host: errors of txlint, and SQL it cannot read, in every source.

Each source runs a small program in mode "raise" while an internal function of
txlint is made to fail (the statement analysis, the driver's state probe, the
pool check-in, the Django boundaries): every statement still runs and returns
its result, nothing but a `TransactionSafetyError` could reach the program
(and none does: there is no finding), the errors are counted, and the txlint
logger gets exactly one record for them. SQL that sqlglot cannot parse is not
judged: it is counted and logged once, as a warning.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from runtime_support import django_shop
from txlint.runtime import trace
from txlint.runtime.sources import drivers
from txlint.runtime.sources.dbapi_wrapper import wrap

UNPARSABLE = "UPDATE OR ROLLBACK accounts SET hits = ? WHERE id = ?"  # SQLite runs it; sqlglot cannot read it


def broken(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("bug in txlint")


def txlint_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "txlint" and r.levelno == level]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    setup = sqlite3.connect(path)
    setup.executescript(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER, hits INTEGER);"
        "INSERT INTO accounts VALUES (1, 100, 0), (2, 100, 0);"
    )
    setup.close()
    return path


# -- SQLAlchemy ------------------------------------------------------------------------------------


def sqlalchemy_program(engine: Any) -> list[object]:
    """Reads and writes through Core and a connection check-in; returns what the program saw."""
    from sqlalchemy import text

    seen: list[object] = []
    with engine.begin() as conn:
        seen.append(conn.execute(text("SELECT balance FROM accounts WHERE id = :id"), {"id": 1}).scalar_one())
        seen.append(conn.execute(text("UPDATE accounts SET hits = hits + 1 WHERE id = :id"), {"id": 1}).rowcount)
    with engine.connect() as conn:
        seen.append(conn.execute(text("SELECT hits FROM accounts WHERE id = 1")).scalar_one())
    return seen


@pytest.mark.parametrize(
    "target",
    ["txlint.runtime.trace.TraceAnalyser._read", "txlint.runtime.trace.TraceAnalyser._write", "txlint.runtime.sources.drivers.autocommit",
     "txlint.runtime.trace.TraceAnalyser.released", "txlint.runtime.sources.sqlalchemy_events.SQLAlchemyMonitor._analyser_knowing",
     "txlint.runtime.trace.analyser.parse_statements", "txlint.runtime.trace.TraceAnalyser.commit", "txlint.runtime.trace.TraceAnalyser.rollback"],
)
def test_sqlalchemy_bug_in_txlint_is_contained(target: str, db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from txlint.runtime import watch

    engine = sqlalchemy.create_engine(f"sqlite:///{db}")
    with caplog.at_level(logging.DEBUG, logger="txlint"), watch(engine, mode="raise") as monitor:
        monkeypatch.setattr(target, broken)
        assert sqlalchemy_program(engine) == [100, 1, 1]
        assert sqlalchemy_program(engine) == [100, 1, 2]
    assert monitor.errors >= 1 and monitor.findings == []
    assert len(txlint_records(caplog, logging.ERROR)) == 1
    assert engine.pool.checkedout() == 0
    engine.dispose()


def test_sqlalchemy_unparsable_sql_runs_and_is_counted_once(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from txlint.runtime import watch

    engine = sqlalchemy.create_engine(f"sqlite:///{db}")
    with caplog.at_level(logging.DEBUG, logger="txlint"), watch(engine, mode="raise") as monitor:
        for hits in (1, 2, 3):
            with engine.begin() as conn:
                assert conn.exec_driver_sql(UNPARSABLE, (hits, 1)).rowcount == 1
    assert (monitor.unparsed, monitor.errors) == (1, 0)  # one text, parsed once
    [notice] = txlint_records(caplog, logging.WARNING)
    assert "could not be parsed" in notice.getMessage() and "ROLLBACK" not in notice.getMessage()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT hits FROM accounts WHERE id = 1").scalar_one() == 3
    engine.dispose()


# -- DB-API ----------------------------------------------------------------------------------------


def dbapi_program(conn: Any) -> list[object]:
    seen: list[object] = []
    cur = conn.cursor()
    cur.execute("SELECT balance FROM accounts WHERE id = ?", (1,))
    seen.append(cur.fetchone()[0])
    cur.execute("UPDATE accounts SET hits = hits + ? WHERE id = ?", (1, 1))
    seen.append(cur.rowcount)
    conn.commit()
    with conn:
        seen.append(conn.execute("SELECT count(*) FROM accounts").fetchone()[0])
    return seen


@pytest.mark.parametrize(
    "target",
    ["txlint.runtime.trace.TraceAnalyser._read", "txlint.runtime.trace.TraceAnalyser.commit", "txlint.runtime.sources.drivers.in_transaction",
     "txlint.runtime.trace.TraceAnalyser.record_row", "txlint.runtime.trace.TraceAnalyser.released", "txlint.runtime.sources.drivers.driver_module"],
)
def test_dbapi_bug_in_txlint_is_contained(target: str, db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    conn = wrap(sqlite3.connect(db), mode="raise")
    with caplog.at_level(logging.DEBUG, logger="txlint"):
        monkeypatch.setattr(target, broken)
        assert dbapi_program(conn) == [100, 1, 2]
        assert dbapi_program(conn) == [100, 1, 2]
        conn.close()
    check = sqlite3.connect(db)
    assert check.execute("SELECT hits FROM accounts WHERE id = 1").fetchone() == (2,)
    check.close()
    monitor = conn.txlint_monitor
    assert monitor.errors >= 1 and monitor.findings == []
    assert len(txlint_records(caplog, logging.ERROR)) == 1


def test_dbapi_unparsable_sql_runs_and_is_counted_once(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    conn = wrap(sqlite3.connect(db), mode="raise")
    with caplog.at_level(logging.DEBUG, logger="txlint"):
        for hits in (1, 2):
            assert conn.execute(UNPARSABLE, (hits, 1)).rowcount == 1
            conn.commit()
    assert (conn.txlint_monitor.unparsed, conn.txlint_monitor.errors) == (1, 0)
    assert len(txlint_records(caplog, logging.WARNING)) == 1
    assert conn.execute("SELECT hits FROM accounts WHERE id = 1").fetchone() == (2,)
    conn.close()


def test_only_findings_raise_and_only_as_transaction_safety_error(db: Path) -> None:
    from txlint.runtime import TransactionSafetyError

    conn = wrap(sqlite3.connect(db), mode="raise")
    (balance,) = conn.execute("SELECT balance FROM accounts WHERE id = ?", (1,)).fetchone()
    with pytest.raises(TransactionSafetyError) as caught:
        conn.execute("UPDATE accounts SET balance = ? WHERE id = ?", (balance - 5, 1))
    assert caught.value.finding.code == "TX101"
    conn.rollback()
    conn.close()


# -- Django ----------------------------------------------------------------------------------------


def django_program(Account: Any) -> list[object]:  # noqa: N803
    from django.db import connection, transaction
    from django.db.models import F

    seen: list[object] = []
    with transaction.atomic():
        seen.append(Account.objects.get(pk=1).balance)
        seen.append(Account.objects.filter(pk=1).update(balance=F("balance") + 10))
    transaction.set_autocommit(False)
    seen.append(Account.objects.filter(pk=1).update(name="manual"))
    transaction.commit()
    Account.objects.filter(pk=1).update(name="undone")
    transaction.rollback()
    transaction.set_autocommit(True)
    connection.close()
    return seen


@pytest.mark.parametrize(
    "target",
    ["txlint.runtime.trace.TraceAnalyser._read", "txlint.runtime.trace.TraceAnalyser.commit", "txlint.runtime.trace.TraceAnalyser.rollback",
     "txlint.runtime.trace.TraceAnalyser.released", "txlint.runtime.sources.django_connections._lock_request"],
)
def test_django_bug_in_txlint_is_contained(target: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("django")
    Account = django_shop()[0]  # noqa: N806
    from txlint.runtime.sources.django_connections import watch

    with caplog.at_level(logging.DEBUG, logger="txlint"), watch(mode="raise") as monitor:
        monkeypatch.setattr(target, broken)
        assert django_program(Account) == [100, 1, 1]
        assert django_program(Account) == [110, 1, 1]
    assert monitor.errors >= 1 and monitor.findings == []
    assert len(txlint_records(caplog, logging.ERROR)) == 1
    assert (Account.objects.get(pk=1).balance, Account.objects.get(pk=1).name) == (120, "manual")


def test_django_unparsable_sql_runs_and_is_counted_once(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("django")
    django_shop()
    from django.db import connection

    from txlint.runtime.sources.django_connections import watch

    with caplog.at_level(logging.DEBUG, logger="txlint"), watch(mode="raise") as monitor:
        for hits in (1, 2):
            with connection.cursor() as cur:
                cur.execute(UNPARSABLE.replace("accounts", "txlshop_account").replace("hits", "balance").replace("?", "%s"), [hits, 1])
                assert cur.rowcount == 1
    assert (monitor.unparsed, monitor.errors) == (1, 0)
    assert len(txlint_records(caplog, logging.WARNING)) == 1


def test_the_patched_names_exist() -> None:
    # The tests above patch internals by name: a rename must fail here, not pass silently there.
    assert callable(trace.TraceAnalyser._read) and callable(drivers.in_transaction) and callable(drivers.autocommit)
