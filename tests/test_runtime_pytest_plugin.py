"""The pytest plugin: inactive by default; `--txlint-runtime` fails (or warns on) tests whose code
produces findings; the `txlint_monitor` fixture for targeted use.

Every inner run is a subprocess, as a user's run is: an in-process run would share (and, at its
end, prune) this process's imported modules, the drivers' patched `connect` and Django's settings."""

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
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)
    assert result.stdout.strip() == "txlint.runtime.pytest_plugin", "reinstall txlint (pip install -e .) to register the plugin"


def test_inactive_without_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_app=APP
        + '''
import sqlite3
import sys

def test_lost_update(engine):
    withdraw(engine)
    assert "txlint.runtime.sources.sqlalchemy_events" not in sys.modules
    assert len(engine.dispatch.after_cursor_execute) == 0
    assert type(sqlite3.connect(":memory:")) is sqlite3.Connection
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
    result = pytester.runpytest_subprocess("--txlint-runtime")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(["*txlint runtime: watching SQLAlchemy engines, DB-API connections and Django databases (mode=raise)*"])
    output = result.stdout.str()
    assert output.count("TX101 [lost-update]") >= 2 and "TX104 [unbalanced-transaction]" in output
    commit_line = 1 + APP.lstrip("\n").splitlines().index("        session.commit()")
    assert f"test_app.py:{commit_line}: TX101" in output  # the application's line, in withdraw()


def test_warn_mode_only_warns(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=APP + "\ndef test_lost_update(engine):\n    withdraw(engine)\n")
    result = pytester.runpytest_subprocess("--txlint-runtime=warn")
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
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


DBAPI_APP = '''
import sqlite3

import pytest


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "shop.db"
    setup = sqlite3.connect(path)
    setup.executescript("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER); INSERT INTO accounts VALUES (1, 100);")
    setup.close()
    return path


def withdraw(path, locked):
    conn = sqlite3.connect(path)
    if locked:
        conn.isolation_level = None
        conn.execute("BEGIN IMMEDIATE")  # SQLite's write lock, taken before the read
    (balance,) = conn.execute("SELECT balance FROM accounts WHERE id = ?", (1,)).fetchone()
    conn.execute("UPDATE accounts SET balance = ? WHERE id = ?", (balance - 10, 1))
    conn.commit() if not locked else conn.execute("COMMIT")
    conn.close()


def test_lost_update(db):
    withdraw(db, locked=False)


def test_locked_is_clean(db):
    withdraw(db, locked=True)


def test_left_open(db):
    conn = sqlite3.connect(db)
    conn.execute("UPDATE accounts SET balance = 0 WHERE id = 1")
    conn.close()
'''


def test_raise_mode_watches_dbapi_connections_the_tests_open(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=DBAPI_APP + '''

def test_connect_is_restored_after_the_session_is_the_driver_s_own():
    assert type(sqlite3.connect(":memory:")).__name__ == "MonitoredConnection"
''')
    pytester.makeconftest('''
import sqlite3

ORIGINAL = sqlite3.connect


def pytest_unconfigure(config):
    assert sqlite3.connect is ORIGINAL, "the plugin left sqlite3.connect replaced"
''')
    result = pytester.runpytest_subprocess("--txlint-runtime", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)
    output = result.stdout.str()
    update_line = 1 + DBAPI_APP.lstrip("\n").splitlines().index('    conn.execute("UPDATE accounts SET balance = ? WHERE id = ?", (balance - 10, 1))')
    assert f"test_app.py:{update_line}: TX101 [lost-update]" in output
    assert "TX104 [unbalanced-transaction]" in output
    assert "test_lost_update" in output and "test_left_open" in output
    assert "FAILED test_app.py::test_locked_is_clean" not in output


def test_connections_of_sqlalchemy_are_watched_once_not_twice(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=APP + '''

def test_engine_connections_are_not_wrapped_by_the_dbapi_hook(engine):
    with engine.connect() as conn:
        assert type(conn.connection.dbapi_connection).__name__ == "Connection"

def test_lost_update(engine):
    withdraw(engine)
''')
    # -rN: no short summary, which repeats the message (in full when CI is set, cut to the terminal's width otherwise).
    result = pytester.runpytest_subprocess("--txlint-runtime", "-p", "no:cacheprovider", "-rN")
    result.assert_outcomes(passed=1, failed=1)
    assert result.stdout.str().count("TX101 [lost-update]") == 1  # one report, not one per source


DJANGO_CONFTEST = '''
import django
from django.conf import settings

def pytest_configure(config):
    settings.configure(
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(config.rootpath / "shop.db")}},
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()
'''

DJANGO_APP = '''
import pytest
from django.db import connection, models, transaction


class Account(models.Model):
    balance = models.IntegerField()

    class Meta:
        app_label = "shop"


@pytest.fixture(autouse=True)
def table():
    with connection.schema_editor() as editor:
        editor.create_model(Account)
    Account.objects.create(id=1, balance=100)
    yield
    with connection.schema_editor() as editor:
        editor.delete_model(Account)


def test_lost_update():
    with transaction.atomic():
        account = Account.objects.get(pk=1)
        account.balance -= 10
        account.save()


def test_locked_is_clean():
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=1)
        account.balance -= 10
        account.save()


def test_manual_transaction_left_open():
    transaction.set_autocommit(False)
    Account.objects.filter(pk=1).update(balance=0)
    connection.close()
'''


def test_raise_mode_watches_django_once_it_is_configured(pytester: pytest.Pytester) -> None:
    pytest.importorskip("django")
    pytester.makeconftest(DJANGO_CONFTEST)
    pytester.makepyfile(test_app=DJANGO_APP)
    result = pytester.runpytest_subprocess("--txlint-runtime", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    output = result.stdout.str()
    save_line = 1 + DJANGO_APP.lstrip("\n").splitlines().index("        account.save()")
    assert f"test_app.py:{save_line}: TX101 [lost-update]" in output
    assert "TX104 [unbalanced-transaction]" in output
    assert "FAILED test_app.py::test_locked_is_clean" not in output


def test_txlint_monitor_fixture_watches_django_too(pytester: pytest.Pytester) -> None:
    pytest.importorskip("django")
    pytester.makeconftest(DJANGO_CONFTEST)
    pytester.makepyfile(test_app=DJANGO_APP.split("def test_lost_update")[0] + '''
def test_targeted(txlint_monitor):
    txlint_monitor.watch_django()
    with transaction.atomic():
        account = Account.objects.get(pk=1)
        account.balance -= 10
        account.save()
    assert txlint_monitor.codes() == ["TX101"]
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_option_rejects_unknown_modes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--txlint-runtime=loud")
    assert result.ret != 0
    assert "invalid choice" in result.stderr.str()


def test_plugin_module_imports_nothing_heavy() -> None:
    probe = "import sys, txlint.runtime.pytest_plugin\nprint(sorted(m for m in ('sqlalchemy', 'sqlglot', 'txlint.runtime.trace') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
