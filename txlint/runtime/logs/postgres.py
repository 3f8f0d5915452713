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

import contextlib
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
    "i": r".*?",  # the command tag: `idle in transaction` has spaces
    "e": r"[0-9A-Z]{5}",
    "x": r"\d+",
    "v": r"\S*",
    "Q": r"-?\d+",
    "%": r"%",
}
_LEVELS = r"(?P<level>LOG|ERROR|FATAL|PANIC|DETAIL|STATEMENT|HINT|CONTEXT|WARNING|NOTICE|INFO|DEBUG\d?|LOCATION|QUERY)"
_STATEMENT = re.compile(r"(?P<timed>duration: [\d.]+ ms  )?(?:statement: |execute (?:<unnamed>|[^:]*): )(?P<sql>.*)\Z", re.DOTALL)
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


_PADDING = re.compile(r"-?\d*")
_NAMES_CONNECTION = re.compile(r"%-?\d*[pc]")


class PrefixError(ValueError):
    """A `log_line_prefix` that names no connection (no `%p`, no `%c`)."""


def prefix_pattern(prefix: str) -> re.Pattern[str]:
    """A regular expression of the log line prefix, then the message's level and text."""
    if not _NAMES_CONNECTION.search(prefix):
        raise PrefixError(f"log_line_prefix {prefix!r} names no connection: it needs %p (process id) or %c (session id)")
    parts, optional = [], False
    at = 0
    while at < len(prefix):
        char = prefix[at]
        if char == "%" and at + 1 < len(prefix):
            width = _PADDING.match(prefix, at + 1)  # `%-10u`, `%6p`: padded with spaces to a width
            padded = width is not None and width.end() > at + 1
            at = width.end() if width is not None else at + 1
            if at >= len(prefix):
                break
            code = prefix[at]
            at += 1
            if padded and code != "q":
                parts.append(" *")
            if code == "q":  # what follows is only written for session processes
                parts.append("(?:")
                optional = True
            else:
                parts.append(_ESCAPES.get(code, r"\S*"))
                if padded:
                    parts.append(" *")
            continue
        parts.append(re.escape(char))
        at += 1
    body = "".join(parts) + (")?" if optional else "")
    pattern = re.compile(body + _LEVELS + r":  (?P<message>.*)\Z", re.DOTALL)
    if "pid" not in pattern.groupindex and "session" not in pattern.groupindex:  # `%%p` is a percent sign and a p
        raise PrefixError(f"log_line_prefix {prefix!r} names no connection: it needs %p (process id) or %c (session id)")
    return pattern


@dataclass(slots=True)
class _Pending:
    """A statement logged, waiting to see whether its parameters or an `ERROR:` follow. One logged
    after it ran (`duration: ... statement:`, log_min_duration_statement) ran, whatever follows;
    one followed by an `ERROR:` failed if the `STATEMENT:` line after the error names it (a
    statement with a syntax error is not logged before it fails: the error is then another's), or
    if no `STATEMENT:` line comes (log_min_error_statement above ERROR); a `FATAL:` without one
    ends a connection idle after its statement ran (`idle_in_transaction_session_timeout`,
    `pg_terminate_backend`)."""

    line: int
    sql: str
    params: tuple[object, ...] | None = None
    ran: bool = False
    error: str = ""  # the level of an error that followed it: ERROR (it failed, unless another statement is named), FATAL (it ran, unless named)


def events(lines: Iterable[str], prefix: str = DEFAULT_PREFIX) -> Iterator[Event]:
    """The statements and disconnections of a PostgreSQL stderr log, in order, each with its line."""
    return _events(_stderr_records(lines, prefix))


def any_events(lines: Iterable[str], prefix: str = AUTO, warn: Callable[[str], None] | None = None) -> Iterator[Event]:
    """The events of a PostgreSQL log in whichever of its formats it is written: a `jsonlog` line
    is a JSON object, a `csvlog` line a timestamp and a comma, anything else the stderr log, its
    prefix `prefix` or, `AUTO`, the one of `KNOWN_PREFIXES` that reads its first lines (a
    `PrefixError` when none does). A log that cannot be judged says so by a `LogError` (its
    statements filtered by their duration), one judged in part by `warn` (only its writes)."""
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
            if first and _MYSQL_RECORD.match(first):
                raise PrefixError("it is a MySQL or MariaDB general query log: --log-format mysql")
            if first:
                raise PrefixError(
                    f"its lines start with no log_line_prefix txlint knows (as {first.rstrip()[:60]!r} does): "
                    "give the server's with --log-line-prefix (psql: SHOW log_line_prefix)"
                )
            found = DEFAULT_PREFIX
        prefix = found
    _judge_sample(head, warn)
    return events(rest, prefix)


def looks_like_postgres(line: str) -> bool:
    """Whether a line is one of PostgreSQL's, in any of its formats (given as MySQL's by mistake)."""
    return bool(_UNTIMED.search(line) or _TIMED.search(line)) or '"error_severity"' in line


class LogError(ValueError):
    """A log whose statements cannot be judged as they are logged."""


def _judge_sample(head: list[str], warn: Callable[[str], None] | None) -> None:
    """Whether a log's first lines say it holds every statement: with log_min_duration_statement
    above 0 only the slow ones are logged (a `FOR UPDATE` that waited, not its BEGIN: judged, that
    would be a lock outside a transaction); with log_statement = 'mod' only the writes."""
    durations = [float(found.group(1)) for line in head if (found := _TIMED.search(line))]
    untimed = sum(1 for line in head if _UNTIMED.search(line))
    if durations and not untimed and min(durations) >= _FILTERED_MS:
        raise LogError(
            f"it logs only statements slower than {min(durations):g} ms or so (log_min_duration_statement above 0): "
            "the other statements of their transactions are missing, and what they show alone would be wrong. "
            "Give a log written with log_statement = 'all' or log_min_duration_statement = 0"
        )
    verbs = [found.group(1).lower() for line in head if (found := _VERB.search(line))]
    if warn is not None and len(verbs) >= 3 and not {"select", "begin", "start", "commit", "end", "with"} & set(verbs):
        warn("no SELECT, BEGIN or COMMIT among its first statements (log_statement = 'mod'?): reads and transactions are not in it, and TX101, TX103, TX104 and TX109 cannot be found")


# A statement logged with its duration, and one logged before it ran.
_TIMED = re.compile(r"(?:LOG|INFO):  duration: ([\d.]+) ms  (?:statement|execute [^:]*):")
_UNTIMED = re.compile(r"(?:LOG|INFO):  (?:statement|execute [^:]*): ")
_FILTERED_MS = 1.0  # BEGIN and COMMIT take microseconds: a log of none faster than this is filtered
_VERB = re.compile(r"(?:LOG|INFO):  (?:duration: [\d.]+ ms  )?(?:statement|execute [^:]*): \W*(\w+)")
# A line of MySQL's general query log (given as PostgreSQL's by mistake).
_MYSQL_RECORD = re.compile(r"(?:\d{6} [ \d]\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.]+\S*)?\t+ *\d+ [A-Z][a-z]+(?: [a-z]+)?\t|\S+, Version: .*started with:")


def detect_prefix(lines: Iterable[str], prefixes: Iterable[str] = KNOWN_PREFIXES) -> str | None:
    """Of `prefixes`, the one that reads the most of `lines` as records naming their connection
    (the first of those that read as many), of those that read the first line when one does (the
    server says when its prefix changes: the log is read from its start with the prefix it had
    then); None when none reads one."""
    heads = [line.rstrip("\r\n") for line in lines if line.strip() and not line.startswith("\t")]
    best: tuple[bool, int, str] | None = None
    for known in prefixes:
        prefix_of, names = _reader(prefix_pattern(known))
        read = [bool(_stderr_record(prefix_of, names, 1, line, [])) for line in heads]
        count = sum(read)
        if count and (best is None or (read[0], count) > best[:2]):
            best = (read[0], count, known)
    return best[2] if best is not None else None


def csv_events(stream: Iterable[str]) -> Iterator[Event]:
    """The same of a `csvlog` log (a record per CSV row; its DETAIL is a field of the same row)."""
    return _events(_csv_records(stream))


def json_events(lines: Iterable[str]) -> Iterator[Event]:
    """The same of a `jsonlog` log (PostgreSQL 15: a JSON object per line; CloudNativePG's, each the
    server's record inside one of its own)."""
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
                yield _statement(conn, waiting) if not waiting.error else _outcome(conn, waiting)
            statement = statement_in(message)
            if statement is not None:
                sql, timed = statement.group("sql", "timed")
                pending[conn] = _Pending(number_, sql, _parameters(detail) if detail and detail.startswith("parameters: ") else None, timed is not None)
            elif message.startswith("disconnection:"):
                yield Event(conn, number_, "disconnect")
            elif message.startswith(("connection authorized:", "connection received:")):
                yield Event(conn, number_, "connect")
        elif waiting is None:
            if level in _FAILURES:
                yield Event(conn, number_, "failed")
            elif level == IDLE:  # the log is not growing: what is pending ran (an ERROR would have followed)
                yield from _flushed(pending)
        elif waiting.error:  # an error after it: the STATEMENT line says whose
            if level == "STATEMENT":
                yield _failed(conn, waiting) if message == waiting.sql else _statement(conn, waiting)
            elif level in _ERROR_DETAILS:
                pending[conn] = waiting
            else:
                yield _outcome(conn, waiting)
                if level == IDLE:
                    yield from _flushed(pending)
        elif level == "DETAIL" and message.startswith("parameters: "):
            waiting.params = _parameters(message)
            pending[conn] = waiting
        elif level == "DETAIL" and message.startswith("prepare: "):
            pending[conn] = _executed(waiting, message)
        elif level in _FAILURES:
            if waiting.ran:
                yield _statement(conn, waiting)
                yield Event(conn, number_, "failed")
            else:
                waiting.error = level
                pending[conn] = waiting
        else:
            yield _statement(conn, waiting)
    yield from _flushed(pending)


def _executed(waiting: _Pending, detail: str) -> _Pending:
    """`EXECUTE name(7, 'x')` with the `PREPARE name AS ...` its DETAIL shows: the prepared statement
    with those values bound."""
    execute, prepare = _EXECUTE.match(waiting.sql), _PREPARE.match(detail, len("prepare: "))
    if execute is None or prepare is None:
        return waiting
    _, values = normalised(f"SELECT {execute.group('arguments')}", "postgres") if execute.group("arguments") else ("", ())
    return _Pending(waiting.line, prepare.group("body"), values, waiting.ran)


_EXECUTE = re.compile(r"\s*execute\s+\w+\s*(?:\((?P<arguments>.*)\))?\s*;?\s*\Z", re.IGNORECASE | re.DOTALL)
_PREPARE = re.compile(r"\s*prepare\s+\w+\s*(?:\([^)]*\))?\s+as\s+(?P<body>.*?)\s*;?\s*\Z", re.IGNORECASE | re.DOTALL)


def _flushed(pending: dict[str, _Pending]) -> Iterator[Event]:
    """What is pending, as it stands: nothing more will be said of it."""
    for conn, waiting in pending.items():
        yield _outcome(conn, waiting)
    pending.clear()


def _outcome(conn: str, waiting: _Pending) -> Event:
    """A statement pending, when no STATEMENT line came to say whose an error after it was."""
    return _failed(conn, waiting) if waiting.error in _FAILED_UNLESS_NAMED else _statement(conn, waiting)


def _failed(conn: str, waiting: _Pending) -> Event:
    return Event(conn, waiting.line, "failed", waiting.sql)


_FAILURES = frozenset({"ERROR", "FATAL", "PANIC"})
_FAILED_UNLESS_NAMED = frozenset({"ERROR"})
_ERROR_DETAILS = frozenset({"DETAIL", "HINT", "CONTEXT", "QUERY", "LOCATION"})  # what an error is told with, before its STATEMENT


def _stderr_records(lines: Iterable[str], prefix: str) -> Iterator[Record]:
    """The records of a stderr log: a line and the tab-indented lines that continue it. The server
    says when its log_line_prefix changes (a reload): the lines after are read with the new one."""
    prefix_of, names = _reader(prefix_pattern(prefix))
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
            for record in _stderr_record(prefix_of, names, start, first, more):
                yield record
                if record[3][:10] == "parameter " and record[3].startswith(_PREFIX_CHANGED):
                    with contextlib.suppress(PrefixError):
                        prefix_of, names = _reader(prefix_pattern(record[3][len(_PREFIX_CHANGED) :].rstrip('"')))
            if more:
                more = []
        start, first = number_, line.rstrip("\r\n")
    if start:
        yield from _stderr_record(prefix_of, names, start, first, more)


_PREFIX_CHANGED = 'parameter "log_line_prefix" changed to "'


def _reader(pattern: re.Pattern[str]) -> tuple[Callable[[str], re.Match[str] | None], tuple[str, ...]]:
    return pattern.match, tuple(name for name in ("session", "pid") if name in pattern.groupindex)


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
    """csvlog's columns: 3 process_id, 5 session_id, 11 error_severity, 13 message, 14 detail,
    19 query (the statement an error is about, as the stderr log's STATEMENT line). A log that stops
    growing (`--follow`) ends one CSV reading, and the next goes on where it stopped."""
    lines = iter(stream)
    last = 0
    while True:
        paused = False

        def until_pause() -> Iterator[str]:
            nonlocal paused
            for line in lines:
                if line == IDLE_LINE:
                    paused = True
                    return
                yield line

        reader = csv.reader(until_pause())
        base = last
        for row in reader:
            start, last = last + 1, base + reader.line_num  # a row's fields may hold line breaks: it starts after the last one
            if len(row) >= 15:
                conn = row[5] or row[3]
                yield conn, start, row[11], row[13], row[14] or None
                if len(row) > 19 and row[19] and row[11] in _FAILURES:  # the statement an error is about: its `query` column
                    yield conn, start, "STATEMENT", row[19], None
        if not paused:
            return
        yield "", 0, IDLE, "", None


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
        if isinstance(record, dict) and isinstance(record.get("record"), dict):
            record = record["record"]  # CloudNativePG: the server's record inside the operator's
        if isinstance(record, dict) and isinstance(record.get("message"), str):
            conn = str(record.get("session_id") or record.get("pid") or record.get("process_id") or "")
            if conn:
                level = str(record.get("error_severity", ""))
                detail = record.get("detail")
                yield conn, number_, level, record["message"], detail if isinstance(detail, str) else None
                statement = record.get("statement")
                if isinstance(statement, str) and statement and level in _FAILURES:
                    yield conn, number_, "STATEMENT", statement, None


def _parameters(message: str) -> tuple[object, ...]:
    return tuple(_parameter(value) for _, value in _PARAMETER.findall(message))


def _statement(conn: str, waiting: _Pending) -> Event:
    if waiting.params is not None:  # bound by the server; a literal written beside them is a value too
        sql, written = normalised(waiting.sql, "postgres", after=len(waiting.params)) if waiting.params else (waiting.sql, ())
        return Event(conn, waiting.line, "statement", sql, waiting.params + written)
    sql, params = normalised(waiting.sql, "postgres")
    return Event(conn, waiting.line, "statement", sql, params)


def _parameter(value: str) -> object:
    if value == "NULL":
        return None
    return number(value[1:-1].replace("''", "'"))
