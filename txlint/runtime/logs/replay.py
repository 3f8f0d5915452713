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
# An episode longer than this (autocommit statements that never end a transaction) is judged as it goes.
MAX_EPISODE = 64
# Shapes of episodes remembered (forgotten all at once past this: judging one again is only slower).
MAX_SHAPES = 100_000
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
        self._sql_at: dict[int, str] = {}  # line -> the statement logged there, of the episodes being judged
        self.analyser.line_text = lambda path, line: self._sql_at.get(line, "")
        self.autocommit = autocommit  # the server's default for a connection that says nothing
        self._manual: set[str] = set()  # connections in `autocommit = 0`: a transaction is always open
        self._episodes: dict[str, list[Event]] = {}  # per open connection: its events since its last transaction ended
        self._shapes: set[tuple[object, ...]] = set()  # the episodes judged, by shape
        self.statements = 0
        self.repeated = 0  # episodes not judged again: the same shape as one judged before

    def feed(self, events: Iterable[Event]) -> Iterator[Finding]:
        """The findings of `events`, each episode of a connection (what it does from the end of one
        transaction to the end of the next) judged when it ends, once per shape: an episode whose
        statements, in order, with the same values in the same places, were judged before can
        complete no pattern they did not (a log is mostly the same few code paths over and over;
        each is reported at its first run)."""
        for event in events:
            if event.kind == "connect":  # an id used again: whatever the old connection left is gone
                yield from self._judge_episode(event.conn, self._episodes.pop(event.conn, []), memo=False)
                yield from self._judged([event])
                continue
            episode = self._episodes.setdefault(event.conn, [])
            episode.append(event)
            if event.kind == "disconnect" or (event.kind == "statement" and _ENDS.match(event.sql)):
                yield from self._judge_episode(event.conn, self._episodes.pop(event.conn), memo=True)
            elif len(episode) >= MAX_EPISODE:  # a long run without a transaction's end: judged as it goes
                yield from self._judge_episode(event.conn, self._episodes.pop(event.conn), memo=False)
        for conn in list(self._episodes):  # connections still open at the end of the log
            yield from self._judge_episode(conn, self._episodes.pop(conn), memo=False)

    def _judge_episode(self, conn: str, episode: list[Event], memo: bool) -> Iterator[Finding]:
        if not episode:
            return
        if memo:
            shape = _shape(episode)
            if shape in self._shapes:
                self.statements += sum(e.kind == "statement" for e in episode)
                self.repeated += 1
                self.analyser.forget(conn)  # as the episode would have left it: ended
                self._manual_after(conn, episode)
                return
            if len(self._shapes) >= MAX_SHAPES:
                self._shapes.clear()
            self._shapes.add(shape)
        yield from self._judged(episode)

    def _manual_after(self, conn: str, episode: list[Event]) -> None:
        """The autocommit mode an episode not replayed leaves its connection in."""
        for event in episode:
            if event.kind == "autocommit-off":
                self._manual.add(conn)
            elif event.kind in {"autocommit-on", "disconnect"}:
                self._manual.discard(conn)
        if conn in self._manual:
            self.analyser.begin(conn)

    def _judged(self, events: list[Event]) -> Iterator[Finding]:
        for event in events:
            for finding in self._event(event):
                yield _with_connection(finding, event.conn)

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
        if len(self._sql_at) >= MAX_EPISODE * 64:
            self._sql_at.clear()
        self._sql_at[event.line] = event.sql
        findings = analyser.execute(conn, event.sql, event.params or None, site=site)
        if conn in self._manual and _ENDS.match(event.sql):
            analyser.begin(conn)  # without autocommit, the next statement is in a new transaction
        return findings

    def _start(self, conn: str) -> None:
        self._manual.add(conn)
        self.analyser.begin(conn)


def _shape(episode: list[Event]) -> tuple[object, ...]:
    """An episode's statements in order, its values replaced by the place each was first seen (the
    same row read and written shows as the same number), 0 and 1 kept (a decrement by exactly one,
    a balance of zero mean something to the rules)."""
    classes: dict[object, int] = {}
    shape: list[object] = []
    for event in episode:
        values = tuple(v if v in (0, 1) and not isinstance(v, bool) else ("v", classes.setdefault((type(v).__name__, v), len(classes))) for v in event.params)
        shape.append((event.kind, event.sql, values))
    return tuple(shape)


def _with_connection(finding: Finding, conn: str) -> Finding:
    return replace(finding, message=f"{finding.message} (connection {conn})")
