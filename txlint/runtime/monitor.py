"""What every runtime source shares: modes, code selection, deduplication, containment.

A source (the SQLAlchemy hook, the DB-API wrapper, Django's execute wrapper)
turns its library's events into calls of a `TraceAnalyser` through
`Monitor.call`, which never lets an error of txlint reach the host program:
the error is counted (`Monitor.errors`) and logged once on the `txlint`
logger. Findings are deduplicated by code and application line (the same bug
hit by a thousand requests is one finding) and then, by mode:

- `warn`: a `TransactionSafetyWarning` at the application's line (a filter
  that turns warnings into errors does not make it raise into the host);
- `log`: a warning record on the `txlint` logger;
- `raise`: `TransactionSafetyError` from the event that completed the pattern
  (for tests; every occurrence raises, not only the first). An event where an
  exception would do harm instead of reaching the caller (a pool check-in:
  SQLAlchemy's pool swallows it and throws the connection away) keeps the
  finding pending; `close()` (the end of the `with` block) raises it;
- `collect`: only `monitor.findings`.

Nothing a monitor reports or logs holds a bound value unless the user asked
for it (`show_values=True`): findings show SQL with placeholders (and literals
masked), and an error of txlint is logged with its type and traceback, not
its message (an exception's message can quote the value it choked on).
A statement whose SQL cannot be parsed is not judged; the first one is
logged (its position, not its text) and all are counted (`Monitor.unparsed`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import traceback
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from txlint.core.config import Config
from txlint.core.ftypes import Finding
from txlint.core.registry import code_matches
from txlint.project.settings import discover
from txlint.runtime import request_count
from txlint.runtime.findings import TransactionSafetyError, TransactionSafetyWarning, format_finding
from txlint.runtime.options import MODES, RuntimeOptions
from txlint.runtime.source_facts import SourceFacts
from txlint.runtime.trace import TraceAnalyser

LOGGER = logging.getLogger("txlint")
MAX_SEEN = 10_000  # distinct (code, line) pairs remembered for deduplication
MAX_FINDINGS = 10_000  # findings kept in `Monitor.findings`; later ones are counted (`dropped`)

__all__ = ["MODES", "Monitor", "RuntimeOptions", "TransactionSafetyError", "TransactionSafetyWarning", "enabled_runtime_codes", "format_finding", "project_config"]


def enabled_runtime_codes(select: Iterable[str] | None, ignore: Iterable[str]) -> list[str]:
    """The runtime codes a monitor judges: `select` (codes or prefixes; None: the defaults) minus `ignore`."""
    from txlint.core.registry import runtime_rules

    rules = runtime_rules()
    available = list(rules)
    if select is None:
        chosen = [code for code in available if rules[code].default_enabled]
    else:
        selectors = list(select)
        unknown = [s for s in selectors if not any(code_matches(code, [s]) for code in available)]
        if unknown:
            raise ValueError(f"select: {', '.join(unknown)} matches no runtime code ({', '.join(available)})")
        chosen = [code for code in available if code_matches(code, selectors)]
    ignored = list(ignore)
    return [code for code in chosen if not code_matches(code, ignored)]


def project_config() -> Config:
    """The `[tool.txlint]` settings of the working directory's project (money, version,
    non-negative columns); the defaults when there are none or they do not load."""
    try:
        return discover(Path.cwd())
    except Exception as error:  # noqa: BLE001 - a broken config must not break the host program
        LOGGER.warning("txlint runtime: configuration not loaded, using the defaults: %s", error)
        return Config()


class Monitor:
    """Reporting shared by the runtime sources; subclasses install and remove their hooks."""

    def __init__(self, options: RuntimeOptions) -> None:
        self.options = options
        self.mode = options.mode
        self.show_values = options.show_values
        self._codes = enabled_runtime_codes(options.select, options.ignore)
        self._config = options.config or project_config()
        self._source = SourceFacts(self._config) if options.read_source else None
        self.findings: list[Finding] = []
        self.errors = 0  # errors of txlint itself, contained
        self.unparsed = 0  # statement texts whose SQL could not be parsed (not judged)
        self.dropped = 0  # findings not kept once `findings` holds MAX_FINDINGS
        self._logged_unparsed = False
        self._seen: OrderedDict[tuple[str, str, int], None] = OrderedDict()
        self._pending: list[Finding] = []
        self._report_lock = threading.Lock()
        self._logged_error = False
        self.closed = False

    # -- containment --------------------------------------------------------------------------

    def new_analyser(self, dialect: str) -> TraceAnalyser:
        """An analyser of `dialect`'s SQL with this monitor's codes, settings and reporting. A
        framework imported by now has its request signals followed (`request_count`)."""
        request_count.follow()
        return TraceAnalyser(
            dialect, self._config, enabled=self._codes, show_values=self.show_values, notify=self.unreadable, known=self.already_reported, source=self._source
        )

    def call(self, fn: Callable[..., Any], *args: Any, can_raise: bool = True, **kwargs: Any) -> Any:
        """Run an analyser step for a hook: its errors are contained, its findings reported."""
        try:  # `collect()` inlined: this runs for every event of every watched connection
            result = fn(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - txlint's own failure must never reach the host program
            self.internal_error(error)
            return None
        if result and type(result) is list:
            self.report(result, can_raise=can_raise)
        return result

    def collect(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run an analyser step with its errors contained; the caller reports what it returns."""
        try:
            return fn(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - txlint's own failure must never reach the host program
            self.internal_error(error)
            return None

    def internal_error(self, error: BaseException) -> None:
        with self._report_lock:
            self.errors += 1
            first = not self._logged_error
            self._logged_error = True
        if first:
            with contextlib.suppress(Exception):
                LOGGER.error(
                    "txlint runtime hook failed; the program goes on (further errors are only counted): %s",
                    self._error_text(error),
                )

    def _error_text(self, error: BaseException) -> str:
        """The error as logged: its type and where it happened; its message only with show_values
        (`int('4111...')` fails with the card number in the message)."""
        if self.show_values:
            return "".join(traceback.format_exception(error)).rstrip()
        frames = "".join(traceback.format_tb(error.__traceback__)).rstrip()
        return f"{type(error).__module__}.{type(error).__qualname__} (message not shown: it may quote a bound value; show_values=True shows it)\n{frames}"

    def already_reported(self, code: str, path: str, line: int) -> bool:
        """Whether a finding of `code` at `path:line` was reported and would be dropped as a
        repeat (never in mode "raise", where every occurrence raises)."""
        return self.mode != "raise" and (code, path, line) in self._seen

    def unreadable(self, error: Any) -> None:
        """A statement's SQL could not be parsed (`error`: a `SqlError`): counted; the first logged."""
        with self._report_lock:
            self.unparsed += 1
            first = not self._logged_unparsed
            self._logged_unparsed = True
        if first:
            try:
                detail = f": {error.message}" if self.show_values else f" (line {error.line}, column {error.column})"
                LOGGER.warning("txlint runtime: a statement could not be parsed%s; statements like it are not judged (further ones are only counted)", detail)
            except Exception:  # noqa: BLE001
                pass

    # -- reporting ----------------------------------------------------------------------------
    def report(self, findings: list[Finding] | None, *, can_raise: bool = True) -> None:
        """Record and emit findings; in raise mode raise the first (or keep it pending when the
        event cannot raise). Nothing but a `TransactionSafetyError` leaves this method."""
        if not findings:
            return
        try:
            fresh = self._record(findings)
        except Exception as error:  # noqa: BLE001
            self.internal_error(error)
            return
        if self.mode == "raise":
            if can_raise:
                raise TransactionSafetyError(findings[0])
            with self._report_lock:
                self._pending.extend(findings)
            return
        for finding in fresh:
            self._emit(finding)

    def _record(self, findings: list[Finding]) -> list[Finding]:
        """Add the findings not seen before to `findings`; return them."""
        fresh: list[Finding] = []
        with self._report_lock:
            for finding in findings:
                key = (finding.code, finding.path, finding.line)
                if key in self._seen:
                    continue
                self._seen[key] = None
                if len(self._seen) > MAX_SEEN:
                    self._seen.popitem(last=False)
                if len(self.findings) < MAX_FINDINGS:
                    self.findings.append(finding)
                else:
                    self.dropped += 1
                fresh.append(finding)
        return fresh

    def _emit(self, finding: Finding) -> None:
        try:
            if self.mode == "warn":
                # No registry: shown whenever it is new to this monitor, not once per location for
                # the process (`catch_warnings` would do the same but is not thread-safe).
                warnings.warn_explicit(format_finding(finding), TransactionSafetyWarning, finding.path, finding.line, registry=None)
            elif self.mode == "log":
                LOGGER.warning("%s", format_finding(finding))
        except TransactionSafetyWarning:
            pass  # the warnings filters turn it into an error; only mode="raise" raises into the host
        except Exception as error:  # noqa: BLE001
            self.internal_error(error)

    def clear(self) -> None:
        """Forget the findings seen so far (they are reported again when they happen again)."""
        with self._report_lock:
            self.findings.clear()
            self._seen.clear()
            self._pending.clear()

    # -- life cycle ---------------------------------------------------------------------------
    def _uninstall(self) -> None:
        """Remove the source's hooks (subclasses)."""

    def close(self) -> None:
        """Stop watching (every hook removed); in raise mode raise a finding still pending."""
        if not self.closed:
            self.closed = True
            try:
                self._uninstall()
            except Exception as error:  # noqa: BLE001
                self.internal_error(error)
        self.raise_pending()

    def raise_pending(self) -> None:
        with self._report_lock:
            pending, self._pending = self._pending, []
        if pending:
            raise TransactionSafetyError(pending[0])

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            with self._report_lock:
                self._pending.clear()  # the block's own exception wins
        self.close()
