"""A statement as a log shows it, with its values inlined, turned into text with placeholders and
the values beside it: what the trace analyser takes from a driver.

A log shows `UPDATE accounts SET balance = 90 WHERE id = 7` where a driver would have sent
`... = $1 WHERE id = $2` with (90, 7). Normalised, the analyser judges the two alike (a number
written over a money column read earlier), and parses each distinct text once however many values
go through it. One regular-expression pass: quoted names are kept, comments dropped, string and number
literals replaced (a literal typed by a keyword, `INTERVAL '1 day'`, `DATE '...'`, is kept: it is
part of the SQL's shape, not a value).
"""

from __future__ import annotations

import re

# Alternatives in order: what to keep (quoted names, comments, typed literals, placeholders), then
# what to take out (strings, numbers).
# Each pattern starts with a look at the next character only: most positions of a statement are
# letters, which start none of the alternatives, and are passed over at once.
_POSTGRES = re.compile(
    r"""(?=["'\-/$\d:]|[eE]')"""
    r"""(?:(?P<keep>"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|\$\d+|::\w+)"""
    r"""|(?P<string>(?<![\w$])[eE]?'(?:[^']|'')*')"""
    r"""|(?P<number>(?<![\w$.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])))""",
    re.DOTALL,
)
_MYSQL = re.compile(
    r"""(?=[`'"\-#/\d])"""
    r"""(?:(?P<keep>`(?:[^`]|``)*`|--[^\n]*|\#[^\n]*|/\*.*?\*/)"""
    r"""|(?P<string>(?<![\w$])(?:'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"))"""
    r"""|(?P<number>(?<![\w$.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])))""",
    re.DOTALL,
)
# A string typed by the keyword before it is part of the SQL's shape, not a value.
_TYPED = re.compile(r"(?:interval|date|time|timestamp|timestamptz)\s*\Z", re.IGNORECASE)
_HAS_LITERAL = re.compile(r"['\"\d]")
_ESCAPES = re.compile(r"\\(.)", re.DOTALL)
# A quoted value written as a number, not as a code (`'007'` keeps its zeros: it is text).
_NUMERIC = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?\Z")


def number(text: str) -> int | float | str:
    """A literal's value: an int, a float, or the text itself when it is neither."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def normalised(sql: str, dialect: str) -> tuple[str, tuple[object, ...]]:
    """`sql` with its literals replaced by placeholders (`$1`... for PostgreSQL, `%s` for MySQL),
    and their values in order."""
    if not _HAS_LITERAL.search(sql):
        return sql, ()
    values: list[object] = []
    mysql = dialect == "mysql"
    pattern = _MYSQL if mysql else _POSTGRES

    def placeholder() -> str:
        return "%s" if mysql else f"${len(values)}"

    def replace(match: re.Match[str]) -> str:
        if match.group("keep") is not None:
            kept = match.group(0)
            # A comment is no part of what a statement does, and one that names the request
            # (`/* request 7 */`, sqlcommenter's tags) would make each statement a text of its own.
            return " " if kept.startswith(("--", "/*", "#")) else kept
        text = match.group(0)
        if match.group("string") is not None:
            if _TYPED.search(sql, max(0, match.start() - 16), match.start()):
                return text
            values.append(_string(text, mysql))
        else:
            values.append(number(text))
        return placeholder()

    return pattern.sub(replace, sql), tuple(values)


def _string(text: str, mysql: bool) -> object:
    """A string literal's value; a number when it is written as one (`'50'`: PDO and other clients
    quote every value they inline, and the database compares it as the number)."""
    quote = text[-1]
    body = text[text.index(quote) + 1 : -1]
    if _NUMERIC.match(body):
        return number(body)
    if mysql:
        body = _ESCAPES.sub(lambda m: {"n": "\n", "t": "\t", "0": "\0"}.get(m.group(1), m.group(1)), body)
    return body.replace(quote * 2, quote)

