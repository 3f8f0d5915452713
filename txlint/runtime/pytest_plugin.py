"""pytest plugin: run the test suite under the runtime analyser.

Registered through the `pytest11` entry point, so it is loaded whenever
txlint is installed, and inactive unless asked for:

- `pytest --txlint-runtime` (or `--txlint-runtime=raise`): every engine and
  connection the tests create is watched: SQLAlchemy engines (listeners on
  the `Engine`/`Pool` classes, so engines created by the tests are covered
  too), DB-API connections opened with `sqlite3.connect`, `psycopg.connect`,
  `psycopg2.connect` or `pymysql.connect` (wrapped as they are opened; see
  `txlint.runtime.sources.driver_connects`), and every database alias of Django once its
  settings are configured (by pytest-django, a conftest or a fixture); a
  test whose code produced a finding fails, with the finding in the failure
  report. The
  offending statement raises `TransactionSafetyError` where it runs; a
  finding that could not be raised there (a connection checked in with
  uncommitted writes), or that the code under test caught, fails the test
  when it ends. Findings are judged per test (a bug hit by two tests fails
  both); what fixtures do during setup is not judged, their teardown is.
- `pytest --txlint-runtime=warn`: the same, but findings are
  `TransactionSafetyWarning`s in pytest's warnings summary; no test fails.
  Put the option after the paths, or write it with `=`: a bare
  `--txlint-runtime` followed by a path would take the path for its value.
- the `txlint_monitor` fixture, always available, for targeted use:
  `txlint_monitor.watch(engine)` / `txlint_monitor.wrap(dbapi_connection)` /
  `txlint_monitor.watch_django(using)` collect findings into
  `txlint_monitor.findings`; everything is removed when the test ends.

Loading this module imports nothing heavy and installs nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from typing import Any

import pytest

from txlint.core.ftypes import Finding
from txlint.runtime.findings import format_finding

_ACTIVE = "txlint-runtime-session"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("txlint", "txlint runtime analysis")
    group.addoption(
        "--txlint-runtime",
        nargs="?",
        const="raise",
        default=None,
        choices=("raise", "warn"),
        dest="txlint_runtime",
        metavar="raise|warn",
        help="watch every SQLAlchemy engine, DB-API connection and Django database the tests use and "
        "fail (raise, the default) or warn on transaction-safety findings",
    )


def pytest_configure(config: pytest.Config) -> None:
    mode = config.getoption("txlint_runtime", default=None)
    if mode:
        config.pluginmanager.register(RuntimeSession(mode), _ACTIVE)


class RuntimeSession:
    """The active plugin: process-wide monitors (SQLAlchemy, DB-API, Django), judged per test."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.monitor: Any = None  # the SQLAlchemy monitor
        self.dbapi: dict[str, Any] = {}  # SQL dialect → DB-API monitor
        self.django: dict[str, Any] = {}  # database alias → Django monitor
        self._unwatchable: set[str] = set()
        self.hooks: Any = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        try:
            from txlint.runtime.sources.sqlalchemy_events import watch_all
        except ImportError:  # no SQLAlchemy: its engines cannot be there to watch
            pass
        else:
            self.monitor = watch_all(mode=self.mode)
        from txlint.runtime.sources.driver_connects import ConnectHooks

        self.hooks = ConnectHooks(self._wrap).install()
        self._watch_django()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.hooks is not None:
            self.hooks.uninstall()
            self.hooks = None
        for monitor in self.monitors():
            monitor.clear()
            monitor.close()
        self.monitor = None
        self.dbapi.clear()
        self.django.clear()

    def pytest_report_header(self, config: pytest.Config) -> str:
        return f"txlint runtime: watching SQLAlchemy engines, DB-API connections and Django databases (mode={self.mode})"

    def monitors(self) -> list[Any]:
        """Every monitor of the session so far."""
        sqlalchemy = [self.monitor] if self.monitor is not None else []
        return [*sqlalchemy, *self.dbapi.values(), *self.django.values()]

    def _wrap(self, connection: Any) -> Any:
        """A DB-API connection opened by the tests, wrapped by the monitor of its dialect."""
        from txlint.runtime.sources import drivers
        from txlint.runtime.sources.dbapi_wrapper import DBAPIMonitor

        dialect = drivers.dialect_of(connection) or "postgres"
        monitor = self.dbapi.get(dialect)
        if monitor is None:
            monitor = self.dbapi.setdefault(dialect, DBAPIMonitor(self.mode, dialect=dialect))
        return monitor.wrap(connection)

    def _watch_django(self) -> None:
        """Watch every database alias of Django, once Django's settings are configured."""
        conf = sys.modules.get("django.conf")
        if conf is None or not conf.settings.configured:
            return
        try:
            aliases = [alias for alias in conf.settings.DATABASES if alias not in self.django and alias not in self._unwatchable]
            if aliases:
                from txlint.runtime.sources.django_connections import watch
        except Exception:  # noqa: BLE001 - settings that fail to load are the tests' own business
            return
        for alias in aliases:
            try:
                self.django[alias] = watch(using=alias, mode=self.mode)
            except Exception:  # noqa: BLE001 - a backend that cannot load: its own tests will say so
                self._unwatchable.add(alias)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._judged(item, "test"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._judged(item, "teardown"))

    def _judged(self, item: pytest.Item, phase: str) -> Generator[None, object, object]:
        if self.hooks is not None:
            self.hooks.install()  # drivers imported since the last test
        self._watch_django()
        monitors = self.monitors()
        for monitor in monitors:
            monitor.clear()
        result = yield
        findings = [f for monitor in self.monitors() for f in monitor.findings]
        for monitor in self.monitors():
            monitor.clear()
        if findings and self.mode == "raise":
            pytest.fail(_failure(findings, phase), pytrace=False)
        return result


def _failure(findings: list[Finding], phase: str) -> str:
    where = "the test" if phase == "test" else "the test's teardown"
    body = "\n".join(format_finding(f) for f in findings)
    return f"txlint runtime: {len(findings)} transaction-safety finding(s) in {where}:\n{body}"


class FixtureMonitors:
    """What the `txlint_monitor` fixture gives a test: watch engines, wrap connections, read findings."""

    def __init__(self) -> None:
        self._monitors: list[Any] = []

    def watch(self, engine: Any, **options: Any) -> Any:
        """Watch a SQLAlchemy engine for this test (mode "collect" unless given)."""
        from txlint.runtime.sources.sqlalchemy_events import watch

        monitor = watch(engine, options.pop("mode", "collect"), **options)
        self._monitors.append(monitor)
        return monitor

    def wrap(self, connection: Any, **options: Any) -> Any:
        """Wrap a DB-API connection for this test (mode "collect" unless given)."""
        from txlint.runtime.sources import drivers
        from txlint.runtime.sources.dbapi_wrapper import DBAPIMonitor, unwrapped

        dialect = options.pop("dialect", None) or drivers.dialect_of(unwrapped(connection)) or "postgres"
        monitor = DBAPIMonitor(options.pop("mode", "collect"), dialect=dialect, **options)
        self._monitors.append(monitor)
        return monitor.wrap(connection)  # a connection the plugin wraps too is seen by both

    def watch_django(self, using: str = "default", **options: Any) -> Any:
        """Watch a Django database alias for this test (mode "collect" unless given)."""
        from txlint.runtime.sources.django_connections import watch

        monitor = watch(using, options.pop("mode", "collect"), **options)
        self._monitors.append(monitor)
        return monitor

    @property
    def findings(self) -> list[Finding]:
        return [f for monitor in self._monitors for f in monitor.findings]

    def codes(self) -> list[str]:
        """The codes found so far, sorted (a convenient thing to assert on)."""
        return sorted(f.code for f in self.findings)

    def close(self) -> None:
        for monitor in self._monitors:
            monitor.clear()  # nothing pending is raised at teardown: the test asserts what it wants
            monitor.close()


@pytest.fixture
def txlint_monitor() -> Generator[FixtureMonitors, None, None]:
    """Collect runtime findings of the engines and connections this test hands over."""
    monitors = FixtureMonitors()
    yield monitors
    monitors.close()
