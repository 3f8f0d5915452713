"""What a statement log says a connection did: one kind of event for every database's log."""

from __future__ import annotations

from typing import Literal, NamedTuple

Kind = Literal["statement", "failed", "connect", "disconnect", "autocommit-off", "autocommit-on"]


class Event(NamedTuple):
    """`kind` of event on connection `conn`, logged at `line`: a statement (its SQL with
    placeholders and the values bound to them), a statement that failed, a connection's start or
    end, its autocommit mode changed. (A tuple: a log gives out millions, and a tuple is made
    several times faster than a frozen dataclass.)"""

    conn: str
    line: int
    kind: Kind
    sql: str = ""
    params: tuple[object, ...] = ()
