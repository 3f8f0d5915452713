"""`txlint.testing.race`, and the proof on real databases that what the runtime flags is real.

For TX101 and TX106, eight requests released together by `race()` run the
flagged code: the database really ends with lost deductions / a negative
stock, and the monitor reports the code at the line that does the damage.
The "use instead" code of the same rule, raced the same way, ends correct
and the monitor stays silent. The race window is widened with a short sleep
where a real request would wait anyway (a call to a payment provider), so
the outcome does not depend on thread scheduling.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

from txlint.testing import RaceError, race

# -- race() ------------------------------------------------------------------------------------------


def test_race_runs_every_racer_at_the_same_time() -> None:
    inside = 0
    most = 0
    lock = threading.Lock()

    def racer() -> int:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.05)
        with lock:
            inside -= 1
        return threading.get_ident()

    results = race(racer, n=6)
    assert most == 6 and len(set(results)) == 6


def test_race_reports_errors_after_every_racer_finished() -> None:
    counter = iter(range(100))
    lock = threading.Lock()

    def racer() -> int:
        with lock:
            n = next(counter)
        if n % 2:
            raise ValueError(n)
        return n

    with pytest.raises(RaceError) as caught:
        race(racer, n=4)
    assert sum(e is not None for e in caught.value.errors) == 2
    assert sum(r is not None for r in caught.value.results) == 2
    mixed = race(racer, n=4, errors="return")
    assert sum(isinstance(r, ValueError) for r in mixed) == 2


def test_race_checks_its_arguments() -> None:
    with pytest.raises(ValueError):
        race(lambda: None, n=0)
    with pytest.raises(ValueError):
        race(lambda: None, errors="ignore")


# -- proofs on real databases -------------------------------------------------------------------------

sqlalchemy = pytest.importorskip("sqlalchemy")

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from runtime_support import MARIADB_URL, POSTGRES_URL, account_model, line_of, server_engine, unique_name  # noqa: E402
from txlint.runtime import watch  # noqa: E402

RACERS = 8
THINK = 0.1  # seconds between the read and the write: the request's own work


def _warm(engine: Any) -> None:
    """Open the racers' connections beforehand: a connection handshake inside the race (slow on
    MariaDB) would start some racers after the others have committed."""
    connections = [engine.connect() for _ in range(RACERS)]
    for conn in connections:
        conn.close()

# The idempotency-key insert that does nothing for a request already seen, per dialect.
INSERT_KEY = {
    "postgresql": "INSERT INTO {orders} (request_id) VALUES (:r) ON CONFLICT DO NOTHING",
    "mysql": "INSERT IGNORE INTO {orders} (request_id) VALUES (:r)",
    "sqlite": "INSERT OR IGNORE INTO {orders} (request_id) VALUES (:r)",
}


class OutOfStock(Exception):
    pass


@pytest.fixture(params=["postgresql", "mariadb"])
def server(request: pytest.FixtureRequest) -> Any:
    engine = server_engine(POSTGRES_URL if request.param == "postgresql" else MARIADB_URL)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Any) -> Any:
    engine = create_engine(f"sqlite:///{tmp_path / 'race.db'}", connect_args={"timeout": 30})
    yield engine
    engine.dispose()


@pytest.fixture
def accounts(server: Any) -> Any:
    model = account_model(unique_name("txl_acc"))
    model.metadata.create_all(server)
    yield model
    model.metadata.drop_all(server)


def _balance(engine: Any, Account: Any) -> int:  # noqa: N803
    with Session(engine) as session:
        return session.get(Account, 1).balance


def _reset(engine: Any, Account: Any, balance: int) -> None:  # noqa: N803
    with Session(engine) as session, session.begin():
        account = session.get(Account, 1)
        if account is None:
            session.add(Account(id=1, balance=balance, hits=0))
        else:
            account.balance = balance


def test_tx101_lost_update_really_loses_money_and_is_reported(server: Any, accounts: Any) -> None:
    Account = accounts  # noqa: N806

    def withdraw() -> None:
        with Session(server) as session:
            account = session.get(Account, 1)
            time.sleep(THINK)
            account.balance -= 10  # <- TX101
            session.commit()

    def withdraw_locked() -> None:
        with Session(server) as session:
            account = session.get(Account, 1, with_for_update=True)
            time.sleep(THINK)
            account.balance -= 10
            session.commit()

    _reset(server, Account, 100)
    _warm(server)
    with watch(server, mode="collect") as monitor:
        race(withdraw, n=RACERS)
    assert _balance(server, Account) > 100 - RACERS * 10, "no deduction was lost: the race did not happen"
    assert [(f.code, f.line) for f in monitor.findings] == [("TX101", line_of(withdraw, "<- TX101"))]

    _reset(server, Account, 100)
    with watch(server, mode="collect") as monitor:
        race(withdraw_locked, n=RACERS)
    assert _balance(server, Account) == 100 - RACERS * 10
    assert monitor.findings == []


def _stock_tables(engine: Any) -> tuple[str, str]:
    stock, orders = unique_name("txl_stock"), unique_name("txl_orders")
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {stock} (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL)"))
        conn.execute(text(f"CREATE TABLE {orders} (request_id VARCHAR(64) PRIMARY KEY)"))
        conn.execute(text(f"INSERT INTO {stock} (id, qty) VALUES (1, 3)"))
    return stock, orders


def _drop(engine: Any, *tables: str) -> None:
    with engine.begin() as conn:
        for table in tables:
            conn.execute(text(f"DROP TABLE {table}"))


def _tx106_proof(engine: Any) -> None:
    stock, orders = _stock_tables(engine)
    _warm(engine)
    try:
        _oversell_and_fix(engine, stock, orders)
    finally:
        _drop(engine, stock, orders)


def _oversell_and_fix(engine: Any, stock: str, orders: str) -> None:
    def buy() -> None:
        with engine.begin() as conn:
            qty = conn.execute(text(f"SELECT qty FROM {stock} WHERE id = :id"), {"id": 1}).scalar_one()
            if qty >= 1:
                time.sleep(THINK)
                conn.execute(text(f"UPDATE {stock} SET qty = qty - :n WHERE id = :id"), {"n": 1, "id": 1})  # <- TX106

    insert_key = INSERT_KEY[engine.dialect.name if engine.dialect.name != "mariadb" else "mysql"].format(orders=orders)

    def buy_guarded() -> str:
        with engine.begin() as conn:
            if not conn.execute(text(insert_key), {"r": uuid.uuid4().hex}).rowcount:
                return "already done"
            time.sleep(THINK / 5)
            sold = conn.execute(text(f"UPDATE {stock} SET qty = qty - :n WHERE id = :id AND qty >= :n"), {"n": 1, "id": 1}).rowcount
            if sold != 1:
                raise OutOfStock(stock)  # rolls the order back too
            return "sold"

    with watch(engine, mode="collect") as monitor:
        race(buy, n=RACERS)
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT qty FROM {stock} WHERE id = 1")).scalar_one() < 0, "no oversell: the race did not happen"
    assert ("TX106", line_of(buy, "<- TX106")) in [(f.code, f.line) for f in monitor.findings]

    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {stock} SET qty = 3 WHERE id = 1"))
    with watch(engine, mode="collect") as monitor:
        outcomes = race(buy_guarded, n=RACERS, errors="return")
    assert sorted(str(o) if isinstance(o, str) else type(o).__name__ for o in outcomes) == ["OutOfStock"] * 5 + ["sold"] * 3
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT qty FROM {stock} WHERE id = 1")).scalar_one() == 0
        assert conn.execute(text(f"SELECT count(*) FROM {orders}")).scalar_one() == 3
    assert monitor.findings == []


def test_tx106_unguarded_decrement_really_oversells_and_is_reported(server: Any) -> None:
    _tx106_proof(server)


def test_tx106_on_sqlite_too(sqlite_engine: Any) -> None:
    _tx106_proof(sqlite_engine)
