"""MySQL's and MariaDB's general query log, read as the statements each connection ran, in order.

Each line is a time (only when it changed, MariaDB; every line, MySQL 8), the connection id, the
command and its argument: `Connect`, `Query` (the statement, values inlined: the client or PDO
interpolated them), `Execute` (a server-side prepared statement, logged with its values), `Quit`.
A statement over several lines goes on on lines that match no record. The log shows no errors: a
statement that failed is judged as if it ran. A connection runs in autocommit until it says
`SET autocommit = 0` (or `--autocommit-default off`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import NamedTuple

from txlint.runtime.logs.events import Event
from txlint.runtime.logs.literals import ZEROS, Spans, known_by_digits, normalised, values_at

# A record's head: the time (or none), the connection id, the command; its argument is the rest.
# (MariaDB: `261205 16:02:30` when the second changed; MySQL 8: `2026-12-05T16:02:30.123456Z`, or
# with the zone's offset under log_timestamps = SYSTEM.)
_RECORD = re.compile(r"(?:\d{6} [ \d]\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)?\t+ *(\d+) ([A-Z][a-z]+(?: [a-z]+)?)\t")
# `SET autocommit = 0`, alone or among other assignments (`SET NAMES utf8mb4, autocommit = 1`).
# (After a comment a client tags its statements with, `/* app */`; the value quoted or not; a comment after.)
_AUTOCOMMIT = re.compile(
    r"^\s*(?:/\*.*?\*/\s*)*set\s+(?:[^;]*?,\s*)?(?:@@(?:session\.|local\.)?|session\s+|local\s+)?autocommit\s*(?:=|:=)\s*"
    r"(?P<quote>['\"]?)(?P<value>0|1|on|off|true|false)(?P=quote)(?![\w'\"])\s*(?:,[^;]*)?;?\s*(?:(?:--|\#)[^\n]*|/\*.*?\*/)?\s*\Z",
    re.IGNORECASE | re.DOTALL,
)
# What ends the transaction open without a COMMIT (MySQL commits it first, "implicit commit"): DDL
# but on temporary tables, LOCK TABLES, account and table maintenance. (A new transaction's start
# does too: the replay commits what is open at a BEGIN, the one statement of these that is common.)
_COMMITS_FIRST = re.compile(
    r"^\s*(?:/\*.*?\*/\s*)*(?:(?:alter|create|drop|rename|truncate)\b(?!\s+temporary\b)|lock\s+tables?\b|unlock\s+tables?\b"
    r"|(?:analyze|optimize|repair|check)\s+table\b|(?:grant|revoke|flush)\b|load\s+index\b)",
    re.IGNORECASE | re.DOTALL,
)
# XA transactions, told as the transaction statements the analyser knows.
_XA = re.compile(r"^\s*xa\s+(?P<verb>start|begin|end|prepare|commit|rollback|recover)\b", re.IGNORECASE)
_XA_AS = {"start": "BEGIN", "begin": "BEGIN", "commit": "COMMIT", "rollback": "ROLLBACK"}
# What the server writes when it starts (again, in the middle of a log): no part of a statement.
_HEADER = re.compile(r"\S+, Version: |Tcp port: |Time\s+Id\s+Command\s+Argument")


class _LineShape(NamedTuple):
    """A general log's line of a one-line statement, read once for every line alike but for its
    digits (the time, the connection id, the values): where its connection id is, its command, where
    its statement starts, and the statement's template."""

    conn: tuple[int, int]
    command: str
    argument: int
    sql: str
    spans: Spans
    kind: str


# Lines read before, by the line with each digit made a 0 (a log is the same few statements with
# other ids and values), and those seen once (kept the second time: a line with a name or an
# e-mail in it has a key of its own each time).
_LINES: dict[bytes, _LineShape] = {}
_LINES_ONCE: set[bytes] = set()
_LINES_MAX = 4096


def events(lines: Iterable[str]) -> Iterator[Event]:
    """The statements, connections and autocommit changes of a general query log, in order."""
    # The record being read: its line, command, connection and text, given out when the next
    # record starts (a statement may go on over the lines after it), when the log stops growing
    # (`--follow` gives an empty line then) and at its end. A line alike but for its digits to one
    # read before is read from that one's shape, without a regular expression. The loop is written
    # out in one piece: it runs for every line of logs of gigabytes.
    line, command, conn, argument = 0, "", "", ""
    shaped: _LineShape | None = None  # the shape of the record's line, while no other line goes on with it
    raw, key = "", b""  # the record's line, and its key
    conn_at, argument_at = (0, 0), 0  # where in it its connection id and its statement are (-1: it goes on over more lines)
    number = 0
    record = _RECORD.match
    match: re.Match[str] | None = None
    shape: _LineShape | None = None
    for text in chain(lines, ("",)):
        if text:
            number += 1
            found = text.encode("utf-8", "surrogatepass").translate(ZEROS)
            shape = _LINES.get(found)
            if shape is None:
                match = record(text)
                if match is None:
                    if line and command in _STATEMENTS and not _HEADER.match(text):
                        if shaped is not None:
                            argument, shaped = raw[shaped.argument :].rstrip(_LINE_END), None
                        argument = f"{argument}\n{text.rstrip(_LINE_END)}"  # a statement that goes on over several lines
                        argument_at = -1
                    continue
        if line:  # the record before is whole
            if command in _STATEMENTS:
                if shaped is not None:
                    sql, params, kind = shaped.sql, values_at(raw, shaped.spans, True, shaped.argument), shaped.kind
                    if kind == "autocommit":
                        argument = raw[shaped.argument :].rstrip(_LINE_END)
                else:
                    sql, params = normalised(argument, "mysql")
                    kind = _KINDS.get(sql) or _kind(sql, argument)
                    if argument_at >= 0:
                        _remember_line(key, conn_at, command, argument_at, argument, sql, kind)
                if kind == "plain":
                    yield _new(Event, (conn, line, "statement", sql, params))
                elif kind == "autocommit" and (autocommit := _AUTOCOMMIT.match(argument)):
                    on = autocommit.group("value").lower() in {"1", "on", "true"}
                    yield Event(conn, line, "autocommit-on" if on else "autocommit-off")
                elif kind == "commits-first":
                    yield Event(conn, line, "statement", "COMMIT")
                    yield _new(Event, (conn, line, "statement", sql, params))
                elif kind not in ("nothing", "autocommit"):  # an XA statement, as the one it stands for
                    yield Event(conn, line, "statement", kind)
            elif command == "Connect":
                yield Event(conn, line, "connect")
            elif command == "Quit":
                yield Event(conn, line, "disconnect")
            line = 0
        if not text:
            continue
        line, raw, key = number, text, found
        if shape is not None:
            shaped, command, conn = shape, shape.command, text[shape.conn[0] : shape.conn[1]]
        elif match is not None:
            shaped, conn_at, argument_at = None, match.span(1), match.end()
            conn, command = match.group(1, 2)
            argument = text[argument_at:].rstrip(_LINE_END)


def _remember_line(key: bytes, conn: tuple[int, int], command: str, argument_at: int, argument: str, sql: str, kind: str) -> None:
    """Keep the shape of a line of one statement, the second time its key comes, when its
    statement's template is known by its digits too (its values are then where they were)."""
    if key not in _LINES_ONCE:
        if len(_LINES_ONCE) >= _LINES_MAX * 4:
            _LINES_ONCE.clear()
        _LINES_ONCE.add(key)
        return
    known = known_by_digits(argument, True)
    if known is not None and known[0] == sql:
        if len(_LINES) >= _LINES_MAX:
            _LINES.clear()
        _LINES[key] = _LineShape(conn, command, argument_at, sql, known[1], kind)


_STATEMENTS = frozenset({"Query", "Execute"})
# By a statement's text with placeholders: plain, autocommit (its value is the statement's own),
# commits-first, nothing, or the statement an XA one stands for.
_KINDS: dict[str, str] = {}


def _kind(sql: str, argument: str) -> str:
    """What a statement is to the analyser, worked out once per text (`argument`: one statement
    of that text, its values written in)."""
    xa = _XA.match(sql)
    if xa:
        kind = _XA_AS.get(xa.group("verb").lower(), "nothing")
    elif _AUTOCOMMIT.match(argument):
        kind = "autocommit"
    else:
        kind = "commits-first" if _COMMITS_FIRST.match(sql) else "plain"
    if len(_KINDS) >= 4096:
        _KINDS.clear()
    _KINDS[sql] = kind
    return kind

_new = tuple.__new__  # an event made without the keyword handling of its class's constructor: millions are made
_LINE_END = "\r\n"
