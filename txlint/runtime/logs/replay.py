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
from itertools import chain
from operator import itemgetter

from txlint.core.config import Config
from txlint.core.ftypes import Finding
from txlint.core.registry import runtime_rules
from txlint.runtime.logs.events import Event
from txlint.runtime.stack import Site
from txlint.runtime.trace.analyser import TraceAnalyser

_ENDS = re.compile(r"^\s*(?:commit|rollback|end)\b(?!(?:\s+(?:work|transaction))?\s+(?:prepared|to)\b)", re.IGNORECASE)
_CHAINS = re.compile(r"^\s*(?:commit|rollback|end)(?:\s+(?:work|transaction))?\s+and\s+chain\b", re.IGNORECASE)
_BEGINS = re.compile(r"\s*(?:begin\b(?!\s*:)|start\s+transaction\b)", re.IGNORECASE)
_BEGIN_STARTS = frozenset("bBsS \t\n")
_ROLLBACK_TO = re.compile(r"^\s*rollback(?:\s+(?:work|transaction))?\s+to\b", re.IGNORECASE)
_ENDS_LAST = re.compile(r";\s*(?:commit|rollback|end)\b(?!(?:\s+(?:work|transaction))?\s+(?:prepared|to)\b)[^;]*;?\s*\Z", re.IGNORECASE)
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
        self.dialect = dialect
        rules = runtime_rules()
        codes = [code for code, rule in rules.items() if rule.default_enabled] if enabled is None else list(enabled)
        judged = [code for code in codes if code not in NOT_FROM_LOGS]
        self.analyser = TraceAnalyser(dialect, config, enabled=judged, sites=lambda: Site(path, 0), show_values=show_values, source=None)
        self.analyser.counts_unknown = True
        self.analyser.reads_of_the_transaction_only = True
        self._sql_at: dict[int, str] = {}  # line -> the statement logged there, of the episodes being judged
        self.analyser.line_text = lambda path, line: self._sql_at.get(line, "")
        self.autocommit = autocommit  # the server's default for a connection that says nothing
        self._manual: set[str] = set()  # connections in `autocommit = 0` (a transaction is always open), kept by `feed` as events come
        self._episodes: dict[str, list[Event]] = {}  # per open connection: its events since its last transaction ended
        self._shapes: set[tuple[object, ...]] = set()  # the episodes judged, by shape
        self._aborted: set[str] = set()  # connections whose transaction had a statement fail (PostgreSQL)
        self._after_repeat: dict[str, bool] = {}  # connections whose last episodes were not replayed: whether a transaction is open
        # Connections in a transaction when their next episode starts (without autocommit, or after
        # COMMIT AND CHAIN); the connections seen since their start or the log's; and the state each
        # episode being gathered started in (part of its shape: the same statements judge otherwise
        # inside a transaction and out of one).
        self._opens: set[str] = set()
        self._seen: set[str] = set()
        self._starts: dict[str, int] = {}  # (absent: in autocommit, no transaction open; 1: a transaction open; 2: and without autocommit)
        self.statements = 0
        self.repeated = 0  # episodes not judged again: the same shape as one judged before

    def feed(self, events: Iterable[Event]) -> Iterator[Finding]:
        """The findings of `events`, each episode of a connection (what it does from the end of one
        transaction to the end of the next) judged when it ends, once per shape: an episode whose
        statements, in order, with the same values in the same places, were judged before can
        complete no pattern they did not (a log is mostly the same few code paths over and over;
        each is reported at its first run)."""
        episodes = self._episodes
        manual = self._manual
        starts = self._starts
        for event in events:
            conn, _, kind, sql, _ = event
            episode = episodes.get(conn)
            if kind == "connect":  # an id used again: whatever the old connection left is gone
                if episode is not None:
                    yield from self._judge_episode(conn, episodes.pop(conn), memo=False)
                self._seen.add(conn)
                for mode in (manual, self._opens):  # in the server's default mode
                    (mode.discard if self.autocommit else mode.add)(conn)
                yield from self._judged([event])
                continue
            if episode is None:
                episode = episodes[conn] = []
                if conn not in self._seen:
                    self._first_seen(conn)
                if conn in self._opens:
                    starts[conn] = 1 + (conn in manual)
            if kind == "statement":
                self.statements += 1
                episode.append(event)
                if _ends(sql):
                    episode = episodes.pop(conn)
                    if not self._repeats(conn, episode):
                        yield from self._judged(episode)
                elif len(episode) >= MAX_EPISODE:  # a long run without a transaction's end: judged as it goes
                    yield from self._judge_episode(conn, episodes.pop(conn), memo=False)
                continue
            episode.append(event)
            if kind == "autocommit-off":  # the mode the connection is left in, its episode judged or not (kept here only)
                manual.add(conn)
            elif kind in ("autocommit-on", "disconnect"):
                manual.discard(conn)
            if kind == "disconnect":
                yield from self._judge_episode(conn, episodes.pop(conn), memo=True)
            elif len(episode) >= MAX_EPISODE:
                yield from self._judge_episode(conn, episodes.pop(conn), memo=False)
        for conn in list(self._episodes):  # connections still open at the end of the log
            yield from self._judge_episode(conn, self._episodes.pop(conn), memo=False)

    def _judge_episode(self, conn: str, episode: list[Event], memo: bool) -> Iterator[Finding]:
        if not memo:
            self._starts.pop(conn, None)
        if episode and not (memo and self._repeats(conn, episode)):
            yield from self._judged(episode)

    def _first_seen(self, conn: str) -> None:
        """A connection the log shows no start of (opened before the log began): in the server's
        default autocommit mode; without it, in a transaction."""
        self._seen.add(conn)
        if not self.autocommit:
            self._manual.add(conn)
            self._opens.add(conn)
            self._after_repeat[conn] = True

    def _repeats(self, conn: str, episode: list[Event]) -> bool:
        """Whether an episode has the shape of one judged before, from the same state (remembering
        it if not). Its connection is then as the episode would have left it: its transaction ended,
        and a new one open if it runs without autocommit or chained it (what the analyser is told
        before it next hears of it); closed and forgotten if it disconnected."""
        start = self._starts.pop(conn, 0)
        last = episode[-1]
        opens = last.kind != "disconnect" and (conn in self._manual or (len(last.sql) > 14 and _CHAINS.match(last.sql) is not None))
        if opens:
            self._opens.add(conn)
        elif self._opens:
            self._opens.discard(conn)
        shape = (start, _shape(episode))
        if shape in self._shapes:
            self.repeated += 1
            if last.kind == "disconnect":
                self._after_repeat.pop(conn, None)
                self._seen.discard(conn)
                self.analyser.forget(conn)
            else:
                self._after_repeat[conn] = opens
            if self._aborted:
                self._aborted.discard(conn)
            return True
        if len(self._shapes) >= MAX_SHAPES:
            self._shapes.clear()
        self._shapes.add(shape)
        if last.kind == "disconnect":
            self._seen.discard(conn)
        return False

    def _judged(self, events: list[Event]) -> Iterator[Finding]:
        conn = events[0].conn
        manual = self._after_repeat.pop(conn, None)
        if manual is not None:  # what the episodes not replayed since it last heard of it left
            self.analyser.forget(conn)
            if manual:
                self.analyser.begin(conn)
        for event in events:
            for finding in self._event(event):
                yield _with_connection(finding, event.conn)

    def _event(self, event: Event) -> list[Finding]:
        conn, site = event.conn, Site(self.path, event.line)
        analyser = self.analyser
        if event.kind == "connect":
            analyser.forget(conn)
            if not self.autocommit:
                analyser.begin(conn)
            return []
        if event.kind == "disconnect":
            findings = analyser.released(conn, site=site) if analyser.knows(conn) else []
            analyser.forget(conn)
            return findings
        if event.kind == "autocommit-off":
            analyser.begin(conn)
            return []
        if event.kind == "autocommit-on":
            return analyser.commit(conn, site=site) if analyser.in_transaction(conn) else []
        if event.kind == "failed":
            if _ends(event.sql) and analyser.in_transaction(conn):
                analyser.rollback(conn)  # a COMMIT that failed (a serialization failure, a deferred key): rolled back
                self._aborted.discard(conn)
                self._after_end(conn, event.sql)
            elif analyser.in_transaction(conn):
                self._aborted.add(conn)  # PostgreSQL: the transaction can only roll back now
            return []
        if event.kind != "statement":
            return []
        if len(self._sql_at) >= MAX_EPISODE * 64:
            self._sql_at.clear()
        self._sql_at[event.line] = event.sql
        sql = event.sql
        if self.dialect == "mysql" and sql[:1] in _BEGIN_STARTS and _BEGINS.match(sql) and analyser.in_transaction(conn):
            analyser.commit(conn, site=site)  # MySQL commits the transaction open before it starts another
        if conn in self._aborted:
            if _ROLLBACK_TO.match(sql):
                self._aborted.discard(conn)  # back to a savepoint: the transaction goes on
            elif _ends(sql):
                self._aborted.discard(conn)
                sql = "ROLLBACK"  # what the server does of a COMMIT of a transaction that failed
        findings = analyser.execute(conn, sql, event.params or None, site=site)
        if _ends(sql):
            self._after_end(conn, sql)
        return findings

    def _after_end(self, conn: str, sql: str) -> None:
        """A transaction ended: without autocommit, or by `COMMIT AND CHAIN`, the next statement is
        in a new one."""
        if conn in self._manual or _CHAINS.match(sql):
            self.analyser.begin(conn)


def _shape(episode: list[Event]) -> tuple[object, ...]:
    """An episode's statements in order, and which of its values are equal (each replaced by the
    last place it was seen: the same row read and written shows as the same number), 0 and 1 kept (a
    decrement by exactly one, a balance of zero mean something to the rules)."""
    texts = (tuple(map(_KIND, episode)), tuple(map(_SQL, episode)))
    bound = list(map(_PARAMS, episode))
    values = list(chain.from_iterable(bound))
    if not values:
        return texts
    place = {value: at for at, value in enumerate(values)}
    if 0 in place:
        place[0] = -1
    if 1 in place:
        place[1] = -2
    return texts, tuple(map(len, bound)), tuple(map(place.__getitem__, values))


_KIND, _SQL, _PARAMS = itemgetter(2), itemgetter(3), itemgetter(4)  # an event's fields, read without a Python call


def _ends(sql: str) -> bool:
    """Whether `sql` ends a transaction (`COMMIT`, `ROLLBACK`, `END`, not `ROLLBACK TO`), or ends
    with a statement that does (`UPDATE ...; COMMIT`: several statements sent as one)."""
    return (sql[:1] in _END_STARTS and _ENDS.match(sql) is not None) or (";" in sql and _ENDS_LAST.search(sql) is not None)


_END_STARTS = frozenset("cCrReE \t\n(")


def _with_connection(finding: Finding, conn: str) -> Finding:
    return replace(finding, message=f"{finding.message} (connection {conn})")
