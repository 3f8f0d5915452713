"""The runtime asks the application's source what a write computed (TX101, clarification 17).

A trace sees a row read and the same row written with another number; only the source says whether
that number came from the read (`hits + 1`) or from a constant, a form or a parameter. The
application here is a module of its own below the project root (tests are excluded from
"application" on purpose: a read a test makes is no request's).
"""

from __future__ import annotations

import importlib
import sqlite3
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from txlint.core.config import Config
from txlint.runtime import request_count
from txlint.runtime.source_facts import SourceFacts, Written
from txlint.runtime.sources.dbapi_wrapper import MonitoredConnection, wrap

APP = '''
import datetime


def bump(conn, account_id):
    cur = conn.cursor()
    cur.execute("SELECT id, hits FROM accounts WHERE id = ?", (account_id,))
    hits = cur.fetchone()[1]
    cur.execute("UPDATE accounts SET hits = ? WHERE id = ?", (hits + 1, account_id))  # <- computed
    conn.commit()


def bump_unfetched(conn, account_id):
    cur = conn.cursor()
    cur.execute("SELECT id, hits FROM accounts WHERE id = ?", (account_id,))
    (hits,) = cur.fetchone()[1:]
    cur.execute("UPDATE accounts SET hits = ? WHERE id = ?", (hits + 1, account_id))
    conn.commit()


def reset(conn, account_id):
    cur = conn.cursor()
    cur.execute("SELECT id, balance FROM accounts WHERE id = ?", (account_id,))
    cur.fetchone()
    cur.execute("UPDATE accounts SET balance = ? WHERE id = ?", (0, account_id))
    conn.commit()


def set_from_form(conn, account_id, form):
    cur = conn.cursor()
    cur.execute("SELECT id, balance FROM accounts WHERE id = ?", (account_id,))
    cur.fetchone()
    amount = int(form.get("balance")) + 1
    cur.execute("UPDATE accounts SET balance = ? WHERE id = ?", (amount, account_id))
    conn.commit()


def stamp(conn, account_id):
    cur = conn.cursor()
    cur.execute("SELECT id, hits FROM accounts WHERE id = ?", (account_id,))
    cur.fetchone()
    cur.execute("UPDATE accounts SET hits = ? WHERE id = ?", (datetime.date.today().day, account_id))
    conn.commit()


def through_repository(conn, account_id, repo):
    cur = conn.cursor()
    cur.execute("SELECT id, balance FROM accounts WHERE id = ?", (account_id,))
    balance = repo.balance_of(account_id)
    cur.execute("UPDATE accounts SET balance = ? WHERE id = ?", (balance - 10, account_id))  # <- by values
    conn.commit()


def from_request(conn, account_id, spec):
    cur = conn.cursor()
    cur.execute("SELECT id, hits FROM accounts WHERE id = ?", (account_id,))
    cur.fetchone()
    cur.execute("UPDATE accounts SET hits = ? WHERE id = ?", (spec.hits + 1, account_id))  # <- request
    conn.commit()


def write_only(conn, account_id, hits):
    conn.execute("UPDATE accounts SET hits = ? WHERE id = ?", (hits, account_id))
    conn.commit()
'''


class Repository:
    """What `through_repository` is handed: the source cannot see that it reads the row."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def balance_of(self, account_id: int) -> int:
        row = self.conn.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return int(row[0])


@pytest.fixture
def app(tmp_path: Path) -> Iterator[ModuleType]:
    package = tmp_path / "shopapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "ledger.py").write_text(textwrap.dedent(APP))
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("shopapp.ledger")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == "shopapp" or n.startswith("shopapp.")]:
            del sys.modules[name]


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[MonitoredConnection]:
    path = tmp_path / "shop.db"
    setup = sqlite3.connect(path)
    setup.executescript("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER, hits INTEGER); INSERT INTO accounts VALUES (1, 100, 5);")
    setup.commit()
    setup.close()
    connection = wrap(sqlite3.connect(path), mode="collect", config=Config(root=tmp_path))
    yield connection
    connection.wrapped.close()


def found(conn: MonitoredConnection) -> list[tuple[str, int]]:
    return [(f.code, f.line) for f in conn.txlint_monitor.findings]


def line(app: ModuleType, marker: str) -> int:
    source = Path(str(app.__file__)).read_text().splitlines()
    return 1 + next(i for i, text in enumerate(source) if marker in text)


def test_a_count_computed_from_its_read_is_tx101_though_no_money_column(app: ModuleType, conn: MonitoredConnection) -> None:
    conn.execute("PRAGMA user_version")  # nothing: a statement the analyser skips
    app.bump(conn, 1)
    assert found(conn) == [("TX101", line(app, "<- computed"))]


def test_a_count_computed_from_its_read_unpacked_is_tx101(app: ModuleType, conn: MonitoredConnection) -> None:
    app.bump_unfetched(conn, 1)
    assert [code for code, _ in found(conn)] == ["TX101"]


@pytest.mark.parametrize("writer", ["reset", "stamp"])
def test_a_constant_or_a_library_value_written_after_a_read_is_not_linked(app: ModuleType, conn: MonitoredConnection, writer: str) -> None:
    """`balance` is a money column whose old value the wrapper never saw: by values alone this
    would be linked; the source says the value is a constant (or today's date)."""
    getattr(app, writer)(conn, 1)
    assert found(conn) == []


def test_a_form_value_written_after_a_read_is_not_linked(app: ModuleType, conn: MonitoredConnection) -> None:
    app.set_from_form(conn, 1, {"balance": "7"})
    assert found(conn) == []


def test_a_value_computed_from_a_request_object_is_not_linked(app: ModuleType, conn: MonitoredConnection) -> None:
    """`spec.hits + 1` depends on a parameter's attribute: the request's data, not the row read."""

    class Spec:
        hits = 41

    app.from_request(conn, 1, Spec())
    assert found(conn) == []


def test_a_value_the_source_cannot_trace_is_judged_by_the_values(app: ModuleType, conn: MonitoredConnection) -> None:
    """A repository handed in may return what it read: the source cannot say, so a money column
    written after a read of its row is linked, as without a source."""
    app.through_repository(conn, 1, Repository(conn.wrapped))
    assert found(conn) == [("TX101", line(app, "<- by values"))]


def test_a_read_the_test_made_itself_is_not_behind_the_application_s_write(app: ModuleType, conn: MonitoredConnection) -> None:
    (hits,) = conn.execute("SELECT hits FROM accounts WHERE id = ?", (1,)).fetchone()
    app.write_only(conn, 1, hits + 1)
    assert found(conn) == []


def test_a_read_of_an_earlier_request_is_not_behind_the_write(app: ModuleType, conn: MonitoredConnection) -> None:
    cur = conn.cursor()
    cur.execute("SELECT id, hits FROM accounts WHERE id = ?", (1,))
    cur.fetchone()
    request_count.started()  # the next request begins on this thread
    app.write_only(conn, 1, 9)
    request_count.started()
    app.bump(conn, 1)  # its own read and write: still found
    assert [code for code, _ in found(conn)] == ["TX101"]


def test_without_reading_the_source_the_values_decide(app: ModuleType, tmp_path: Path) -> None:
    connection = wrap(sqlite3.connect(tmp_path / "other.db"), mode="collect", config=Config(root=tmp_path), read_source=False)
    connection.executescript("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER, hits INTEGER); INSERT INTO accounts VALUES (1, 100, 5);")
    app.reset(connection, 1)  # a money column, old value unknown: linked by values
    assert [f.code for f in connection.txlint_monitor.findings] == ["TX101"]
    connection.wrapped.close()


# -- SourceFacts itself ----------------------------------------------------------------------------


def test_source_facts_classify_each_written_value(app: ModuleType, tmp_path: Path) -> None:
    facts = SourceFacts(Config(root=tmp_path))
    path = str(app.__file__)
    assert facts.written(path, line(app, "<- computed"), "hits").derived is True
    assert facts.written(path, line(app, "(0, account_id)"), "balance").derived is False
    assert facts.written(path, line(app, "(amount, account_id)"), "balance").derived is False
    assert facts.written(path, line(app, "<- by values"), "balance").derived is None
    assert facts.written(path, line(app, "<- request"), "hits").derived is False  # from another object
    # not a column it writes there, no write there: no evidence of a value computed from a read
    assert facts.written(path, line(app, "<- computed"), "balance") == Written(False)
    assert facts.written(path, 1, "hits") == Written(False)


def test_source_facts_say_nothing_of_files_outside_the_project_or_unparsable(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    broken = project / "broken.py"
    broken.write_text("def f(:\n    pass\n")
    outside = tmp_path / "elsewhere.py"
    outside.write_text("def f(conn):\n    conn.execute('UPDATE t SET c = 1')\n")
    facts = SourceFacts(Config(root=project))
    assert facts.written(str(broken), 1, "c") is None
    assert facts.written(str(outside), 2, "c") is None
    assert facts.written(str(project / "missing.py"), 2, "c") is None
    assert facts.unread == 3


def test_sqlalchemy_autoflush_points_at_the_assignment(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    package = tmp_path / "flushapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(
        textwrap.dedent(
            """
            from sqlalchemy import Column, Integer, select
            from sqlalchemy.orm import DeclarativeBase, Session


            class Base(DeclarativeBase):
                pass


            class Wallet(Base):
                __tablename__ = "wallets"
                id = Column(Integer, primary_key=True)
                points = Column(Integer)


            def spend(engine, wallet_id):
                with Session(engine) as session:
                    wallet = session.scalars(select(Wallet).where(Wallet.id == wallet_id)).one()
                    wallet.points = wallet.points - 3  # <- assigned
                    session.scalars(select(Wallet).where(Wallet.points < 0)).all()  # <- flushed
                    session.commit()
            """
        )
    )
    from sqlalchemy import create_engine

    from txlint.runtime import watch

    sys.path.insert(0, str(tmp_path))
    try:
        models: Any = importlib.import_module("flushapp.models")
        engine = create_engine(f"sqlite:///{tmp_path / 'wallets.db'}")
        models.Base.metadata.create_all(engine)
        with engine.begin() as setup:
            setup.exec_driver_sql("INSERT INTO wallets VALUES (1, 10)")
        with watch(engine, mode="collect", config=Config(root=tmp_path)) as monitor:
            models.spend(engine, 1)
        source = Path(models.__file__).read_text().splitlines()
        assigned = 1 + next(i for i, text in enumerate(source) if "<- assigned" in text)
        flushed = 1 + next(i for i, text in enumerate(source) if "<- flushed" in text)
        assert [(f.code, f.line) for f in monitor.findings] == [("TX101", assigned)]
        assert monitor.findings[0].related[0].line == flushed
        assert monitor.findings[0].related[0].message.startswith("sent to the database here: UPDATE wallets")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == "flushapp" or n.startswith("flushapp.")]:
            del sys.modules[name]
