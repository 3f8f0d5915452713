"""PostgreSQL's log (stderr, `csvlog` or `jsonlog`), read as the statements each connection ran, in order.

With `log_statement = 'all'` the server logs each statement before it runs: `statement: SQL`
(the simple protocol, values inlined by the client), or `execute <name>: SQL` followed by a
`DETAIL:  parameters: $1 = '...'` line (the extended protocol, values bound by the server). A
statement that then fails is followed by an `ERROR:` line of its process: it did nothing, and is
dropped. `disconnection:` (with `log_disconnections`) ends a connection: what it left uncommitted is
rolled back. A record is one line beginning with the log line prefix, and the lines after it that
begin with a tab. The prefix is the server's `log_line_prefix` (Debian's `%m [%p] %q%u@%d ` by
default); its `%p` (process id) or `%c` (session id) names the connection. `csvlog` and `jsonlog`
carry the same records as fields (the session id, else the process id, names the connection; the
parameters are the record's `detail`).
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from txlint.runtime.logs.events import Event
from txlint.runtime.logs.literals import normalised, number

DEFAULT_PREFIX = "%m [%p] %q%u@%d "
_ESCAPES = {
    "m": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? ?\S*",
    "t": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ?\S*",
    "s": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ?\S*",
    "n": r"\d+(?:\.\d+)?",
    "p": r"(?P<pid>\d+)",
    "c": r"(?P<session>[0-9a-f]+\.[0-9a-f]+)",
    "l": r"\d+",
    "u": r"\S*",
    "d": r"\S*",
    "a": r".*?",
    "h": r"\S*",
    "r": r"\S*",
    "b": r".*?",
    "i": r"\S*",
    "e": r"[0-9A-Z]{5}",
    "x": r"\d+",
    "v": r"\S*",
    "Q": r"-?\d+",
    "%": r"%",
}
_LEVELS = r"(?P<level>LOG|ERROR|FATAL|PANIC|DETAIL|STATEMENT|HINT|CONTEXT|WARNING|NOTICE|INFO|DEBUG\d?|LOCATION|QUERY)"
_STATEMENT = re.compile(r"(?:duration: [\d.]+ ms  )?(?:statement: |execute (?:<unnamed>|[^:]*): )(?P<sql>.*)\Z", re.DOTALL)
# What a follower gives out when the log has stopped growing (`txlint trace --follow`): not a line.
IDLE_LINE = ""
IDLE = "IDLE"
_CSV_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: \S+)?,")
_PARAMETER = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')", re.DOTALL)


# log_line_prefix values in common use, tried in this order on a log's first lines when none is given.
KNOWN_PREFIXES = (
    DEFAULT_PREFIX,  # Debian and Ubuntu (it reads PostgreSQL's own default, `%m [%p] `, too)
    "%t [%p-%l] %q%u@%d ",  # Debian and Ubuntu before PostgreSQL 10
    "%t:%r:%u@%d:[%p]:",  # Amazon RDS and Aurora
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",  # what pgBadger asks for
    "%t [%p]: user=%u,db=%d,app=%a,client=%h ",  # pgBadger's other
    "%m [%p]: [%l-1] db=%d,user=%u ",  # Google Cloud SQL
    "%t-%c-",  # Azure Database for PostgreSQL
)
AUTO = "auto"
_SAMPLE = 200  # lines looked at to tell a log's format and prefix


class PrefixError(ValueError):
    """A `log_line_prefix` that names no connection (no `%p`, no `%c`)."""


def prefix_pattern(prefix: str) -> re.Pattern[str]:
    """A regular expression of the log line prefix, then the message's level and text."""
    if "%p" not in prefix and "%c" not in prefix:
        raise PrefixError(f"log_line_prefix {prefix!r} names no connection: it needs %p (process id) or %c (session id)")
    parts, optional = [], False
    at = 0
    while at < len(prefix):
        char = prefix[at]
        if char == "%" and at + 1 < len(prefix):
            code = prefix[at + 1]
            at += 2
            if code == "q":  # what follows is only written for session processes
                parts.append("(?:")
                optional = True
            else:
                parts.append(_ESCAPES.get(code, r"\S*"))
            continue
        parts.append(re.escape(char))
        at += 1
    body = "".join(parts) + (")?" if optional else "")
    return re.compile(body + _LEVELS + r":  (?P<message>.*)\Z", re.DOTALL)


@dataclass
class _Pending:
    """A statement logged, waiting to see whether its parameters or an `ERROR:` follow. One logged
    after it ran (`duration: ... statement:`, log_min_duration_statement) ran, whatever follows;
    one followed by an `ERROR:` failed if the `STATEMENT:` line after the error names it (a
    statement with a syntax error is not logged before it fails: the error is then another's)."""

    line: int
    sql: str
    params: tuple[object, ...] | None = None
    ran: bool = False
    error: bool = False


def events(lines: Iterable[str], prefix: str = DEFAULT_PREFIX) -> Iterator[Event]:
    """The statements and disconnections of a PostgreSQL stderr log, in order, each with its line."""
    return _events(_stderr_records(lines, prefix))


def any_events(lines: Iterable[str], prefix: str = AUTO) -> Iterator[Event]:
    """The events of a PostgreSQL log in whichever of its formats it is written: a `jsonlog` line
    is a JSON object, a `csvlog` line a timestamp and a comma, anything else the stderr log, its
    prefix `prefix` or, `AUTO`, the one of `KNOWN_PREFIXES` that reads its first lines (a
    `PrefixError` when none does)."""
    stream = iter(lines)
    head = list(itertools.islice(itertools.takewhile(lambda line: line != IDLE_LINE, stream), _SAMPLE))
    first = next((line for line in head if line.strip()), "")
    rest = itertools.chain(head, [IDLE_LINE] if len(head) < _SAMPLE else [], stream)
    if first.lstrip().startswith("{"):
        return json_events(rest)
    if _CSV_START.match(first):
        return csv_events(rest)
    if prefix == AUTO:
        found = detect_prefix(head)
        if found is None:
            if first:
                raise PrefixError(
                    f"its lines start with no log_line_prefix txlint knows (as {first.rstrip()[:60]!r} does): "
                    "give the server's with --log-line-prefix (psql: SHOW log_line_prefix)"
                )
            found = DEFAULT_PREFIX
        prefix = found
    return events(rest, prefix)


def detect_prefix(lines: Iterable[str]) -> str | None:
    """Of `KNOWN_PREFIXES`, the one that reads the most of `lines` as records naming their
    connection (the first of those that read as many); None when none reads one."""
    heads = [line.rstrip("\r\n") for line in lines if line.strip() and not line.startswith("\t")]
    best, best_count = None, 0
    for known in KNOWN_PREFIXES:
        pattern = prefix_pattern(known)
        names = [name for name in ("session", "pid") if name in pattern.groupindex]
        count = sum(1 for line in heads if (match := pattern.match(line)) and any(match.group(name) for name in names))
        if count > best_count:
            best, best_count = known, count
    return best


def csv_events(stream: Iterable[str]) -> Iterator[Event]:
    """The same of a `csvlog` log (a record per CSV row; its DETAIL is a field of the same row)."""
    return _events(_csv_records(stream))


def json_events(lines: Iterable[str]) -> Iterator[Event]:
    """The same of a `jsonlog` log (PostgreSQL 15: a JSON object per line)."""
    return _events(_json_records(lines))


# (connection, line, level, message, detail): one record of any of the three formats.
Record = tuple[str, int, str, str, str | None]


def _events(records: Iterable[Record]) -> Iterator[Event]:
    pending: dict[str, _Pending] = {}
    statement_in = _STATEMENT.match
    for conn, number_, level, message, detail in records:
        waiting = pending.pop(conn, None)
        if level == "LOG":
            if waiting is not None:
                yield _failed(conn, waiting) if waiting.error else _statement(conn, waiting)
            statement = statement_in(message)
            if statement is not None:
                params = _parameters(detail) if detail and detail.startswith("parameters: ") else None
                pending[conn] = _Pending(number_, statement.group("sql"), params, ran=message.startswith("duration:"))
            elif message.startswith("disconnection:"):
                yield Event(conn, number_, "disconnect")
            elif message.startswith(("connection authorized:", "connection received:")):
                yield Event(conn, number_, "connect")
        elif waiting is None:
            if level in _FAILURES:
                yield Event(conn, number_, "failed")
            elif level == IDLE:  # the log is not growing: what is pending ran (an ERROR would have followed)
                for conn_, waiting_ in pending.items():
                    yield _failed(conn_, waiting_) if waiting_.error else _statement(conn_, waiting_)
                pending.clear()
        elif waiting.error:  # an ERROR after it: the STATEMENT line says whose
            if level == "STATEMENT":
                yield _failed(conn, waiting) if message == waiting.sql else _statement(conn, waiting)
            elif level in _ERROR_DETAILS:
                pending[conn] = waiting
            else:
                yield _failed(conn, waiting)
        elif level == "DETAIL" and message.startswith("parameters: "):
            waiting.params = _parameters(message)
            pending[conn] = waiting
        elif level in _FAILURES:
            if waiting.ran:
                yield _statement(conn, waiting)
                yield Event(conn, number_, "failed")
            else:
                waiting.error = True
                pending[conn] = waiting
        else:
            yield _statement(conn, waiting)
    for conn, waiting in pending.items():
        yield _failed(conn, waiting) if waiting.error else _statement(conn, waiting)


def _failed(conn: str, waiting: _Pending) -> Event:
    return Event(conn, waiting.line, "failed", waiting.sql)


_FAILURES = frozenset({"ERROR", "FATAL", "PANIC"})
_ERROR_DETAILS = frozenset({"DETAIL", "HINT", "CONTEXT", "QUERY", "LOCATION"})  # what an error is told with, before its STATEMENT


def _stderr_records(lines: Iterable[str], prefix: str) -> Iterator[Record]:
    """The records of a stderr log: a line and the tab-indented lines that continue it."""
    pattern = prefix_pattern(prefix)
    prefix_of = pattern.match
    names = tuple(name for name in ("session", "pid") if name in pattern.groupindex)
    start, first, more = 0, "", list[str]()  # the record being read: its line, its first line, the lines that go on
    number_ = 0
    for line in lines:
        if line == IDLE_LINE:  # a growing log that stopped for a while: its last record is whole
            if start:
                yield from _stderr_record(prefix_of, names, start, first, more)
                start, more = 0, []
            yield "", 0, IDLE, "", None
            continue
        number_ += 1
        if line[:1] == "\t" and start:
            more.append(line[1:].rstrip("\r\n"))
            continue
        if start:
            yield from _stderr_record(prefix_of, names, start, first, more)
            if more:
                more = []
        start, first = number_, line.rstrip("\r\n")
    if start:
        yield from _stderr_record(prefix_of, names, start, first, more)


def _stderr_record(
    prefix_of: Callable[[str], re.Match[str] | None], names: tuple[str, ...], start: int, first: str, more: list[str]
) -> tuple[Record, ...]:
    match = prefix_of("\n".join([first, *more]) if more else first)
    if match is None:
        return ()
    conn = match.group(names[0]) or (match.group(names[1]) if len(names) > 1 else None)
    if not conn:
        return ()
    return ((conn, start, match.group("level"), match.group("message"), None),)


def _csv_records(stream: Iterable[str]) -> Iterator[Record]:
    """csvlog's columns: 3 process_id, 5 session_id, 11 error_severity, 13 message, 14 detail."""
    reader = csv.reader(stream)
    last = 0
    for row in reader:
        start, last = last + 1, reader.line_num  # a row's fields may hold line breaks: it starts after the last one
        if len(row) >= 15:
            yield row[5] or row[3], start, row[11], row[13], row[14] or None


def _json_records(lines: Iterable[str]) -> Iterator[Record]:
    number_ = 0
    for line in lines:
        if line == IDLE_LINE:
            yield "", 0, IDLE, "", None
            continue
        number_ += 1
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("message"), str):
            conn = str(record.get("session_id") or record.get("pid") or "")
            if conn:
                yield conn, number_, str(record.get("error_severity", "")), record["message"], record.get("detail")


def _parameters(message: str) -> tuple[object, ...]:
    return tuple(_parameter(value) for _, value in _PARAMETER.findall(message))


def _statement(conn: str, waiting: _Pending) -> Event:
    if waiting.params is not None:
        return Event(conn, waiting.line, "statement", waiting.sql, waiting.params)
    sql, params = normalised(waiting.sql, "postgres")
    return Event(conn, waiting.line, "statement", sql, params)


def _parameter(value: str) -> object:
    if value == "NULL":
        return None
    return number(value[1:-1].replace("''", "'"))
