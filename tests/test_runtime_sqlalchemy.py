"""The SQLAlchemy hook: installation, modes, selection, containment, and what it reports.

Most tests run on a SQLite file (always available, one per test); the
TX104/TX109 checks that need a real server run on PostgreSQL.

The hook judges by values here (`read_source=False`): the models are made by a factory
(`runtime_support.account_model`), a class no source declares, so the source could show no
write; `tests/test_runtime_source.py` covers what the source decides.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy")

from sqlalchemy import CheckConstraint, Column, Integer, MetaData, String, Table, create_engine, event, select, text, update  # noqa: E402
from sqlalchemy.orm import Mapper, Session  # noqa: E402

from runtime_support import POSTGRES_URL, account_model, line_of, server_engine, unique_name  # noqa: E402
from txlint.runtime import TransactionSafetyError, TransactionSafetyWarning, watch  # noqa: E402
from txlint.runtime.sources.sqlalchemy_events import SQLAlchemyMonitor  # noqa: E402

THIS_FILE = Path(__file__).name
ENGINE_EVENTS = ("begin", "after_cursor_execute", "commit", "rollback")


@pytest.fixture
def engine(tmp_path: Path) -> Any:
    engine = create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def Account(engine: Any) -> Any:  # noqa: N802 - a model class
    model = account_model("accounts")
    model.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        session.add_all([model(id=1, balance=100, hits=0), model(id=2, balance=100, hits=0)])
    return model


def codes(monitor: SQLAlchemyMonitor) -> list[str]:
    return sorted(f.code for f in monitor.findings)


def withdraw(engine: Any, Account: Any, amount: int = 10) -> None:  # noqa: N803
    with Session(engine) as session:
        account = session.get(Account, 1)
        account.balance -= amount
        session.commit()  # <- TX101


def withdraw_locked(engine: Any, Account: Any, amount: int = 10) -> None:  # noqa: N803
    with Session(engine) as session:
        account = session.get(Account, 1, with_for_update=True)
        account.balance -= amount
        session.commit()


# -- installation --------------------------------------------------------------------------------


def test_importing_txlint_runtime_changes_nothing() -> None:
    probe = (
        "import sys, txlint.runtime\n"
        "assert 'sqlalchemy' not in sys.modules, 'txlint.runtime imported SQLAlchemy'\n"
        "assert 'txlint.runtime.sources.sqlalchemy_events' not in sys.modules\n"
        "from sqlalchemy import create_engine\n"
        "engine = create_engine('sqlite://')\n"
        "assert not engine.dispatch.after_cursor_execute and not engine.dispatch.begin\n"
        "print('clean')\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean"


def test_watch_installs_and_close_removes_every_listener(engine: Any) -> None:
    before = {name: len(getattr(engine.dispatch, name)) for name in ENGINE_EVENTS}
    monitor = watch(engine, read_source=False, mode="collect")
    assert all(len(getattr(engine.dispatch, name)) == before[name] + 1 for name in ENGINE_EVENTS)
    assert event.contains(engine, "reset", monitor._on_reset)
    assert event.contains(Session, "after_transaction_end", monitor._after_transaction_end)
    assert event.contains(Mapper, "before_update", monitor._before_update)
    monitor.close()
    assert not monitor.installed()
    assert {name: len(getattr(engine.dispatch, name)) for name in ENGINE_EVENTS} == before
    assert not event.contains(Mapper, "before_update", monitor._before_update)
    monitor.close()  # a second close is harmless


def test_install_is_idempotent(engine: Any, Account: Any) -> None:
    monitor = watch(engine, read_source=False, mode="collect")
    monitor.install()
    monitor.install()
    assert len(engine.dispatch.after_cursor_execute) == 1
    calls = []
    original = monitor.analyser.execute
    monitor.analyser.execute = lambda *a, **k: calls.append(1) or original(*a, **k)  # type: ignore[method-assign]
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert len(calls) == 1
    monitor.close()


def test_context_manager_removes_the_listeners(engine: Any) -> None:
    with watch(engine, read_source=False, mode="collect") as monitor:
        assert monitor.installed()
    assert not monitor.installed()


def test_watch_all_covers_engines_created_later_and_removes_its_class_listeners(tmp_path: Path) -> None:
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    from txlint.runtime.sources.sqlalchemy_events import watch_all

    with watch_all(mode="collect", read_source=False) as monitor:
        engine = create_engine(f"sqlite:///{tmp_path / 'later.db'}")
        model = account_model("accounts")
        model.metadata.create_all(engine)
        with Session(engine) as session, session.begin():
            session.add(model(id=1, balance=100, hits=0))
        withdraw(engine, model)
    engine.dispose()
    assert codes(monitor) == ["TX101"]
    assert not event.contains(Engine, "after_cursor_execute", monitor._on_execute)
    assert not event.contains(Pool, "reset", monitor._on_reset)


def test_two_monitors_on_one_engine_are_independent(engine: Any, Account: Any) -> None:
    with watch(engine, read_source=False, mode="collect", select=["TX101"]) as first, watch(engine, read_source=False, mode="collect", select=["TX104"]) as second:
        withdraw(engine, Account)
    assert (codes(first), codes(second)) == (["TX101"], [])


# -- what is reported, and where ------------------------------------------------------------------


def test_lost_update_points_at_the_application_line_with_placeholder_sql(engine: Any, Account: Any) -> None:
    with watch(engine, read_source=False, mode="collect") as monitor:
        withdraw(engine, Account, amount=37)
    [finding] = monitor.findings
    assert (finding.code, Path(finding.path).name, finding.line) == ("TX101", THIS_FILE, line_of(withdraw, "<- TX101"))
    shown = " ".join(r.message for r in finding.related)
    assert "UPDATE accounts SET balance=?" in shown and "SELECT accounts.id" in shown
    # The bound values (63 = 100 - 37) appear nowhere; the fingerprint is a hash (its hex digits may spell anything).
    assert "63" not in shown and "37" not in repr(replace(finding, fingerprint=""))


def test_locked_read_is_clean_even_where_the_dialect_drops_for_update(engine: Any, Account: Any) -> None:
    with watch(engine, read_source=False, mode="collect") as monitor:
        withdraw_locked(engine, Account)
    assert monitor.findings == []  # SQLite: the lock comes from the compiled statement


def test_lock_request_is_read_from_the_statement_on_this_sqlalchemy_version() -> None:
    # `_for_update_arg` is private in SQLAlchemy: this test guards every supported minor version.
    from txlint.runtime.sources.sqlalchemy_events import _lock_request

    table = Table("t", MetaData(), Column("id", Integer, primary_key=True))
    assert _lock_request(select(table)) is None
    assert _lock_request(select(table).with_for_update()) == "exclusive"
    assert _lock_request(select(table).with_for_update(read=True)) == "share"
    assert _lock_request(update(table).values(id=1)) is None


def test_same_finding_is_reported_once(engine: Any, Account: Any) -> None:
    with watch(engine, read_source=False, mode="collect") as monitor:
        for _ in range(5):
            withdraw(engine, Account)
    assert codes(monitor) == ["TX101"]


def test_non_money_counter_needs_the_loaded_value(engine: Any, Account: Any) -> None:
    def bump() -> None:
        with Session(engine) as session:
            session.get(Account, 1).hits += 1
            session.commit()

    with watch(engine, read_source=False, mode="collect") as monitor:
        bump()
    assert codes(monitor) == ["TX101"]  # 0 -> 1 on a column read without lock, known from the ORM's state


def test_core_decrement_is_tx105_and_tx106_and_a_check_constraint_removes_tx106(engine: Any) -> None:
    metadata = MetaData()
    plain = Table("stock", metadata, Column("id", Integer, primary_key=True), Column("qty", Integer))
    checked = Table("stock_checked", metadata, Column("id", Integer, primary_key=True), Column("qty", Integer, CheckConstraint("qty >= 0")))
    metadata.create_all(engine)
    with watch(engine, read_source=False, mode="collect") as monitor:
        with engine.begin() as conn:
            conn.execute(update(plain).where(plain.c.id == 1).values(qty=plain.c.qty - 1))
            conn.execute(update(checked).where(checked.c.id == 1).values(qty=checked.c.qty - 1))
    assert [(f.code, f.message.split("`")[1]) for f in sorted(monitor.findings, key=lambda f: (f.line, f.code))] == [
        ("TX105", "stock.qty"),
        ("TX106", "stock.qty"),
        ("TX105", "stock_checked.qty"),
    ]


def test_unchecked_cas_that_lost_then_commits_is_tx108(engine: Any) -> None:
    metadata = MetaData()
    orders = Table("orders", metadata, Column("id", Integer, primary_key=True), Column("status", String))
    shipments = Table("shipments", metadata, Column("id", Integer, primary_key=True), Column("order_id", Integer))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(orders.insert().values(id=1, status="paid"))

    def ship(order_id: int) -> None:
        with engine.begin() as conn:
            conn.execute(update(orders).where(orders.c.id == order_id, orders.c.status == "pending").values(status="shipped"))  # <- CAS
            conn.execute(shipments.insert().values(order_id=order_id))

    with watch(engine, read_source=False, mode="collect") as monitor:
        ship(1)
    [finding] = monitor.findings
    assert (finding.code, finding.line) == ("TX108", line_of(ship, "<- CAS"))


def test_connection_closed_with_uncommitted_writes_is_tx104(engine: Any, Account: Any) -> None:
    def leaky() -> None:
        conn = engine.connect()
        conn.execute(text("UPDATE accounts SET hits = hits + 1 WHERE id = 1"))
        conn.close()  # <- TX104

    def fine() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT balance FROM accounts WHERE id = 1"))  # read-only: closing is how it ends
        conn = engine.connect()
        conn.execute(text("UPDATE accounts SET hits = hits + 1 WHERE id = 1"))
        conn.rollback()
        conn.close()
        with engine.begin() as conn:
            conn.execute(text("UPDATE accounts SET hits = hits + 1 WHERE id = 1"))

    with watch(engine, read_source=False, mode="collect") as monitor:
        fine()
        assert monitor.findings == []
        leaky()
    [finding] = monitor.findings
    assert (finding.code, finding.line) == ("TX104", line_of(leaky, "<- TX104"))
    assert finding.related[0].line == line_of(leaky, "hits = hits + 1")


def test_session_closed_after_a_flush_without_commit_is_tx104(engine: Any, Account: Any) -> None:
    def leaky() -> None:
        session = Session(engine)
        session.get(Account, 2).balance = 5  # not read-modify-write: a plain overwrite...
        session.flush()
        session.close()  # <- TX104

    def fine() -> None:
        with Session(engine) as session:
            session.get(Account, 2).balance = 5
            session.flush()
            session.rollback()

    with watch(engine, read_source=False, mode="collect", select=["TX104"]) as monitor:
        fine()
        assert monitor.findings == []
        leaky()
    assert [(f.code, f.line) for f in monitor.findings] == [("TX104", line_of(leaky, "<- TX104"))]


def test_lock_on_an_autocommit_connection_is_tx109(engine: Any, Account: Any) -> None:
    def check() -> None:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(select(Account.__table__).where(Account.id == 1).with_for_update())  # <- TX109

    with watch(engine, read_source=False, mode="collect") as monitor:
        with engine.begin() as conn:
            conn.execute(select(Account.__table__).where(Account.id == 1).with_for_update())
        assert monitor.findings == []
        check()
    assert [(f.code, f.line) for f in monitor.findings] == [("TX109", line_of(check, "<- TX109"))]


# -- modes and selection --------------------------------------------------------------------------


def test_warn_mode_warns_at_the_application_line(engine: Any, Account: Any) -> None:
    with watch(engine, read_source=False, mode="warn"), pytest.warns(TransactionSafetyWarning, match="TX101") as record:
        withdraw(engine, Account)
    assert Path(record[0].filename).name == THIS_FILE and record[0].lineno == line_of(withdraw, "<- TX101")


def test_warn_mode_never_raises_even_when_warnings_are_errors(engine: Any, Account: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with watch(engine, read_source=False, mode="warn") as monitor:
            withdraw(engine, Account)
    assert codes(monitor) == ["TX101"] and monitor.errors == 0


def test_log_mode_logs_on_the_txlint_logger(engine: Any, Account: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="txlint"), watch(engine, read_source=False, mode="log") as monitor:
        withdraw(engine, Account)
    assert codes(monitor) == ["TX101"]
    assert [r.name for r in caplog.records] == ["txlint"] and "TX101 [lost-update]" in caplog.records[0].getMessage()


def test_raise_mode_raises_from_the_statement_that_completes_the_pattern(engine: Any, Account: Any) -> None:
    with watch(engine, read_source=False, mode="raise"):
        with pytest.raises(TransactionSafetyError) as caught:
            withdraw(engine, Account)
        assert caught.value.finding.code == "TX101"
        with pytest.raises(TransactionSafetyError):  # every occurrence raises, not only the first
            withdraw(engine, Account)
        withdraw_locked(engine, Account)
    with Session(engine) as session:
        assert session.get(Account, 1).balance == 90  # the two flagged flushes never committed


def test_raise_mode_keeps_a_check_in_finding_for_the_end_of_the_block(engine: Any, Account: Any) -> None:
    with pytest.raises(TransactionSafetyError, match="TX104"):
        with watch(engine, read_source=False, mode="raise"):
            conn = engine.connect()
            conn.execute(text("UPDATE accounts SET hits = 3 WHERE id = 1"))
            conn.close()  # the pool must not see the exception: the connection goes back fine
    assert engine.pool.checkedout() == 0


def test_collect_mode_is_silent(engine: Any, Account: Any, caplog: pytest.LogCaptureFixture) -> None:
    with warnings.catch_warnings(record=True) as seen, caplog.at_level(logging.DEBUG, logger="txlint"):
        warnings.simplefilter("always")
        with watch(engine, read_source=False, mode="collect") as monitor:
            withdraw(engine, Account)
    assert codes(monitor) == ["TX101"]
    assert not [w for w in seen if issubclass(w.category, TransactionSafetyWarning)] and not caplog.records


def test_select_and_ignore(engine: Any) -> None:
    metadata = MetaData()
    stock = Table("stock", metadata, Column("id", Integer, primary_key=True), Column("qty", Integer))
    metadata.create_all(engine)

    def sell() -> None:
        with engine.begin() as conn:
            conn.execute(update(stock).where(stock.c.id == 1).values(qty=stock.c.qty - 1))

    for options, expected in [({}, ["TX105", "TX106"]), ({"select": ["TX106"]}, ["TX106"]), ({"ignore": ["TX105"]}, ["TX106"]), ({"select": ["TX10"], "ignore": ["TX106"]}, ["TX105"])]:
        with watch(engine, read_source=False, mode="collect", **options) as monitor:
            sell()
        assert codes(monitor) == expected, options
    with pytest.raises(ValueError, match="TX201"):
        watch(engine, select=["TX201"])
    with pytest.raises(ValueError, match="mode"):
        watch(engine, read_source=False, mode="loud")


# -- never break the host -------------------------------------------------------------------------


def test_errors_inside_the_hook_are_contained_counted_and_logged_once(engine: Any, Account: Any, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug in txlint")

    with caplog.at_level(logging.ERROR, logger="txlint"), watch(engine, read_source=False, mode="raise") as monitor:
        monitor.analyser.execute = broken  # type: ignore[method-assign]
        monitor.analyser.begin = broken  # type: ignore[method-assign]
        for _ in range(3):
            withdraw(engine, Account)
    assert monitor.errors >= 6
    assert len([r for r in caplog.records if r.name == "txlint"]) == 1
    with Session(engine) as session:
        assert session.get(Account, 1).balance == 70  # the program ran as if unwatched


def test_threads_share_one_monitor(engine: Any, Account: Any) -> None:
    with watch(engine, read_source=False, mode="collect") as monitor:
        threads = [threading.Thread(target=withdraw, args=(engine, Account, 1)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert codes(monitor) == ["TX101"] and monitor.errors == 0
    assert monitor.analyser.connections() == 0  # every connection's state dropped at check-in


# -- PostgreSQL -------------------------------------------------------------------------------------


@pytest.fixture
def pg_table() -> Any:
    engine = server_engine(POSTGRES_URL)
    name = unique_name("txl_acc")
    model = account_model(name)
    model.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        session.add(model(id=1, balance=100, hits=0))
    yield engine, model
    model.metadata.drop_all(engine)
    engine.dispose()


def test_postgres_connection_returned_with_an_open_transaction_is_tx104(pg_table: Any) -> None:
    engine, Account = pg_table  # noqa: N806

    def leaky() -> None:
        conn = engine.connect()
        conn.execute(update(Account).where(Account.id == 1).values(hits=Account.hits + 1))
        conn.close()  # <- TX104

    with watch(engine, read_source=False, mode="collect") as monitor:
        leaky()
    assert [(f.code, f.line) for f in monitor.findings] == [("TX104", line_of(leaky, "<- TX104"))]
    with Session(engine) as session:
        assert session.get(Account, 1).hits == 0  # the write really was thrown away


def test_postgres_lock_in_autocommit_is_tx109_and_really_held_by_nobody(pg_table: Any) -> None:
    engine, Account = pg_table  # noqa: N806
    locked = select(Account.__table__).where(Account.id == 1).with_for_update()
    with watch(engine, read_source=False, mode="collect") as monitor:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as holder:
            holder.execute(locked)
            with engine.begin() as other:  # NOWAIT: fails at once if the row were still locked
                other.execute(locked.with_for_update(nowait=True))
        assert codes(monitor) == ["TX109"]
        with engine.begin() as holder:
            holder.execute(locked)
            with engine.begin() as other, pytest.raises(sqlalchemy.exc.OperationalError, match="could not obtain lock"):
                other.execute(locked.with_for_update(nowait=True))
    assert codes(monitor) == ["TX109"]
