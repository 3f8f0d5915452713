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
- In both modes a `txlint runtime` section ends pytest's terminal summary:
  each finding once (file:line, code, message, the lines of the read and the
  write it relates to, how many tests hit it, the `txlint explain` hint),
  then the counts. Under pytest-xdist the findings travel on the test
  reports, so the controller prints the section for all workers.
- `--txlint-runtime` is a flag: `pytest --txlint-runtime tests/` runs
  `tests/`. The mode is given with `=` (`--txlint-runtime=warn`): those two
  spellings are options of their own (argparse matches an option string
  exactly before it splits at `=`), so nothing after the flag is ever taken
  for its value; `--txlint-runtime warn` is refused with that hint.
- the `txlint_monitor` fixture, always available, for targeted use:
  `txlint_monitor.watch(engine)` / `txlint_monitor.wrap(dbapi_connection)` /
  `txlint_monitor.watch_django(using)` collect findings into
  `txlint_monitor.findings`; everything is removed when the test ends.
- A test that fails with `TransactionSafetyError` (the plugin's raise mode, or
  a test's own `watch(engine, mode="raise")`) shows the application's frames
  only: the frames of SQLAlchemy, the drivers, Django, installed packages,
  the standard library and txlint between the application's line and the
  raise are dropped from its traceback (`--full-trace` keeps them), and the
  error carries the `txlint explain` hint. Nothing else is touched without
  the option.

Loading this module imports nothing heavy and installs nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
import sysconfig
from collections.abc import Generator
from typing import Any

import pytest

from txlint.core.ftypes import Finding
from txlint.runtime import request_count
from txlint.runtime.findings import TransactionSafetyError, format_finding
from txlint.runtime.pytest_summary import REPORT_ATTRIBUTE, FindingTally, explain_hint, to_wire

_ACTIVE = "txlint-runtime-session"
_OPTION = "--txlint-runtime"
_MODES = ("raise", "warn")
_FINDINGS = pytest.StashKey[dict[str, list[Finding]]]()  # a test's findings by phase ("call", "teardown")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("txlint", "txlint runtime analysis")
    group.addoption(
        _OPTION,
        action="store_const",
        const="raise",
        default=None,
        dest="txlint_runtime",
        help="watch every SQLAlchemy engine, DB-API connection and Django database the tests use and fail "
        "the tests whose code has transaction-safety findings; --txlint-runtime=warn only warns "
        "(=raise: the default). Findings are listed at the end of the run",
    )
    # `--txlint-runtime=warn` is an option string of its own: argparse takes an exact match before it
    # splits `--name=value`, so the flag above never takes a value (nor swallows a path after it).
    for mode in _MODES:
        group.addoption(f"{_OPTION}={mode}", action="store_const", const=mode, dest="txlint_runtime", help=argparse.SUPPRESS)


def pytest_configure(config: pytest.Config) -> None:
    mode = config.getoption("txlint_runtime", default=None)
    if not mode:
        return
    for arg in config.args:
        if arg in _MODES and not os.path.exists(arg):
            raise pytest.UsageError(f"{_OPTION} takes no value after a space ({arg!r} is read as a path to test): write {_OPTION}={arg}")
    config.pluginmanager.register(RuntimeSession(mode), _ACTIVE)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A test failing with `TransactionSafetyError`: the error says how to learn more, and its
    traceback keeps the application's frames."""
    excinfo = call.excinfo
    if excinfo is None or not isinstance(excinfo.value, TransactionSafetyError):
        return (yield)
    with contextlib.suppress(Exception):
        _add_hint(excinfo.value)
    report = yield
    if report.failed:
        with contextlib.suppress(Exception):  # pytest's own report stands (an older pytest, an unusual item)
            _concise(item, report, excinfo)
    return report


def _add_hint(error: BaseException) -> None:
    code = getattr(getattr(error, "finding", None), "code", None)
    if isinstance(code, str) and explain_hint(code) not in getattr(error, "__notes__", ()):
        error.add_note(explain_hint(code))


def _concise(item: pytest.Item, report: pytest.TestReport, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """Rebuild the failure's text with the frames between the application's line and txlint's raise
    left out (SQLAlchemy's flush, Django's query compiler, pytest and pluggy: often 100 lines).

    Setting `excinfo.traceback` is not enough: pytest's own filter cuts the traceback again from the
    raw one at the test function, which brings every frame back; so the text is made here the way
    pytest makes it (`Node._repr_failure_py`), with this filter instead."""
    from _pytest._code.code import Traceback  # pytest's own type (8.0 and later), not exported

    config = item.config
    style = config.getoption("tbstyle", "auto")
    if config.getoption("fulltrace", False) or style in ("native", "no", "line"):
        return  # what was asked for
    kept = excinfo.traceback.filter(lambda entry: _is_application_file(str(entry.frame.code.raw.co_filename)))
    kept = kept.filter(excinfo)  # and, as pytest does, not the frames that set `__tracebackhide__`
    if not len(kept):
        return
    excinfo.traceback = kept  # the crash line of the short summary: the application's, not txlint's
    if style == "auto":  # pytest's "auto": the first and last frames in full, the ones between short
        if len(kept) > 2:
            kept = Traceback((kept[0], *(entry.with_repr_style("short") for entry in kept[1:-1]), kept[-1]))
        style = "long"
    try:
        abspath = os.getcwd() != str(config.invocation_params.dir)
    except OSError:
        abspath = True
    report.longrepr = excinfo.getrepr(
        funcargs=True,
        abspath=abspath,
        showlocals=config.getoption("showlocals", False),
        style=style,
        tbfilter=lambda _: kept,
        truncate_locals=config.get_verbosity() <= 1,
    )


@functools.lru_cache(maxsize=4096)
def _is_application_file(filename: str) -> bool:
    """Neither a database library, an ORM nor txlint (as for a finding's line), nor an installed package
    or the standard library (pytest's and pluggy's frames among them)."""
    from txlint.runtime.stack import is_library_file

    if filename.startswith("<") or is_library_file(filename):
        return False
    normal = os.path.normcase(os.path.abspath(filename))
    return not any(normal.startswith(root) for root in _installed_roots())


@functools.cache
def _installed_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    folders = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    return tuple(os.path.normcase(os.path.abspath(folder)) + os.sep for folder in folders)


class RuntimeSession:
    """The active plugin: process-wide monitors (SQLAlchemy, DB-API, Django), judged per test."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.monitor: Any = None  # the SQLAlchemy monitor
        self.dbapi: dict[str, Any] = {}  # SQL dialect → DB-API monitor
        self.django: dict[str, Any] = {}  # database alias → Django monitor
        self._unwatchable: set[str] = set()
        self.hooks: Any = None
        self.tally = FindingTally()
        self._setting_up = False  # a test's fixtures are being set up: nothing is judged

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

    def _mode_now(self) -> str:
        """The mode of a monitor made now: collecting while a test's fixtures are set up."""
        return "collect" if self._setting_up else self.mode

    def monitors(self) -> list[Any]:
        """Every monitor of the session so far."""
        sqlalchemy = [self.monitor] if self.monitor is not None else []
        return [*sqlalchemy, *self.dbapi.values(), *self.django.values()]

    def _wrap(self, connection: Any) -> Any:
        """A DB-API connection opened by the tests, wrapped by the monitor of its dialect."""
        from txlint.runtime.options import RuntimeOptions
        from txlint.runtime.sources import drivers
        from txlint.runtime.sources.dbapi_wrapper import DBAPIMonitor

        dialect = drivers.dialect_of(connection) or "postgres"
        monitor = self.dbapi.get(dialect)
        if monitor is None:
            monitor = self.dbapi.setdefault(dialect, DBAPIMonitor(RuntimeOptions(self._mode_now()), dialect=dialect))
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
                self.django[alias] = watch(using=alias, mode=self._mode_now())
            except Exception:  # noqa: BLE001 - a backend that cannot load: its own tests will say so
                self._unwatchable.add(alias)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, object, object]:
        """Fixtures' setup is not judged: it makes the data a test starts from, as no request
        does. The monitors collect (raise nothing) while it runs, and what they found is dropped."""
        if self.hooks is not None:
            self.hooks.install()
        self._watch_django()
        request_count.started()  # what an earlier test read is not what this one computes from
        self._setting_up = True
        for monitor in self.monitors():
            monitor.mode = "collect"
        try:
            return (yield)
        finally:
            self._setting_up = False
            for monitor in self.monitors():  # those made during the setup too
                monitor.mode = self.mode
                monitor.clear()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._judged(item, "call"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._judged(item, "teardown"))

    def _judged(self, item: pytest.Item, phase: str) -> Generator[None, object, object]:
        if self.hooks is not None:
            self.hooks.install()  # drivers imported since the last test
        self._watch_django()
        if phase == "call":
            request_count.started()  # the test's own run: its fixtures' reads are the data it starts from
        monitors = self.monitors()
        for monitor in monitors:
            monitor.clear()
        try:
            result = yield
        finally:  # a test stopped by `TransactionSafetyError` (or anything else) keeps its findings too
            findings = [f for monitor in self.monitors() for f in monitor.findings]
            for monitor in self.monitors():
                monitor.clear()
            if findings:
                item.stash.setdefault(_FINDINGS, {})[phase] = findings
        if findings and self.mode == "raise":
            pytest.fail(_failure(findings, phase), pytrace=False)
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """The phase's findings ride on its report: to the summary, and from an xdist worker to the controller."""
        report = yield
        findings = item.stash.get(_FINDINGS, {}).pop(call.when, None)
        if findings:
            setattr(report, REPORT_ATTRIBUTE, to_wire(findings))
            error = call.excinfo.value if call.excinfo is not None else None
            if report.failed and not isinstance(error, (TransactionSafetyError, pytest.fail.Exception)):
                # Failed for another reason, often the finding's own doing: a web framework turned the
                # TransactionSafetyError into a 500 response, and the test's assertion on it failed.
                report.sections.append(("txlint runtime findings", _failure(findings, call.when)))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            self.tally.judged(report.nodeid)
        findings = getattr(report, REPORT_ATTRIBUTE, None)
        if findings:
            self.tally.add(report.nodeid, report.when, findings)

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if hasattr(config, "workerinput"):
            return  # an xdist worker: its reports, findings included, go to the controller
        self.tally.write(terminalreporter, self.mode)


def _failure(findings: list[Finding], phase: str) -> str:
    where = "the test" if phase == "call" else "the test's teardown"
    body = "\n".join(format_finding(f) for f in findings)
    hints = "\n".join(explain_hint(code) for code in sorted({f.code for f in findings}))
    return f"txlint runtime: {len(findings)} transaction-safety finding(s) in {where}:\n{body}\n{hints}"


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
        from txlint.runtime.options import RuntimeOptions
        from txlint.runtime.sources import drivers
        from txlint.runtime.sources.dbapi_wrapper import DBAPIMonitor, unwrapped

        dialect = options.pop("dialect", None) or drivers.dialect_of(unwrapped(connection)) or "postgres"
        monitor = DBAPIMonitor(RuntimeOptions.of(options.pop("mode", "collect"), **options), dialect=dialect)
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
