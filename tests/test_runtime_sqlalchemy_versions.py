"""The SQLAlchemy source on every supported minor version: lock requests, check-ins, sessions.

SQLite drops `FOR UPDATE` from the SQL, so `watch()` reads `with_for_update()`
from `context.compiled.statement`'s `_for_update_arg`, which is private in
SQLAlchemy; SQLAlchemy 1.4's pool `reset` event hands over the pool's proxy and
no reset state (`sqlalchemy_events._legacy_reset`). pyproject accepts
SQLAlchemy>=1.4,<3 (an application pinned to 1.4 keeps it): each minor in
`SUPPORTED_MINORS` is installed with pip into a folder of its own (kept in
pytest's cache, or the temporary folder, between runs) and a small script runs
against it in a subprocess: a locked read-then-write must be clean, an
unlocked one TX101; a connection closed with its transaction open TX104, one
rolled back first clean; every connection's state dropped at check-in. A failed
install skips, except under `CI=true`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy")

from runtime_support import unavailable  # noqa: E402

SUPPORTED_MINORS = ("1.4", "2.0", "2.1")  # every minor pyproject's SQLAlchemy>=1.4,<3 admits that exists

SCRIPT = r'''
import json

import sqlalchemy
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select, text, update
from sqlalchemy.orm import Session, declarative_base

from txlint.runtime import watch
from txlint.runtime.sources.sqlalchemy_events import _lock_request

Base = declarative_base()  # the spelling 1.4 and 2.x share


class Account(Base):
    __tablename__ = "accounts"
    id = Column(Integer, primary_key=True)
    balance = Column(Integer)


stock = Table("stock", MetaData(), Column("id", Integer, primary_key=True), Column("balance", Integer))
engine = create_engine("sqlite:///shop.db")  # 1.4: a legacy (not `future=True`) engine, as old applications make
Base.metadata.create_all(engine)
stock.metadata.create_all(engine)
with Session(engine) as session, session.begin():
    session.add(Account(id=1, balance=100))
    session.execute(stock.insert().values(id=1, balance=100))


def orm(locked):
    with Session(engine) as session:
        account = session.get(Account, 1, with_for_update=locked)
        account.balance -= 10
        session.commit()


def core(locked):
    query = select(stock.c.balance).where(stock.c.id == 1)
    with engine.begin() as conn:
        balance = conn.execute(query.with_for_update() if locked else query).scalar_one()
        conn.execute(update(stock).where(stock.c.id == 1).values(balance=balance - 10))


def closed_open(rolled_back):
    conn = engine.connect()
    transaction = conn.begin()
    conn.execute(text("UPDATE stock SET balance = 0 WHERE id = 1"))
    if rolled_back:
        transaction.rollback()
    conn.close()


def session_closed(committed):
    session = Session(engine)
    session.execute(text("UPDATE stock SET balance = 0 WHERE id = 1"))
    if committed:
        session.commit()
    session.close()


def statement_outside_a_transaction(_):
    # 1.4 without future=True commits a DML statement by itself; 2.x leaves it open: close() rolls it back.
    conn = engine.connect()
    conn.execute(text("UPDATE stock SET balance = 1 WHERE id = 1"))
    conn.close()


result = {
    "version": sqlalchemy.__version__,
    "sql": str(select(stock).with_for_update().compile(engine)),
    "lock_request": [_lock_request(select(stock)), _lock_request(select(stock).with_for_update()),
                     _lock_request(select(stock).with_for_update(read=True)), _lock_request(update(stock).values(balance=1))],
}
cases = [("orm", orm, ("locked", "unlocked")), ("core", core, ("locked", "unlocked")),
         ("close", closed_open, ("rolled back", "open")), ("session", session_closed, ("committed", "open")),
         ("outside", statement_outside_a_transaction, ("",))]
for name, fn, variants in cases:
    for variant in variants:
        with watch(engine, mode="collect") as monitor:
            fn(variant in ("locked", "rolled back", "committed"))
        left = monitor.analyser.connections()  # every state dropped when its connection went back
        result[f"{name} {variant}".strip()] = sorted(f.code for f in monitor.findings) + ["errors"] * monitor.errors + ["kept"] * left
print(json.dumps(result))
'''


def _installed_minor() -> str:
    return ".".join(sqlalchemy.__version__.split(".")[:2])


def _folder(request: pytest.FixtureRequest, minor: str) -> Path:
    """Where SQLAlchemy `minor` is installed for these tests, kept between runs."""
    key = f"txlint-sqlalchemy-{minor}-py{sys.version_info.major}{sys.version_info.minor}"
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir(key))
    return Path(tempfile.gettempdir()) / key


def _install(folder: Path, minor: str) -> Path:
    """SQLAlchemy `minor`.* installed into `folder` (once: a marker says the install finished)."""
    marker = folder / "txlint-installed"
    if marker.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
               "--only-binary=:all:", "--upgrade", "--target", str(folder), f"SQLAlchemy=={minor}.*"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        unavailable(f"could not install SQLAlchemy {minor}.*: {error}")
    if done.returncode != 0:
        unavailable(f"could not install SQLAlchemy {minor}.* with pip: {done.stderr.strip().splitlines()[-1:]}")
    marker.write_text(minor, encoding="utf-8")
    return folder


def test_the_installed_sqlalchemy_is_a_minor_these_tests_cover() -> None:
    assert _installed_minor() in SUPPORTED_MINORS, f"add SQLAlchemy {_installed_minor()} to SUPPORTED_MINORS"


@pytest.mark.parametrize("minor", SUPPORTED_MINORS)
def test_lock_request_read_from_the_compiled_statement(minor: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if minor != _installed_minor():
        env["PYTHONPATH"] = str(_install(_folder(request, minor), minor))
    script = tmp_path / "locks.py"
    script.write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["version"].startswith(f"{minor}."), result["version"]
    assert "FOR UPDATE" not in result["sql"]  # SQLite drops it: only the compiled statement tells
    assert result["lock_request"] == [None, "exclusive", "share", None]
    assert result["orm locked"] == [] and result["core locked"] == []
    assert result["orm unlocked"] == ["TX101"] and result["core unlocked"] == ["TX101"]
    assert result["close rolled back"] == [] and result["close open"] == ["TX104"]
    assert result["session committed"] == [] and result["session open"] == ["TX104"]
    assert result["outside"] == ([] if minor == "1.4" else ["TX104"])
