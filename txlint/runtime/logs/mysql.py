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

from txlint.runtime.logs.events import Event
from txlint.runtime.logs.literals import normalised

_RECORD = re.compile(
    r"^(?:\d{6} [ \d]\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?)?\t+ *(?P<id>\d+) (?P<command>[A-Z][a-z]+(?: [a-z]+)?)\t(?P<argument>.*)\Z",
    re.DOTALL,
)
_AUTOCOMMIT = re.compile(r"^\s*set\s+(?:@@(?:session\.)?|session\s+)?autocommit\s*=\s*(?P<value>0|1|on|off|true|false)\s*;?\s*\Z", re.IGNORECASE)


def events(lines: Iterable[str]) -> Iterator[Event]:
    """The statements, connections and autocommit changes of a general query log, in order."""
    record: tuple[int, str, str, list[str]] | None = None
    number = 0
    for line in lines:
        if line == "":  # a growing log that stopped for a while (`--follow`): its last record is whole
            if record is not None:
                yield from _event(*record)
                record = None
            continue
        number += 1
        text = line.rstrip("\n").removesuffix("\r")
        match = _RECORD.match(text)
        if match is None:
            if record is not None and record[1] in {"Query", "Execute"}:
                record[3].append(text)  # a statement that goes on over several lines
            continue
        if record is not None:
            yield from _event(*record)
        record = (number, match.group("command"), match.group("id"), [match.group("argument")])
    if record is not None:
        yield from _event(*record)


def _event(line: int, command: str, conn: str, argument: list[str]) -> Iterator[Event]:
    if command == "Connect":
        yield Event(conn, line, "connect")
    elif command == "Quit":
        yield Event(conn, line, "disconnect")
    elif command in {"Query", "Execute"}:
        sql = "\n".join(argument)
        autocommit = _AUTOCOMMIT.match(sql)
        if autocommit is not None:
            on = autocommit.group("value").lower() in {"1", "on", "true"}
            yield Event(conn, line, "autocommit-on" if on else "autocommit-off")
            return
        text, params = normalised(sql, "mysql")
        yield Event(conn, line, "statement", text, params)
