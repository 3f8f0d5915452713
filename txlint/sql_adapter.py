"""The one place that imports sqlglot.

sqlglot's internals move between major versions (v30 split `expressions.py`
into a package), so every use of it goes through this module and the major
version is pinned in `pyproject.toml`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sqlglot
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError


@dataclass(frozen=True)
class SqlError:
    """Why a piece of SQL could not be parsed, with a 1-based position when sqlglot gives one."""

    message: str
    line: int = 1
    column: int = 1


@functools.cache
def dialect_names() -> frozenset[str]:
    """The dialect names sqlglot accepts (`postgres`, `mysql`, `sqlite`, ...)."""
    return frozenset(name for name in Dialect.classes if name)


def check_script(text: str, dialect: str) -> SqlError | None:
    """Parse a whole SQL script; return the first error, or None when it parses.

    >>> check_script("SELECT 1; SELECT 2", "postgres") is None
    True
    """
    try:
        sqlglot.parse(text, read=dialect)
    except ParseError as error:
        detail = error.errors[0] if error.errors else {}
        message = str(detail.get("description") or error).splitlines()[0]
        return SqlError(message, int(detail.get("line") or 1), int(detail.get("col") or 1))
    except SqlglotError as error:  # TokenError (an unterminated string) is not a ParseError
        return SqlError(str(error).splitlines()[0] if str(error) else type(error).__name__)
    except RecursionError:
        return SqlError("statement too deeply nested to parse")
    return None
