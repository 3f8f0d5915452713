"""The pytest plugin: inactive by default; `--txlint-runtime` fails (or warns on) tests whose code
produces findings; the `txlint_monitor` fixture for targeted use."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]

APP = '''
import pytest
from sqlalchemy import Column, Integer, create_engine, text
from sqlalchemy.orm import DeclarativeBase, Session


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"
    id = Column(Integer, primary_key=True)
    balance = Column(Integer)


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        session.add(Account(id=1, balance=100))
    yield engine
    engine.dispose()


def withdraw(engine, locked=False):
    with Session(engine) as session:
        account = session.get(Account, 1, with_for_update=locked)
        account.balance -= 10
        session.commit()
'''


def test_plugin_is_registered_by_entry_point(tmp_path: Path) -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"]["pytest11"]
    assert declared == {"txlint": "txlint.runtime.pytest_plugin"}
    # Asked outside the source tree, where a stale `txlint.egg-info` would shadow the installed metadata.
    probe = "from importlib.metadata import entry_points\nprint({e.name: e.value for e in entry_points(group='pytest11')}.get('txlint'))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.stdout.strip() == "txlint.runtime.pytest_plugin", "reinstall txlint (pip install -e .) to register the plugin"


def test_inactive_without_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_app=APP
        + '''
import sys

def test_lost_update(engine):
    withdraw(engine)
    assert "txlint.runtime.sqlalchemy" not in sys.modules
    assert len(engine.dispatch.after_cursor_execute) == 0
'''
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_raise_mode_fails_a_test_whose_code_has_a_finding(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_app=APP
        + '''
def test_lost_update(engine):
    withdraw(engine)

def test_caught_but_still_failed(engine):
    try:
        withdraw(engine)
    except Exception:
        pass

def test_locked_is_clean(engine):
    withdraw(engine, locked=True)

def test_connection_returned_dirty(engine):
    conn = engine.connect()
    conn.execute(text("UPDATE accounts SET balance = 0 WHERE id = 1"))
    conn.close()
'''
    )
    result = pytester.runpytest("--txlint-runtime")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(["*txlint runtime: watching SQLAlchemy engines (mode=raise)*"])
    output = result.stdout.str()
    assert output.count("TX101 [lost-update]") >= 2 and "TX104 [unbalanced-transaction]" in output
    commit_line = 1 + APP.lstrip("\n").splitlines().index("        session.commit()")
    assert f"test_app.py:{commit_line}: TX101" in output  # the application's line, in withdraw()


def test_warn_mode_only_warns(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=APP + "\ndef test_lost_update(engine):\n    withdraw(engine)\n")
    result = pytester.runpytest("--txlint-runtime=warn")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*TransactionSafetyWarning*TX101*"])


def test_txlint_monitor_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_app=APP
        + '''
def test_targeted(engine, txlint_monitor):
    txlint_monitor.watch(engine)
    withdraw(engine)
    assert txlint_monitor.codes() == ["TX101"]

def test_wrapped_dbapi(tmp_path, txlint_monitor):
    import sqlite3
    conn = txlint_monitor.wrap(sqlite3.connect(tmp_path / "x.db"))
    conn.execute("CREATE TABLE stock (id INTEGER PRIMARY KEY, qty INTEGER)")
    conn.execute("UPDATE stock SET qty = qty - ? WHERE id = ?", (1, 1))
    assert "TX106" in txlint_monitor.codes()
'''
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_option_rejects_unknown_modes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app="def test_nothing():\n    pass\n")
    result = pytester.runpytest("--txlint-runtime=loud")
    assert result.ret != 0
    assert "invalid choice" in result.stderr.str()


def test_plugin_module_imports_nothing_heavy() -> None:
    probe = "import sys, txlint.runtime.pytest_plugin\nprint(sorted(m for m in ('sqlalchemy', 'sqlglot', 'txlint.runtime.trace') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
