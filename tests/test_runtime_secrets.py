"""Bound values (card numbers, passwords) never leave a monitor unless the user asks for them.

Each source runs code that is flagged (TX101 on a row found by its card number,
a decrement written with the card number inlined in the SQL, writes left
uncommitted) with distinctive secret values, in every mode, while an error of
txlint quotes a secret in its message. Nothing a user sees — any field of a
finding, a warning, a log record, the exception of mode "raise" — holds a
secret; the SQL is shown with placeholders and `?` for literals. With
`show_values=True` the values are shown (so the tests above would see them
if they leaked).
"""

from __future__ import annotations

import logging
import sqlite3
import warnings
from pathlib import Path
from typing import Any

import pytest

from runtime_support import django_shop
from txlint.runtime import TransactionSafetyError, format_finding

CARD = "4929123456781234"
PASSWORD = "Zq9-hunter2-pass"
SECRETS = (CARD, PASSWORD, "4929", "hunter2")


def leaking_bound(params: object, key: object) -> object:
    """The trace analyser's `bound_value` with a bug whose message quotes the values (as `int('4929...')` would)."""
    raise ValueError(f"cannot read {params!r}")


def break_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every module of the trace analyser that reads bound values gets the leaking `bound_value`."""
    from txlint.runtime.trace import judgement, records, statements

    for module in (judgement, records, statements):
        monkeypatch.setattr(module, "bound_value", leaking_bound)


def seen_by_the_user(monitor: Any, records: list[logging.LogRecord], caught: list[str]) -> str:
    findings = [repr(f) + format_finding(f) for f in monitor.findings]
    logs = [record.getMessage() + (logging.Formatter().formatException(record.exc_info) if record.exc_info else "") for record in records]
    return "\n".join(findings + logs + caught)


def assert_hidden(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cards.db"
    setup = sqlite3.connect(path)
    setup.executescript(
        "CREATE TABLE cards (id INTEGER PRIMARY KEY, number TEXT UNIQUE, pin TEXT, balance INTEGER, note TEXT);"
        f"INSERT INTO cards VALUES (1, '{CARD}', '{PASSWORD}', 500, '');"
    )
    setup.close()
    return path


# -- SQLAlchemy ------------------------------------------------------------------------------------


def sqlalchemy_charge(engine: Any) -> None:
    from sqlalchemy import text

    with engine.begin() as conn:
        row = conn.execute(text("SELECT id, balance FROM cards WHERE number = :number"), {"number": CARD}).one()
        conn.execute(text("UPDATE cards SET balance = :balance, note = :note WHERE number = :number"),
                     {"balance": row.balance - 7, "note": PASSWORD, "number": CARD})
        conn.exec_driver_sql(f"UPDATE cards SET balance = balance - 1 WHERE number = '{CARD}'")  # noqa: S608 - the point of the test
    conn = engine.connect()
    conn.execute(text("UPDATE cards SET note = :note WHERE number = :number"), {"note": PASSWORD, "number": CARD})
    conn.close()  # uncommitted: TX104


@pytest.mark.parametrize("mode", ["collect", "warn", "log", "raise"])
def test_sqlalchemy_findings_and_logs_hold_no_bound_value(mode: str, db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from txlint.runtime import watch

    engine = sqlalchemy.create_engine(f"sqlite:///{db}")
    caught: list[str] = []
    with caplog.at_level(logging.DEBUG, logger="txlint"), warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        monitor = watch(engine, mode=mode)
        try:
            sqlalchemy_charge(engine)
        except TransactionSafetyError as error:
            caught.append(str(error))
        try:
            monitor.close()
        except TransactionSafetyError as error:
            caught.append(str(error))
        with watch(engine, mode=mode) as broken:
            break_bound(monkeypatch)
            with engine.begin() as conn:
                conn.execute(sqlalchemy.text("SELECT balance FROM cards WHERE number = :number"), {"number": CARD})
    caught += [str(w.message) for w in shown]
    text = seen_by_the_user(monitor, caplog.records, caught)
    assert {f.code for f in monitor.findings} >= {"TX101", "TX104", "TX106"} or caught
    assert "WHERE number = :number" in text or "WHERE number = ?" in text
    assert broken.errors >= 1 and "ValueError" in text  # the error is reported, without its message
    assert_hidden(text)
    engine.dispose()


def test_sqlalchemy_show_values_shows_them(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from txlint.runtime import watch

    engine = sqlalchemy.create_engine(f"sqlite:///{db}")
    with watch(engine, mode="collect", show_values=True) as monitor:
        sqlalchemy_charge(engine)
    text = seen_by_the_user(monitor, [], [])
    assert CARD in text and PASSWORD in text
    engine.dispose()


# -- DB-API ----------------------------------------------------------------------------------------


def dbapi_charge(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute("SELECT id, balance FROM cards WHERE number = ?", (CARD,))
    _, balance = cur.fetchone()
    cur.execute("UPDATE cards SET balance = ?, note = ? WHERE number = ?", (balance - 7, PASSWORD, CARD))
    cur.execute(f"UPDATE cards SET balance = balance - 1 WHERE number = '{CARD}'")  # noqa: S608 - the point of the test
    conn.commit()
    cur.execute("UPDATE cards SET note = ? WHERE number = ?", (PASSWORD, CARD))
    conn.close()  # uncommitted: TX104


@pytest.mark.parametrize("mode", ["collect", "warn", "log", "raise"])
def test_dbapi_findings_and_logs_hold_no_bound_value(mode: str, db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from txlint.runtime.sources.dbapi_wrapper import wrap

    caught: list[str] = []
    with caplog.at_level(logging.DEBUG, logger="txlint"), warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        conn = wrap(sqlite3.connect(db), mode=mode)
        try:
            dbapi_charge(conn)
        except TransactionSafetyError as error:
            caught.append(str(error))
        broken = wrap(sqlite3.connect(db), mode=mode)
        break_bound(monkeypatch)
        broken.execute("SELECT balance FROM cards WHERE number = ?", (CARD,)).fetchone()
        broken.close()
    caught += [str(w.message) for w in shown]
    monitor = conn.txlint_monitor
    text = seen_by_the_user(monitor, caplog.records, caught)
    assert {f.code for f in monitor.findings} >= {"TX101"} or caught
    assert "WHERE number = ?" in text
    assert broken.txlint_monitor.errors >= 1 and "ValueError" in text
    assert_hidden(text)


def test_dbapi_show_values_shows_them(db: Path) -> None:
    from txlint.runtime.sources.dbapi_wrapper import wrap

    conn = wrap(sqlite3.connect(db), mode="collect", show_values=True)
    dbapi_charge(conn)
    text = seen_by_the_user(conn.txlint_monitor, [], [])
    assert CARD in text and PASSWORD in text


def test_rows_read_keep_only_numbers(db: Path) -> None:
    # What a read returned is kept to see whether a written number changed: text is not kept at all.
    from txlint.runtime.sources.dbapi_wrapper import wrap

    conn = wrap(sqlite3.connect(db), mode="collect")
    conn.execute("SELECT * FROM cards WHERE id = ?", (1,)).fetchone()
    token = conn.txlint_monitor.analyser.last_read(id(conn.wrapped))
    assert token.values == {"id": 1, "balance": 500}
    conn.close()


# -- Django ----------------------------------------------------------------------------------------


def django_charge() -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT id, balance FROM txlshop_account WHERE name = %s AND id = %s", [PASSWORD, 1])
        _, balance = cur.fetchone()
        cur.execute("UPDATE txlshop_account SET balance = %s WHERE name = %s AND id = %s", [balance - 7, PASSWORD, 1])
        cur.execute(f"UPDATE txlshop_account SET balance = balance - 1 WHERE name = '{PASSWORD}'")  # noqa: S608
    transaction.set_autocommit(False)
    with connection.cursor() as cur:
        cur.execute("UPDATE txlshop_account SET name = %s WHERE id = %s", [CARD, 1])
    connection.close()  # uncommitted: TX104


@pytest.mark.parametrize("mode", ["collect", "warn", "log", "raise"])
def test_django_findings_and_logs_hold_no_bound_value(mode: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("django")
    Account = django_shop()[0]  # noqa: N806
    Account.objects.filter(pk=1).update(name=PASSWORD)
    from django.db import connection

    from txlint.runtime.sources.django_connections import watch

    caught: list[str] = []
    with caplog.at_level(logging.DEBUG, logger="txlint"), warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        monitor = watch(mode=mode)
        try:
            django_charge()
        except TransactionSafetyError as error:
            caught.append(str(error))
            connection.close()
        monitor.close()
        with watch(mode=mode) as broken:
            break_bound(monkeypatch)
            with connection.cursor() as cur:
                cur.execute("SELECT balance FROM txlshop_account WHERE name = %s", [PASSWORD])
    caught += [str(w.message) for w in shown]
    text = seen_by_the_user(monitor, caplog.records, caught)
    assert {f.code for f in monitor.findings} >= {"TX101", "TX104"} or caught
    assert "name = %s" in text
    assert broken.errors >= 1 and "ValueError" in text
    assert_hidden(text)


def test_django_show_values_shows_them() -> None:
    pytest.importorskip("django")
    Account = django_shop()[0]  # noqa: N806
    Account.objects.filter(pk=1).update(name=PASSWORD)
    from txlint.runtime.sources.django_connections import watch

    with watch(mode="collect", show_values=True) as monitor:
        django_charge()
    text = seen_by_the_user(monitor, [], [])
    assert CARD in text and PASSWORD in text
