"""What a statement log says a connection did: one kind of event for every database's log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["statement", "failed", "connect", "disconnect", "autocommit-off", "autocommit-on"]


@dataclass(frozen=True)
class Event:
    """`kind` of event on connection `conn`, logged at `line`: a statement (its SQL with
    placeholders and the values bound to them), a statement that failed, a connection's start or
    end, its autocommit mode changed."""

    conn: str
    line: int
    kind: Kind
    sql: str = ""
    params: tuple[object, ...] = ()
