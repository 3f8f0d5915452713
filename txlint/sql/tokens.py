"""Tokens of a SQL text, cut into statements, with their source positions.

sqlglot's tokenizer splits the text once for the dialect (it knows that
dialect's strings, quoted names and comments, so `'%s'` and `-- ?` are never
taken for placeholders). The tokens are cut into statements at `;`; each
statement keeps the source positions of its tokens, so its lines come from
them and its text is rebuilt from the source between its first and last
token.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import logging
import re
from collections.abc import Iterator, Sequence

from sqlglot import Token, TokenType
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError

from txlint.sql.facts import PlaceholderKey, SqlError

# Prefix of the message of a SqlError that comes from a bug in txlint or sqlglot, not from the SQL.
INTERNAL_ERROR = "internal error while reading SQL"
# sqlglot's message for an unterminated string: "Missing ' from <line>:<offset of the quote>".
_MISSING_DELIMITER = re.compile(r"from (\d+):(\d+)\s*\Z")


class Lines:
    """Maps character offsets of a text to 1-based lines and columns."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [match.end() for match in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self._starts, max(offset, 0))

    def column(self, offset: int) -> int:
        return max(offset, 0) - self._starts[self.line(offset) - 1] + 1


@dataclasses.dataclass
class Chunk:
    """One statement's tokens: as written (for positions and text) and as parsed (placeholders renamed)."""

    tokens: list[Token]
    parse_tokens: list[Token]
    placeholders: tuple[PlaceholderKey, ...]


class _Quiet(logging.Filter):
    """Drops sqlglot's "falling back to parsing as a Command" warnings: txlint prints nothing below its CLI."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextlib.contextmanager
def quiet_sqlglot() -> Iterator[None]:
    """sqlglot's logger says nothing while the block runs."""
    logger = logging.getLogger("sqlglot")
    quiet = _Quiet()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def tokenize(text: str, dialect: Dialect) -> list[Token] | SqlError:
    """Every token of `text`, or why it cannot be tokenized (an unterminated string, quoted name or comment)."""
    lines = Lines(text)
    try:
        return _expand_commands(dialect.tokenize(text), text, dialect, lines)
    except SqlglotError as error:  # TokenError: an unterminated string, quoted name or comment
        cause = error.__cause__
        message = (str(cause) if isinstance(cause, SqlglotError) and str(cause) else str(error)).strip()
        where = _MISSING_DELIMITER.search(message)
        offset = int(where.group(2)) if where else 0
        first_line = message.splitlines()[0] if message else "cannot tokenize SQL"
        return SqlError(first_line, lines.line(offset), lines.column(offset))
    except RecursionError:
        return SqlError("text too deeply nested to tokenize")
    except Exception as error:  # noqa: BLE001 - a bug in sqlglot on odd input must not stop the run
        return SqlError(f"{INTERNAL_ERROR}: {type(error).__name__}: {error}")


def _expand_commands(tokens: list[Token], text: str, dialect: Dialect, lines: Lines) -> list[Token]:
    """Give statements that sqlglot tokenizes as "command + rest as one string" their real tokens.

    After a command keyword at the start of a statement (`LOCK` in postgres,
    `LOCK TABLES` and `REPLACE` in mysql, `CALL`, `EXPLAIN`, ...) sqlglot's
    tokenizer returns the rest of the statement as one STRING token, with
    wrong positions. The rest is tokenized again here, so placeholders are
    counted, `text` is right and `LOCK TABLE t` names its table.
    """
    commands = dialect.tokenizer_class.COMMANDS
    prefixes = dialect.tokenizer_class.COMMAND_PREFIX_TOKENS
    out: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        out.append(token)
        index += 1
        at_start = len(out) == 1 or out[-2].token_type in prefixes
        if token.token_type not in commands or not at_start or index >= len(tokens):
            continue
        rest = tokens[index]
        end = tokens[index + 1].start if index + 1 < len(tokens) else len(text)
        region = text[token.end + 1 : end]
        if rest.token_type != TokenType.STRING or region.strip() != rest.text:
            continue
        base = token.end + 1
        for inner in dialect.tokenize(region):
            start, stop = inner.start + base, inner.end + base
            out.append(
                Token(inner.token_type, inner.text, lines.line(stop), lines.column(stop), start, stop, inner.comments)
            )
        index += 1
    return out


# `END IF`, `END LOOP`, `END WHILE`, `END REPEAT`, `END FOR` close a statement that opened no BEGIN or CASE.
_NOT_BLOCK_ENDS = frozenset({"IF", "LOOP", "WHILE", "REPEAT", "FOR"})
ROUTINE_KINDS = frozenset({"PROCEDURE", "FUNCTION", "TRIGGER", "EVENT"})
_ROUTINE_HEADER_TOKENS = 12  # `CREATE [OR REPLACE] [DEFINER = `u`@`h`] [AGGREGATE] FUNCTION` fits
# Words between CREATE and the routine's kind; after DEFINER anything goes (`'app'@'%'`, CURRENT_USER).
_ROUTINE_PREFIX = frozenset({"OR", "REPLACE", "AGGREGATE", "CONSTRAINT", "TEMP", "TEMPORARY", "DEFINER", "IF", "NOT", "EXISTS"})


def routine_keyword(tokens: Sequence[Token]) -> int | None:
    """Index of FUNCTION/PROCEDURE/TRIGGER/EVENT in `CREATE [OR REPLACE] [DEFINER = x] <kind>`, or None
    (`CREATE TABLE event (...)` creates no routine)."""
    if not tokens or tokens[0].text.upper() != "CREATE":
        return None
    definer = False
    for index, token in enumerate(tokens[1:_ROUTINE_HEADER_TOKENS], start=1):
        word = token.text.upper() if token.token_type not in (TokenType.STRING, TokenType.IDENTIFIER) else ""
        if word in ROUTINE_KINDS:
            return index
        definer = definer or word == "DEFINER"
        if not definer and word not in _ROUTINE_PREFIX:
            return None
    return None


def split(tokens: list[Token], ends: frozenset[int] = frozenset()) -> Iterator[list[Token]]:
    """Statements are the runs of tokens between `;` (as sqlglot's own `parse()` cuts them).

    Two exceptions keep a stored routine whole: a `;` inside the `BEGIN ... END` body of a
    `CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT` (MySQL, SQLite triggers, PostgreSQL `BEGIN
    ATOMIC`) ends nothing, and a `;` at an offset in `ends` (a client's own delimiter, such as
    MySQL's `DELIMITER //`) always ends the statement. A body whose BEGIN finds no END is cut
    at its `;` after all, so one odd routine cannot swallow the rest of a file.
    """
    current: list[Token] = []
    depth = 0
    routine = False
    for index, token in enumerate(tokens):
        if token.token_type == TokenType.SEMICOLON and (depth == 0 or token.start in ends):
            if current:
                yield current
            current, depth, routine = [], 0, False
            continue
        current.append(token)
        kind = token.token_type
        if not routine and len(current) <= _ROUTINE_HEADER_TOKENS and current[0].text.upper() == "CREATE":
            routine = token.text.upper() in ROUTINE_KINDS and routine_keyword(current) == len(current) - 1
        elif (routine and kind == TokenType.BEGIN and token.text.upper() == "BEGIN") or (depth and kind == TokenType.CASE):  # not START
            depth += 1
        elif depth and kind == TokenType.END:
            following = tokens[index + 1].text.upper() if index + 1 < len(tokens) else ""
            if following not in _NOT_BLOCK_ENDS:
                depth -= 1
    if current and depth:
        yield from _split_plainly(current)
    elif current:
        yield current


def _split_plainly(tokens: list[Token]) -> Iterator[list[Token]]:
    current: list[Token] = []
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if current:
                yield current
            current = []
        else:
            current.append(token)
    if current:
        yield current


def statement_text(text: str, tokens: Sequence[Token]) -> str:
    """The statement as written, minus comments, with every run of whitespace outside tokens made one space."""
    parts: list[str] = []
    previous_end = None
    for token in tokens:
        if previous_end is not None and token.start > previous_end + 1:
            parts.append(" ")
        parts.append(text[token.start : token.end + 1])
        previous_end = token.end
    return "".join(parts)


def adjacent(tokens: Sequence[Token], index: int, kind: TokenType) -> bool:
    """Whether `tokens[index + 1]` has type `kind` and follows `tokens[index]` with no space between."""
    if index + 1 >= len(tokens) or index < 0:
        return False
    following = tokens[index + 1]
    return bool(following.token_type == kind and following.start == tokens[index].end + 1)
