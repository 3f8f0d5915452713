"""The pytest plugin: inactive by default; `--txlint-runtime` fails (or warns on) tests whose code
produces findings, lists them in a `txlint runtime` section of the terminal summary and keeps a
failure's traceback to the application's frames; the option's spellings; the `txlint_monitor`
fixture for targeted use.

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
    assigned = 1 + APP.lstrip("\n").splitlines().index("        account.balance -= 10")
    assert f"test_app.py:{assigned}: TX101" in output  # the application's line, in withdraw(): the assignment the commit flushed


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
    failures, summary = _failures_and_summary(result.stdout.str())
    assert failures.count("TX101 [lost-update]") == 1  # one report, not one per source
    assert summary.count("TX101 [lost-update]") == 1


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
    assigned = 1 + DJANGO_APP.lstrip("\n").splitlines().index("        account.balance -= 10")
    assert f"test_app.py:{assigned}: TX101 [lost-update]" in output
    assert "TX104 [unbalanced-transaction]" in output
    assert "FAILED test_app.py::test_locked_is_clean" not in output
    assert "django/db/" not in output  # the failures show the application's frames, not Django's


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
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--txlint-runtime" in result.stderr.str() and "'loud'" in result.stderr.str()


ONE_LOST_UPDATE = APP + "\n\ndef test_lost_update(engine):\n    withdraw(engine)\n"


@pytest.mark.parametrize(
    ("args", "mode"),
    [
        (["--txlint-runtime", "tests"], "raise"),  # the flag never takes the path after it for its value
        (["tests", "--txlint-runtime"], "raise"),
        (["--txlint-runtime=raise", "tests"], "raise"),
        (["--txlint-runtime=warn", "tests"], "warn"),
        (["tests", "--txlint-runtime=warn"], "warn"),
        (["--txlint-runtime", "tests/test_app.py::test_lost_update"], "raise"),
        (["tests"], None),
    ],
)
def test_option_spellings(pytester: pytest.Pytester, args: list[str], mode: str | None) -> None:
    pytester.mkpydir("tests")
    pytester.path.joinpath("tests", "test_app.py").write_text(ONE_LOST_UPDATE, encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    if mode == "raise":
        result.assert_outcomes(failed=1)
    else:
        result.assert_outcomes(passed=1, warnings=1 if mode == "warn" else 0)
    output = result.stdout.str()
    assert (f"(mode={mode})" in output) == (mode is not None)  # the report header says it is on, and how


def test_option_in_pytest_addopts(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_app=ONE_LOST_UPDATE)
    monkeypatch.setenv("PYTEST_ADDOPTS", "--txlint-runtime=warn")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, warnings=1)


def test_a_mode_after_a_space_is_refused_with_the_spelling_that_works(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=ONE_LOST_UPDATE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--txlint-runtime", "warn")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "write --txlint-runtime=warn" in result.stderr.str()


def _failures_and_summary(output: str) -> tuple[str, str]:
    """The run's output before the `txlint runtime` section, and the section itself."""
    head, marker, tail = output.partition(" txlint runtime ===")
    assert marker, "no txlint runtime section"
    return head, tail.split("short test summary info")[0]


SUMMARY_APP = APP + '''

def test_lost_update(engine):
    withdraw(engine)

def test_lost_update_again(engine):
    withdraw(engine)

def test_caught(engine):
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


@pytest.mark.parametrize("mode", ["raise", "warn"])
def test_terminal_summary_lists_each_finding_once_with_the_tests_that_hit_it(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(test_app=SUMMARY_APP)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--txlint-runtime={mode}")
    if mode == "raise":
        result.assert_outcomes(passed=1, failed=4)
    else:
        result.assert_outcomes(passed=5, warnings=4)
    _, summary = _failures_and_summary(result.stdout.str())
    lines = [line.rstrip() for line in summary.splitlines()]
    app = APP.lstrip("\n").splitlines()
    commit, read = 1 + app.index("        session.commit()"), 1 + app.index("        account = session.get(Account, 1, with_for_update=locked)")
    assigned = 1 + app.index("        account.balance -= 10")
    first = lines.index(next(line for line in lines if line.startswith(f"test_app.py:{assigned}: TX101 [lost-update]")))
    assert lines[first + 1] == f"    test_app.py:{commit}: sent to the database here: UPDATE accounts SET balance=? WHERE accounts.id = ?"
    assert lines[first + 2].startswith(f"    test_app.py:{read}: read here without a row lock: SELECT")
    assert lines[first + 3] == "    hit by 3 tests: test_app.py::test_lost_update, test_app.py::test_lost_update_again, test_app.py::test_caught"
    assert lines[first + 4] == "    why it is a bug and how to fix it: txlint explain TX101"
    assert sum(line.startswith("test_app.py:") for line in lines) == 2  # TX101 once, TX104 once
    assert any(line.startswith("    hit by 1 test: test_app.py::test_connection_returned_dirty") for line in lines)
    assert "    why it is a bug and how to fix it: txlint explain TX104" in lines
    outcome = "those tests failed" if mode == "raise" else "reported only, no test failed for them"
    assert f"txlint runtime: 2 findings (TX101: 1, TX104: 1) in 4 of 5 tests (mode={mode}: {outcome})" in lines


def test_terminal_summary_names_the_phase_of_a_teardown_finding(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=APP + '''

@pytest.fixture
def leaky(engine):
    yield
    conn = engine.connect()
    conn.execute(text("UPDATE accounts SET balance = 0 WHERE id = 1"))
    conn.close()

def test_fine(leaky):
    pass
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--txlint-runtime=warn")
    result.assert_outcomes(passed=1, warnings=1)
    _, summary = _failures_and_summary(result.stdout.str())
    assert "    hit by 1 test: test_app.py::test_fine (teardown)" in summary
    assert "txlint runtime: 1 finding (TX104: 1) in 1 of 1 test (mode=warn" in summary


def test_terminal_summary_of_a_clean_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=APP + "\n\ndef test_locked_is_clean(engine):\n    withdraw(engine, locked=True)\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--txlint-runtime")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*= txlint runtime =*", "txlint runtime: no transaction-safety findings in 1 test (mode=raise)"])


def test_no_summary_without_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=ONE_LOST_UPDATE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "txlint runtime" not in result.stdout.str()


def test_a_failure_in_raise_mode_shows_the_application_frames(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=ONE_LOST_UPDATE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--txlint-runtime", "-rN")
    result.assert_outcomes(failed=1)
    failures, _ = _failures_and_summary(result.stdout.str())
    failure = failures.split(" test_lost_update ")[-1]
    assert "/sqlalchemy/" not in failure and "txlint/runtime" not in failure and "pluggy" not in failure
    assert ">       withdraw(engine)" in failure and ">           session.commit()" in failure  # the test, then the application's line
    assert "E           txlint.runtime.findings.TransactionSafetyError: test_app.py:" in failure
    assert "E           why it is a bug and how to fix it: txlint explain TX101" in failure
    assert len(failure.splitlines()) < 40, failure  # it was about 100 lines of SQLAlchemy's flush
    full = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--txlint-runtime", "-rN", "--full-trace")
    assert "sqlalchemy/orm/session.py" in full.stdout.str()  # asked for: every frame


def test_a_test_failing_for_another_reason_shows_its_findings_too(pytester: pytest.Pytester) -> None:
    # A web framework's test client turns the TransactionSafetyError into a 500; the test's assertion fails.
    pytester.makepyfile(test_app=APP + '''

def test_answered_500(engine):
    try:
        withdraw(engine)
        status = 200
    except Exception:
        status = 500
    assert status == 200
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--txlint-runtime", "-rN")
    result.assert_outcomes(failed=1)
    failures, _ = _failures_and_summary(result.stdout.str())
    assert "AssertionError" in failures
    after = failures.split("- txlint runtime findings -")[1]
    assert "TX101 [lost-update]" in after and "txlint explain TX101" in after


def test_a_test_s_own_raise_mode_monitor_gets_the_concise_failure_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=APP + '''

def test_watched_here(engine):
    from txlint.runtime import watch
    with watch(engine, mode="raise"):
        withdraw(engine)
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rN")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "sqlalchemy/orm" not in output and "txlint explain TX101" in output
    assert "txlint runtime ===" not in output  # no summary: the plugin was not asked for


def test_summary_under_xdist_comes_from_the_workers(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_app=SUMMARY_APP)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--txlint-runtime=warn")
    result.assert_outcomes(passed=5)
    _, summary = _failures_and_summary(result.stdout.str())
    assert "    hit by 3 tests: " in summary
    assert "txlint runtime: 2 findings (TX101: 1, TX104: 1) in 4 of 5 tests (mode=warn" in summary
    assert result.stdout.str().count(" txlint runtime ===") == 1


def test_plugin_module_imports_nothing_heavy() -> None:
    probe = "import sys, txlint.runtime.pytest_plugin\nprint(sorted(m for m in ('sqlalchemy', 'sqlglot', 'txlint.runtime.trace') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_fixture_setup_is_not_judged_in_raise_mode_but_the_test_is(pytester: pytest.Pytester) -> None:
    """A fixture that makes its data with a read-modify-write is no request: the test runs; the same
    code in the test body fails it."""
    pytester.makepyfile(
        test_app=APP
        + '''

@pytest.fixture
def prepared(engine):
    withdraw(engine)
    return engine


def test_uses_prepared_data(prepared):
    with Session(prepared) as session:
        assert session.get(Account, 1).balance == 90


def test_does_it_itself(prepared):
    withdraw(prepared)
'''
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--txlint-runtime")
    result.assert_outcomes(passed=1, failed=1)
    assert "FAILED test_app.py::test_does_it_itself" in result.stdout.str()


def test_a_read_of_an_earlier_test_is_not_behind_a_later_test_s_write(pytester: pytest.Pytester) -> None:
    """Tests that share one connection (and, under a framework's test case, one transaction) are
    separate runs: the second test's write is not computed from the first test's read."""
    pytester.makepyfile(
        shop='''
import sqlite3

CONNECTIONS = []


def conn():
    if not CONNECTIONS:  # opened by the first test (a connection opened at import is not watched)
        CONNECTIONS.append(sqlite3.connect(":memory:", check_same_thread=False))
    return CONNECTIONS[0]


def setup():
    conn().execute("CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, balance INTEGER)")
    conn().execute("INSERT OR REPLACE INTO accounts VALUES (1, 100)")


def show(account_id):
    return conn().execute("SELECT id, balance FROM accounts WHERE id = ?", (account_id,)).fetchone()[1]


def pay(account_id, price):
    balance = _after(price)  # a helper the source cannot see through: the values decide
    conn().execute("UPDATE accounts SET balance = ? WHERE id = ?", (balance, account_id))


def _after(price):
    return 100 - price
''',
        test_shop='''
import shop


def test_show():
    shop.setup()
    assert shop.show(1) == 100


def test_pay():
    shop.pay(1, 10)


def test_show_and_pay():
    shop.show(1)
    shop.pay(1, 30)
''',
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--txlint-runtime")
    result.assert_outcomes(passed=2, failed=1)  # the one test that reads and then pays itself
    assert "FAILED test_shop.py::test_show_and_pay" in result.stdout.str()
