"""A statement log's events replayed through the trace analyser: what `txlint trace` reports.

Each connection of the log is a connection of the analyser, keyed by the log's own id (the process
or session id, the connection id); each statement goes through `TraceAnalyser.execute` as a
driver's would, placed at the log's file and line, so a finding points at the line of the statement
that completes the pattern and its related notes at the read before it. A log has no data flow and
no row counts (clarification 24): TX101 links a write to an unlocked read of the same row of a
money-like column by values alone, TX108 is never reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace

from txlint.core.config import Config
from txlint.core.ftypes import Finding
from txlint.core.registry import runtime_rules
from txlint.runtime.logs.events import Event
from txlint.runtime.stack import Site
from txlint.runtime.trace.analyser import TraceAnalyser

_ENDS = re.compile(r"^\s*(?:commit|rollback|end)\b(?!\s+(?:prepared|to)\b)", re.IGNORECASE)
# A log cannot show whether a compare-and-swap matched: no row counts (clarification 24).
NOT_FROM_LOGS = frozenset({"TX108"})


class LogReplay:
    """The connections of one log (`path`), their events judged in order."""

    def __init__(
        self,
        path: str,
        dialect: str,
        config: Config | None = None,
        *,
        enabled: Iterable[str] | None = None,
        show_values: bool = False,
        autocommit: bool = True,
    ) -> None:
        self.path = path
        rules = runtime_rules()
        codes = [code for code, rule in rules.items() if rule.default_enabled] if enabled is None else list(enabled)
        judged = [code for code in codes if code not in NOT_FROM_LOGS]
        self.analyser = TraceAnalyser(dialect, config, enabled=judged, sites=lambda: Site(path, 0), show_values=show_values, source=None)
        self.analyser.counts_unknown = True
        self.autocommit = autocommit  # the server's default for a connection that says nothing
        self._manual: set[str] = set()  # connections in `autocommit = 0`: a transaction is always open
        self.statements = 0

    def feed(self, events: Iterable[Event]) -> Iterator[Finding]:
        """The findings of `events`, as each completes a pattern."""
        for event in events:
            for finding in self._event(event):
                yield _with_connection(finding, event.conn)

    def finish(self) -> Iterator[Finding]:
        """The end of the log: connections still open are left as they are (they may go on)."""
        return iter(())

    def _event(self, event: Event) -> list[Finding]:
        conn, site = event.conn, Site(self.path, event.line)
        analyser = self.analyser
        if event.kind == "connect":
            analyser.forget(conn)
            self._manual.discard(conn)
            if not self.autocommit:
                self._start(conn)
            return []
        if event.kind == "disconnect":
            findings = analyser.released(conn, site=site) if analyser.knows(conn) else []
            analyser.forget(conn)
            self._manual.discard(conn)
            return findings
        if event.kind == "autocommit-off":
            self._start(conn)
            return []
        if event.kind == "autocommit-on":
            self._manual.discard(conn)
            return analyser.commit(conn, site=site) if analyser.in_transaction(conn) else []
        if event.kind != "statement":
            return []
        self.statements += 1
        findings = analyser.execute(conn, event.sql, event.params or None, site=site)
        if conn in self._manual and _ENDS.match(event.sql):
            analyser.begin(conn)  # without autocommit, the next statement is in a new transaction
        return findings

    def _start(self, conn: str) -> None:
        self._manual.add(conn)
        self.analyser.begin(conn)


def _with_connection(finding: Finding, conn: str) -> Finding:
    return replace(finding, message=f"{finding.message} (connection {conn})")
