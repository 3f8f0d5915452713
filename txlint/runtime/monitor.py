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
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from txlint.config import Config, discover
from txlint.ftypes import Finding
from txlint.registry import code_matches
from txlint.runtime.findings import RUNTIME_CODES, TransactionSafetyError, TransactionSafetyWarning, format_finding

LOGGER = logging.getLogger("txlint")
MODES = ("warn", "log", "raise", "collect")
MAX_SEEN = 10_000  # distinct (code, line) pairs remembered for deduplication

__all__ = ["Monitor", "TransactionSafetyError", "TransactionSafetyWarning", "enabled_runtime_codes", "format_finding", "project_config"]


def enabled_runtime_codes(select: Iterable[str] | None, ignore: Iterable[str]) -> list[str]:
    """The runtime codes a monitor judges: `select` (codes or prefixes; None: the defaults) minus `ignore`."""
    from txlint.registry import all_rules

    rules = all_rules()
    available = [code for code in RUNTIME_CODES if code in rules]
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
    except Exception as error:  # a broken config must not break the host program
        LOGGER.warning("txlint runtime: configuration not loaded, using the defaults: %s", error)
        return Config()


class Monitor:
    """Reporting shared by the runtime sources; subclasses install and remove their hooks."""

    def __init__(self, mode: str = "warn") -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self.findings: list[Finding] = []
        self.errors = 0  # errors of txlint itself, contained
        self._seen: OrderedDict[tuple[str, str, int], None] = OrderedDict()
        self._pending: list[Finding] = []
        self._report_lock = threading.Lock()
        self._logged_error = False
        self.closed = False

    # -- containment --------------------------------------------------------------------------
    def call(self, fn: Callable[..., Any], *args: Any, can_raise: bool = True, **kwargs: Any) -> Any:
        """Run an analyser step for a hook: its errors are contained, its findings reported."""
        result = self.collect(fn, *args, **kwargs)
        if isinstance(result, list) and result:
            self.report(result, can_raise=can_raise)
        return result

    def collect(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run an analyser step with its errors contained; the caller reports what it returns."""
        try:
            return fn(*args, **kwargs)
        except Exception as error:  # txlint's own failure must never reach the host program
            self.internal_error(error)
            return None

    def internal_error(self, error: BaseException) -> None:
        with self._report_lock:
            self.errors += 1
            first = not self._logged_error
            self._logged_error = True
        if first:
            try:
                LOGGER.error("txlint runtime hook failed; the program goes on (further errors are only counted)", exc_info=error)
            except Exception:
                pass

    # -- reporting ----------------------------------------------------------------------------
    def report(self, findings: list[Finding] | None, *, can_raise: bool = True) -> None:
        """Record and emit findings; in raise mode raise the first (or keep it pending when the
        event cannot raise)."""
        if not findings:
            return
        fresh: list[Finding] = []
        with self._report_lock:
            for finding in findings:
                key = (finding.code, finding.path, finding.line)
                if key in self._seen:
                    continue
                self._seen[key] = None
                if len(self._seen) > MAX_SEEN:
                    self._seen.popitem(last=False)
                self.findings.append(finding)
                fresh.append(finding)
        if self.mode == "raise":
            if can_raise:
                raise TransactionSafetyError(findings[0])
            with self._report_lock:
                self._pending.extend(findings)
            return
        for finding in fresh:
            self._emit(finding)

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
        except Exception as error:
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
            except Exception as error:
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
