"""The one place that imports sqlglot.

sqlglot's internals move between major versions (v30 split `expressions.py`
into a package), so every use of it goes through this module and the major
version is pinned in `pyproject.toml`. Everything else reads the plain facts
of `txlint.sql.facts`.

How a text becomes facts:
1. sqlglot's tokenizer splits the text once for the dialect (it knows that
   dialect's strings, quoted names and comments, so `'%s'` and `-- ?` are
   never taken for placeholders).
2. The tokens are cut into statements at `;`. Each statement keeps the
   source positions of its tokens: lines come from them, and `text` is
   rebuilt from the source between its first and last token.
3. Placeholders (`%s`, `%(name)s`, `?`, `?3`, `$1`, `:name`) are replaced,
   in the token list, by named placeholders `:txlintphN` that every SQL
   dialect of sqlglot parses (`%s` only parses in its postgres dialect), and
   `N` maps back to the driver's own key (position or name).
4. Transaction control (`BEGIN`, `START TRANSACTION`, `SAVEPOINT`,
   `RELEASE`, `LOCK TABLE`, `SET`) is recognised from the tokens: sqlglot
   parses some of these into the wrong tree (postgres `START TRANSACTION`
   becomes a column alias) or not at all (`RELEASE SAVEPOINT`).
5. Everything else is parsed by sqlglot, statement by statement, and read
   into a `Statement`, so one bad statement of a script does not hide the
   others.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import functools
import logging
import re
from collections.abc import Iterable, Iterator, Sequence

import sqlglot
from sqlglot import Token, TokenType, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError

from txlint.sql.facts import (
    Assignment,
    Delta,
    Guard,
    GuardOp,
    LockStrength,
    LockWait,
    Operand,
    PlaceholderKey,
    SqlError,
    Statement,
    TableSchema,
)

__all__ = [
    "SqlError",
    "check_script",
    "dialect_names",
    "parse_script",
    "parse_statements",
    "table_schemas",
]

# Texts longer than this are parsed without caching: 4096 cached megabyte
# scripts would hold gigabytes, and big scripts are parsed once per run anyway.
_CACHE_TEXT_LIMIT = 64 * 1024
# Prefix of the message of a SqlError that comes from a bug in txlint or sqlglot, not from the SQL.
_INTERNAL_ERROR = "internal error while reading SQL"


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


# --------------------------------------------------------------------------- public API


def parse_statements(text: str, dialect: str) -> tuple[Statement, ...] | SqlError:
    """Parse one statement or a whole script into facts; the first error wins.

    Use it for a DB-API `execute()` string or a runtime trace, where one bad
    statement makes the whole string unusable. Never raises: bad input
    (unterminated strings, garbage, absurd nesting, an unknown dialect)
    comes back as a `SqlError`. Results are cached per `(text, dialect)`.

    Args:
        text: SQL text, with placeholders in any DB-API style.
        dialect: a sqlglot dialect name (`postgres`, `mysql`, `sqlite`, ...).

    Returns:
        One `Statement` per statement, in source order, or the first error.

    >>> (update,) = parse_statements(
    ...     "UPDATE accounts SET balance = balance - %s WHERE id = %s AND balance >= %s", "mysql")
    >>> update.assignments[0].delta.sign, update.assignments[0].delta.amount.placeholder
    ('-', 0)
    >>> [(g.column, g.op, g.operand.placeholder) for g in update.guards]
    [('id', '=', 1), ('balance', '>=', 2)]
    """
    results = parse_script(text, dialect)
    statements: list[Statement] = []
    for result in results:
        if isinstance(result, SqlError):
            return result
        statements.append(result)
    return tuple(statements)


def parse_script(text: str, dialect: str) -> tuple[Statement | SqlError, ...]:
    """Parse a script statement by statement; a statement that fails becomes a `SqlError` in its place.

    Use it for `.sql` files, where TX000 reports the bad statement and the
    others are still checked. An error of the tokenizer (an unterminated
    string or comment swallows the rest of the text) is the only result.
    Never raises. Results are cached per `(text, dialect)`.

    Args:
        text: the script.
        dialect: a sqlglot dialect name.

    Returns:
        A `Statement` or a `SqlError` per statement, in source order.

    >>> [getattr(r, "kind", "error") for r in parse_script("BEGIN;\\nSELEC 1;\\nCOMMIT;", "sqlite")]
    ['begin', 'error', 'commit']
    """
    if len(text) > _CACHE_TEXT_LIMIT:
        return _parse_script(text, dialect)
    return _parse_script_cached(text, dialect)


def table_schemas(text: str, dialect: str) -> tuple[TableSchema, ...]:
    """Unique keys, non-negative columns and column names that DDL declares, one entry per table.

    Reads `CREATE TABLE` (column and table constraints), `ALTER TABLE ... ADD
    [CONSTRAINT] UNIQUE/PRIMARY KEY/CHECK`, `ALTER TABLE ... ADD COLUMN` and
    `CREATE UNIQUE INDEX`; facts about one table from several statements are
    merged. Statements that do not parse are skipped (a migration with one
    exotic statement still yields the rest); a tokenizer error yields
    nothing. Never raises.

    Args:
        text: DDL, typically a schema file or a migration.
        dialect: a sqlglot dialect name.

    Returns:
        One `TableSchema` per table, in order of first mention.

    >>> (accounts,) = table_schemas(
    ...     "CREATE TABLE accounts (id int PRIMARY KEY, balance int CHECK (balance >= 0))", "postgres")
    >>> accounts.unique_columns, accounts.non_negative
    ((('id',),), ('balance',))
    """
    if len(text) > _CACHE_TEXT_LIMIT:
        return _table_schemas(text, dialect)
    return _table_schemas_cached(text, dialect)


# --------------------------------------------------------------------------- tokens and statements


@functools.lru_cache(maxsize=4096)
def _parse_script_cached(text: str, dialect: str) -> tuple[Statement | SqlError, ...]:
    return _parse_script(text, dialect)


@functools.lru_cache(maxsize=4096)
def _table_schemas_cached(text: str, dialect: str) -> tuple[TableSchema, ...]:
    return _table_schemas(text, dialect)


def _parse_script(text: str, dialect: str) -> tuple[Statement | SqlError, ...]:
    try:
        script = _Script.read(text, dialect)
    except RecursionError:
        return (SqlError("text too deeply nested to parse"),)
    except Exception as error:  # never raise on input: a bug here must cost one file, not the run
        return (SqlError(f"{_INTERNAL_ERROR}: {type(error).__name__}: {error}"),)
    if isinstance(script, SqlError):
        return (script,)
    return tuple(script.statement(chunk) for chunk in script.chunks)


def _table_schemas(text: str, dialect: str) -> tuple[TableSchema, ...]:
    try:
        script = _Script.read(text, dialect)
        if isinstance(script, SqlError):
            return ()
        builder = _SchemaBuilder()
        for chunk in script.chunks:
            tree = script.parse(chunk)
            if not isinstance(tree, SqlError):
                builder.add(tree)
        return builder.schemas()
    except Exception:  # RecursionError included; never raise on input: no schema facts is a safe answer
        return ()


class _Quiet(logging.Filter):
    """Drops sqlglot's "falling back to parsing as a Command" warnings: txlint prints nothing below its CLI."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextlib.contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    logger = logging.getLogger("sqlglot")
    quiet = _Quiet()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


# sqlglot puts a token's repr into some messages ("Expected table name but got <Token ...>").
_TOKEN_REPR = re.compile(
    r"<Token token_type: [^,]*, text: (.*?), line: \d+, col: \d+, start: \d+, end: \d+, comments: .*?>"
)


class _Lines:
    """Maps character offsets of a text to 1-based lines and columns."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [match.end() for match in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self._starts, max(offset, 0))

    def column(self, offset: int) -> int:
        return max(offset, 0) - self._starts[self.line(offset) - 1] + 1


@dataclasses.dataclass
class _Chunk:
    """One statement's tokens: as written (for positions and text) and as parsed (placeholders renamed)."""

    tokens: list[Token]
    parse_tokens: list[Token]
    placeholders: tuple[PlaceholderKey, ...]


class _Script:
    """A tokenized text cut into statements, with the placeholder names of the whole text."""

    def __init__(self, text: str, dialect: Dialect, tokens: list[Token]) -> None:
        self.text = text
        self.dialect = dialect
        self.lines = _Lines(text)
        self.renamer = _PlaceholderRenamer(text, dialect)
        self.chunks = [self.renamer.chunk(tokens) for tokens in _split(tokens)]

    @classmethod
    def read(cls, text: str, dialect_name: str) -> _Script | SqlError:
        try:
            dialect = Dialect.get_or_raise(dialect_name)
        except Exception:  # sqlglot raises ValueError for an unknown name, other errors for odd input
            return SqlError(f"unknown SQL dialect {dialect_name!r}")
        tokens = _tokenize(text, dialect)
        if isinstance(tokens, SqlError):
            return tokens
        return cls(text, dialect, tokens)

    def parse(self, chunk: _Chunk) -> exp.Expr | SqlError:
        """sqlglot's tree of one statement, or why it has none."""
        try:
            with _quiet_sqlglot():
                trees = self.dialect.parser().parse(chunk.parse_tokens, self.text)
        except ParseError as error:
            return self._parse_error(error, chunk)
        except RecursionError:
            return self._error_at("statement too deeply nested to parse", chunk.tokens[0].start)
        except Exception as error:  # a bug in sqlglot on odd input must not stop the run
            return self._error_at(f"{_INTERNAL_ERROR}: {type(error).__name__}: {error}", chunk.tokens[0].start)
        tree = trees[0] if trees else None
        if tree is None:
            return self._error_at("empty statement", chunk.tokens[0].start)
        return tree

    def statement(self, chunk: _Chunk) -> Statement | SqlError:
        """The facts of one statement, placed at its lines and text; never raises."""
        try:
            return self._statement(chunk)
        except RecursionError:
            return self._error_at("statement too deeply nested to analyse", chunk.tokens[0].start)
        except Exception as error:  # a bug in reading one statement must cost that statement only
            return self._error_at(f"{_INTERNAL_ERROR}: {type(error).__name__}: {error}", chunk.tokens[0].start)

    def _statement(self, chunk: _Chunk) -> Statement | SqlError:
        statement = _control_statement(chunk)
        replaced = _replace_into(chunk)
        command = chunk.tokens[0].token_type in self.dialect.tokenizer_class.COMMANDS
        if statement is None and replaced is None and command:
            statement = Statement("other")  # CALL, EXPLAIN, VACUUM ...: sqlglot keeps these as opaque text
        if statement is None:
            tree = self.parse(replaced or chunk)
            if isinstance(tree, SqlError):
                # DDL and utility statements are read only for the schema index; one that sqlglot
                # cannot read (PL/pgSQL function options, COMMENT ON with joined strings, ...) is
                # most often valid SQL of a dialect sqlglot covers partly, so it is not reported.
                if chunk.tokens[0].text.upper() not in _UNANALYSED_COMMANDS:
                    return tree
                statement = Statement("other")
            else:
                statement = _TreeReader(tree, self.renamer.keys).statement()
                if replaced is not None:
                    statement = dataclasses.replace(statement, upsert=True)
        first, last = chunk.tokens[0], chunk.tokens[-1]
        return dataclasses.replace(
            statement,
            text=_statement_text(self.text, chunk.tokens),
            line=self.lines.line(first.start),
            end_line=self.lines.line(last.end),
            placeholders=chunk.placeholders,
        )

    def _parse_error(self, error: ParseError, chunk: _Chunk) -> SqlError:
        detail = error.errors[0] if error.errors else {}
        message = str(detail.get("description") or error).splitlines()[0] or "invalid SQL"
        message = _TOKEN_REPR.sub(lambda match: repr(match.group(1)), message)
        line, column = detail.get("line"), detail.get("col")
        if not isinstance(line, int) or not isinstance(column, int):
            return self._error_at(message, chunk.tokens[0].start)
        # sqlglot's column is that of the offending token's last character.
        highlight = str(detail.get("highlight") or "")
        if "\n" not in highlight:
            column = column - len(highlight) + 1
        return SqlError(message, max(line, 1), max(column, 1))

    def _error_at(self, message: str, offset: int) -> SqlError:
        return SqlError(message, self.lines.line(offset), self.lines.column(offset))


# Statements txlint does not analyse beyond the schema they declare.
_UNANALYSED_COMMANDS = frozenset({
    "CREATE", "ALTER", "DROP", "COMMENT", "GRANT", "REVOKE", "DO", "REINDEX", "CLUSTER", "SECURITY",
})  # fmt: skip

# sqlglot's message for an unterminated string: "Missing ' from <line>:<offset of the quote>".
_MISSING_DELIMITER = re.compile(r"from (\d+):(\d+)\s*\Z")


def _tokenize(text: str, dialect: Dialect) -> list[Token] | SqlError:
    lines = _Lines(text)
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
    except Exception as error:  # a bug in sqlglot on odd input must not stop the run
        return SqlError(f"{_INTERNAL_ERROR}: {type(error).__name__}: {error}")


def _expand_commands(tokens: list[Token], text: str, dialect: Dialect, lines: _Lines) -> list[Token]:
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


def _split(tokens: list[Token]) -> Iterator[list[Token]]:
    """Statements are the runs of tokens between `;` (as sqlglot's own `parse()` cuts them)."""
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


def _statement_text(text: str, tokens: Sequence[Token]) -> str:
    """The statement as written, minus comments, with every run of whitespace outside tokens made one space."""
    parts: list[str] = []
    previous_end = None
    for token in tokens:
        if previous_end is not None and token.start > previous_end + 1:
            parts.append(" ")
        parts.append(text[token.start : token.end + 1])
        previous_end = token.end
    return "".join(parts)


# --------------------------------------------------------------------------- placeholders

# Tokens that end an operand: a `?` or `:` right after one is an operator
# (postgres `data ? 'key'`, an array slice `a[1:n]`, snowflake `v:field`),
# not a placeholder.
_OPERAND_END = frozenset(
    {TokenType.VAR, TokenType.IDENTIFIER, TokenType.NUMBER, TokenType.STRING, TokenType.R_PAREN, TokenType.R_BRACKET}
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PYFORMAT_NAMED = re.compile(r"%\(([^()]*)\)[sbt]")
_POSITIONAL_VAR = re.compile(r"\$(\d+)\Z")
_SQLITE_NAMED_VAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\Z")
_SYNTHETIC = "txlintph"


@functools.cache
def _renaming_works(dialect: Dialect) -> bool:
    """Whether this dialect tokenizes `:name` as COLON + VAR, the shape the renamer builds."""
    try:
        tokens = dialect.tokenize(f":{_SYNTHETIC}0")
    except Exception:
        return False
    return [token.token_type for token in tokens] == [TokenType.COLON, TokenType.VAR]


class _PlaceholderRenamer:
    """Numbers the placeholders of one text the way DB-API drivers do and renames them `:txlintphN`.

    Numbering runs across the statements of the text: a driver given
    `"UPDATE ...; UPDATE ..."` and one parameter tuple counts through both.
    """

    def __init__(self, text: str, dialect: Dialect) -> None:
        self.text = text
        self.sqlite = dialect.__class__.__name__.lower() == "sqlite"
        self.enabled = _renaming_works(dialect)
        self.keys: dict[str, PlaceholderKey] = {}
        self._next_position = 0

    def chunk(self, tokens: list[Token]) -> _Chunk:
        if not self.enabled:
            return _Chunk(tokens, tokens, ())
        out: list[Token] = []
        used: list[PlaceholderKey] = []
        index = 0
        while index < len(tokens):
            match = self._match(tokens, index)
            if match is None:
                out.append(tokens[index])
                if tokens[index].token_type == TokenType.MOD and _adjacent(tokens, index, TokenType.MOD):
                    index += 1  # `%%` is a literal `%` once a pyformat driver has substituted parameters
                index += 1
                continue
            key, length = match
            out.extend(self._rename(key, tokens[index], tokens[index + length - 1]))
            used.append(key)
            index += length
        return _Chunk(tokens, out, tuple(used))

    def _rename(self, key: PlaceholderKey, first: Token, last: Token) -> tuple[Token, Token]:
        name = f"{_SYNTHETIC}{len(self.keys)}"
        self.keys[name] = key
        colon = Token(TokenType.COLON, ":", first.line, first.col, first.start, first.start, first.comments)
        var = Token(TokenType.VAR, name, last.line, last.col, min(first.start + 1, last.end), last.end)
        return colon, var

    def _positional(self, position: int | None = None) -> int:
        if position is None:
            position = self._next_position
        self._next_position = max(self._next_position, position + 1)
        return position

    def _match(self, tokens: list[Token], index: int) -> tuple[PlaceholderKey, int] | None:
        """The placeholder starting at `tokens[index]`: its key and how many tokens it spans."""
        token = tokens[index]
        kind = token.token_type
        after_operand = index > 0 and tokens[index - 1].token_type in _OPERAND_END
        if kind == TokenType.MOD:
            return self._pyformat(tokens, index)
        if kind == TokenType.PLACEHOLDER and token.text == "?" and not after_operand:
            if _adjacent(tokens, index, TokenType.NUMBER):
                return self._positional(max(int(tokens[index + 1].text) - 1, 0)), 2
            return self._positional(), 1
        if kind == TokenType.COLON and not after_operand and index + 1 < len(tokens):
            following = tokens[index + 1]
            if _adjacent(tokens, index, TokenType.NUMBER) and following.text.isdigit():
                return self._positional(max(int(following.text) - 1, 0)), 2
            if following.start == token.end + 1 and _NAME.match(following.text):
                return following.text, 2
            return None
        if kind == TokenType.PARAMETER and token.text == "$" and _adjacent(tokens, index, TokenType.NUMBER):
            if tokens[index + 1].text.isdigit():
                return self._positional(max(int(tokens[index + 1].text) - 1, 0)), 2
            return None
        if kind == TokenType.VAR and (positional := _POSITIONAL_VAR.match(token.text)):
            return self._positional(max(int(positional.group(1)) - 1, 0)), 1
        if self.sqlite:
            return self._sqlite_named(tokens, index)
        return None

    def _pyformat(self, tokens: list[Token], index: int) -> tuple[PlaceholderKey, int] | None:
        """`%s` (also psycopg 3's `%b`/`%t`) and `%(name)s`."""
        token = tokens[index]
        if _adjacent(tokens, index, TokenType.VAR) and tokens[index + 1].text in ("s", "b", "t"):
            return self._positional(), 2
        named = _PYFORMAT_NAMED.match(self.text, token.start)
        if named is None:
            return None
        length = 1
        while index + length < len(tokens) and tokens[index + length].start < named.end():
            length += 1
        if tokens[index + length - 1].end != named.end() - 1:
            return None  # the match runs into a longer token (`%(k)sx`): not a placeholder
        return named.group(1), length

    def _sqlite_named(self, tokens: list[Token], index: int) -> tuple[PlaceholderKey, int] | None:
        """SQLite also binds `$name` and `@name` (sqlite3 passes them by name without the sigil)."""
        token = tokens[index]
        if token.token_type == TokenType.VAR and (named := _SQLITE_NAMED_VAR.match(token.text)):
            return named.group(1), 1
        if token.token_type == TokenType.PARAMETER and token.text == "@" and index + 1 < len(tokens):
            following = tokens[index + 1]
            if following.start == token.end + 1 and _NAME.match(following.text):
                return following.text, 2
        return None


def _adjacent(tokens: list[Token], index: int, kind: TokenType) -> bool:
    """Whether `tokens[index + 1]` has type `kind` and follows `tokens[index]` with no space between."""
    if index + 1 >= len(tokens) or index < 0:
        return False
    following = tokens[index + 1]
    return following.token_type == kind and following.start == tokens[index].end + 1


# --------------------------------------------------------------------------- statements sqlglot gets wrong


def _words(chunk: _Chunk) -> list[str]:
    """The statement's words in upper case; keywords sqlglot keeps as one token (`LOCK TABLES`) are split."""
    return [word for token in chunk.tokens for word in token.text.upper().split()]


def _control_statement(chunk: _Chunk) -> Statement | None:
    """Transaction control, LOCK TABLE and SET, read from the tokens; None for anything else."""
    words = _words(chunk)
    if not words:
        return None  # a statement of empty literals (`''`, `$$$$`) has tokens but no words
    first, second = words[0], words[1] if len(words) > 1 else ""
    if first == "BEGIN" or (first == "START" and second == "TRANSACTION"):
        immediate = second in ("IMMEDIATE", "EXCLUSIVE")  # SQLite takes the write lock at BEGIN
        return Statement("begin", isolation=_isolation(words), lock="exclusive" if immediate else None)
    if first in ("COMMIT", "END") and (len(words) == 1 or second in ("WORK", "TRANSACTION", "TRAN", "AND")):
        return Statement("commit")
    if first in ("ROLLBACK", "ABORT"):
        if "TO" in words:
            return Statement("savepoint", savepoint=_last_name(chunk), savepoint_action="rollback_to")
        return Statement("rollback")
    if first == "SAVEPOINT" and len(words) > 1:
        return Statement("savepoint", savepoint=_last_name(chunk), savepoint_action="create")
    if first == "RELEASE" and len(words) > 1:
        return Statement("savepoint", savepoint=_last_name(chunk), savepoint_action="release")
    if first == "LOCK" and len(words) > 1:
        return _lock_table(chunk)
    if first == "SET":
        return Statement("set", isolation=_isolation(words), autocommit=_autocommit(chunk))
    return None


def _last_name(chunk: _Chunk) -> str | None:
    """The savepoint name: the last word of `SAVEPOINT s`, `RELEASE [SAVEPOINT] s`, `ROLLBACK TO [SAVEPOINT] s`."""
    return chunk.tokens[-1].text if len(chunk.tokens) > 1 else None


_ISOLATION_LEVELS = ("read uncommitted", "read committed", "repeatable read", "serializable", "snapshot")


def _isolation(words: list[str]) -> str | None:
    """`... ISOLATION LEVEL <level>`, or `SET [default_]transaction_isolation = '<level>'`."""
    for index, word in enumerate(words[:-1]):
        if word == "ISOLATION" and words[index + 1] == "LEVEL":
            level = " ".join(words[index + 2 : index + 4]).lower()
            for known in _ISOLATION_LEVELS:
                if level.startswith(known):
                    return known
    names = {"DEFAULT_TRANSACTION_ISOLATION", "TRANSACTION_ISOLATION", "TX_ISOLATION"}
    if any(word in names for word in words):
        value = words[-1].strip("'\"").lower().replace("-", " ")
        return value if value in _ISOLATION_LEVELS else None
    return None


def _autocommit(chunk: _Chunk) -> bool | None:
    """`SET [SESSION|@@]autocommit = 0|1|ON|OFF` (MySQL)."""
    words = _words(chunk)
    if "AUTOCOMMIT" not in words:
        return None
    value = words[-1].strip("'\"")
    if value in ("1", "ON", "TRUE"):
        return True
    if value in ("0", "OFF", "FALSE"):
        return False
    return None


# PostgreSQL table lock modes that block concurrent row writers (and each other).
_EXCLUSIVE_TABLE_MODES = frozenset({"EXCLUSIVE", "ACCESS EXCLUSIVE", "SHARE ROW EXCLUSIVE"})
_SKIPPED_LOCK_WORDS = frozenset({"TABLE", "TABLES", "ONLY", "*"})


def _lock_table(chunk: _Chunk) -> Statement:
    """PostgreSQL `LOCK [TABLE] [ONLY] t, u [IN <mode> MODE] [NOWAIT]`, MySQL `LOCK TABLES t WRITE, u READ`."""
    tables: list[str] = []
    strengths: list[LockStrength | None] = []
    segment: list[Token] = []
    words = _words(chunk)
    for token in [*chunk.tokens[1:], None]:
        if token is not None and token.token_type != TokenType.COMMA and token.text.upper() not in ("IN", "NOWAIT"):
            segment.append(token)
            continue
        _lock_segment(segment, tables, strengths)
        segment = []
        if token is not None and token.text.upper() in ("IN", "NOWAIT"):
            break
    if "IN" in words:  # PostgreSQL: one mode for every table
        start = words.index("IN") + 1
        end = words.index("MODE") if "MODE" in words else len(words)
        mode = " ".join(words[start:end])
        strength: LockStrength | None = (
            "exclusive" if mode in _EXCLUSIVE_TABLE_MODES else "share" if mode == "SHARE" else None
        )
    elif any(strengths):
        strength = "exclusive" if "exclusive" in strengths else "share"
    else:
        strength = "exclusive"  # PostgreSQL's default mode is ACCESS EXCLUSIVE
    unique = tuple(dict.fromkeys(tables))
    return Statement(
        "lock_table",
        table=unique[0] if unique else None,
        tables=unique,
        lock=strength,
        lock_tables=unique if strength else (),
        lock_wait="nowait" if "NOWAIT" in words else None,
    )


def _lock_segment(segment: list[Token], tables: list[str], strengths: list[LockStrength | None]) -> None:
    """One `name [[AS] alias] [READ [LOCAL] | [LOW_PRIORITY] WRITE]` of a LOCK statement."""
    names = [token for token in segment if token.text.upper() not in _SKIPPED_LOCK_WORDS]
    if not names:
        return
    # A dotted name `schema.t` is VAR DOT VAR: the table is the last part before anything else.
    name_index = 0
    while name_index + 2 < len(names) and names[name_index + 1].token_type == TokenType.DOT:
        name_index += 2
    tables.append(names[name_index].text)
    modes = {token.text.upper() for token in names[name_index + 1 :]}
    strengths.append("exclusive" if "WRITE" in modes else "share" if "READ" in modes else None)


def _replace_into(chunk: _Chunk) -> _Chunk | None:
    """MySQL/SQLite `REPLACE INTO t ...` is `INSERT INTO t ...` that replaces a conflicting row.

    sqlglot parses it only as an opaque command; the same tokens with INSERT
    in front parse as an insert, which is then marked as an upsert.
    """
    tokens = chunk.parse_tokens
    if len(tokens) < 2 or tokens[0].text.upper() != "REPLACE" or tokens[1].text.upper() != "INTO":
        return None
    first = tokens[0]
    insert = Token(TokenType.INSERT, "INSERT", first.line, first.col, first.start, first.end, first.comments)
    return _Chunk(chunk.tokens, [insert, *tokens[1:]], chunk.placeholders)


# --------------------------------------------------------------------------- reading trees

_COMPARISONS: dict[type[exp.Expr], GuardOp] = {
    exp.EQ: "=",
    exp.NullSafeEQ: "=",
    exp.NEQ: "!=",
    exp.GT: ">",
    exp.GTE: ">=",
    exp.LT: "<",
    exp.LTE: "<=",
}
_FLIPPED: dict[GuardOp, GuardOp] = {">": "<", ">=": "<=", "<": ">", "<=": ">="}
_ADVISORY_LOCKS = frozenset(
    {"pg_advisory_xact_lock", "pg_advisory_lock", "pg_try_advisory_xact_lock", "pg_try_advisory_lock", "get_lock"}
)


def _unwrap(node: exp.Expr) -> exp.Expr:
    """Parentheses and casts do not change which value an operand is (`(%s)::int` is still `%s`)."""
    while isinstance(node, (exp.Paren, exp.Cast)) and isinstance(node.this, exp.Expr):
        node = node.this
    return node


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class _TreeReader:
    """Reads the facts of one parsed statement."""

    def __init__(self, root: exp.Expr, keys: dict[str, PlaceholderKey]) -> None:
        while isinstance(root, (exp.Subquery, exp.Paren)) and isinstance(root.this, exp.Expr):
            root = root.this
        self.root = root
        self.keys = keys
        self.ctes: set[str] = set()
        self.aliases: dict[str, str] = {}
        tables: list[exp.Table] = []
        # One walk for all of it; `FOR UPDATE OF a` holds table nodes that name an alias, not a table.
        for node in root.dfs(prune=lambda n: isinstance(n, exp.Lock)):
            if isinstance(node, exp.CTE):
                self.ctes.add(node.alias_or_name)
            elif isinstance(node, exp.Table) and node.name:
                tables.append(node)
                if node.alias:
                    self.aliases[node.alias] = node.name
        # Tree order is not text order (a WITH is attached after the query it prefixes); the
        # identifiers carry their source offsets.
        tables.sort(key=_source_offset)
        self.tables = _dedupe(table.name for table in tables if table.name not in self.ctes)

    def statement(self) -> Statement:
        root = self.root
        if isinstance(root, exp.Select):
            return self._select(root)
        if isinstance(root, exp.Query):  # UNION / INTERSECT / EXCEPT
            return Statement("select", tables=self._tables())
        if isinstance(root, exp.Update):
            return self._update(root)
        if isinstance(root, exp.Insert):
            return self._insert(root)
        if isinstance(root, exp.Delete):
            delete = Statement(
                "delete",
                table=self._table_name(root.this),
                tables=self._tables(),
                returning=bool(root.args.get("returning")),
            )
            return self._where(root, delete)
        if isinstance(root, exp.Transaction):
            return Statement("begin")
        if isinstance(root, exp.Commit):
            return Statement("commit")
        if isinstance(root, exp.Rollback):
            savepoint = root.args.get("savepoint")
            if savepoint is not None:
                return Statement("savepoint", savepoint=savepoint.name, savepoint_action="rollback_to")
            return Statement("rollback")
        if isinstance(root, exp.Set):
            return Statement("set")
        return Statement("other", tables=() if isinstance(root, exp.Command) else self._tables())

    # ---- tables

    def _resolve(self, name: str) -> str:
        return self.aliases.get(name, name)

    def _table_name(self, node: exp.Expr | None) -> str | None:
        """The real table a FROM item / DML target names (None for subqueries and CTE names)."""
        if isinstance(node, exp.Schema):
            node = node.this
        if isinstance(node, exp.Table) and node.name and node.name not in self.ctes:
            return node.name
        return None

    def _tables(self) -> tuple[str, ...]:
        """Every real table the statement mentions (CTE names are not tables)."""
        return self.tables

    def _from_tables(self, select: exp.Select) -> tuple[str, ...]:
        from_ = select.args.get("from_")
        items = [from_.this] if isinstance(from_, exp.From) else []
        for join in select.args.get("joins") or ():
            items.append(join.this)
        return _dedupe(name for item in items if (name := self._table_name(item)))

    # ---- select

    def _select(self, select: exp.Select) -> Statement:
        items = [item.unalias() for item in select.expressions]
        source = select
        if len(items) == 1 and isinstance(items[0], exp.Exists) and not select.args.get("from_"):
            inner = _unwrap(items[0].this)
            while isinstance(inner, exp.Subquery):
                inner = inner.this
            if isinstance(inner, exp.Select):
                source = inner  # `SELECT EXISTS (SELECT 1 FROM t WHERE k = %s)` checks rows of t
        from_tables = self._from_tables(source)
        lock, lock_tables, lock_wait = self._lock(select)
        advisory = [func for item in items for func in self._advisory_calls(item)]
        statement = Statement(
            "select",
            table=from_tables[0] if from_tables else None,
            tables=self._tables(),
            columns=self._select_columns(items),
            lock=lock,
            lock_tables=lock_tables,
            lock_wait=lock_wait,
            aggregate=any(self._is_aggregate(item) for item in items),
            advisory_lock=bool(advisory),
            advisory_keys=tuple(self.operand(arg) for func in advisory for arg in func.expressions),
        )
        return self._where(source, statement)

    def _select_columns(self, items: list[exp.Expr]) -> tuple[str, ...]:
        names: list[str] = []
        for item in items:
            if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
                names.append("*")
                continue
            for node in item.dfs(prune=lambda n: isinstance(n, exp.Query)):
                if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star) and node.name:
                    names.append(node.name)
        return _dedupe(names)

    @staticmethod
    def _is_aggregate(item: exp.Expr) -> bool:
        return any(
            isinstance(node, (exp.AggFunc, exp.Exists))
            for node in item.dfs(prune=lambda n: isinstance(n, exp.Query))
        )

    @staticmethod
    def _advisory_calls(item: exp.Expr) -> list[exp.Anonymous]:
        return [
            node
            for node in item.dfs(prune=lambda n: isinstance(n, exp.Query))
            if isinstance(node, exp.Anonymous) and node.name.lower() in _ADVISORY_LOCKS
        ]

    def _lock(self, select: exp.Select) -> tuple[LockStrength | None, tuple[str, ...], LockWait | None]:
        """The outer query's locking clauses only: a lock in a subquery locks rows this query does not return."""
        locks = [lock for lock in select.args.get("locks") or () if isinstance(lock, exp.Lock)]
        if not locks:
            return None, (), None
        strength: LockStrength = "exclusive" if any(lock.args.get("update") for lock in locks) else "share"
        named: list[str] = []
        every_from_table = False
        wait: LockWait | None = None
        for lock in locks:
            targets = [self._resolve(target.name) for target in lock.expressions if target.name]
            named.extend(targets)
            every_from_table = every_from_table or not targets
            setting = lock.args.get("wait")
            if setting is True:
                wait = "nowait"
            elif setting is False:
                wait = "skip locked"
            elif isinstance(setting, exp.Expr):
                wait = "wait"
        tables = named + list(self._from_tables(select) if every_from_table else ())
        return strength, _dedupe(tables), wait

    # ---- update, insert

    def _update(self, update: exp.Update) -> Statement:
        assignments = tuple(a for eq in update.expressions if (a := self._assignment(eq)) is not None)
        statement = Statement(
            "update",
            table=self._table_name(update.this),
            tables=self._tables(),
            assignments=assignments,
            returning=bool(update.args.get("returning")),
        )
        return self._where(update, statement)

    def _insert(self, insert: exp.Insert) -> Statement:
        target = insert.this
        columns: tuple[str, ...] = ()
        if isinstance(target, exp.Schema):
            columns = tuple(column.name for column in target.expressions if column.name)
        conflict = insert.args.get("conflict")
        action = conflict.args.get("action") if isinstance(conflict, exp.OnConflict) else None
        action_text = action.name.upper() if isinstance(action, exp.Expr) else ""
        alternative = str(insert.args.get("alternative") or "").upper()
        nothing = bool(insert.args.get("ignore")) or alternative == "IGNORE" or action_text == "DO NOTHING"
        upsert = alternative == "REPLACE" or (
            isinstance(conflict, exp.OnConflict) and (bool(conflict.args.get("duplicate")) or "UPDATE" in action_text)
        )
        conflict_columns: tuple[str, ...] = ()
        conflict_assignments: tuple[Assignment, ...] = ()
        if isinstance(conflict, exp.OnConflict):
            keys = conflict.args.get("conflict_keys") or ()
            conflict_columns = _dedupe(col.name for key in keys for col in key.find_all(exp.Column) if col.name)
            conflict_assignments = tuple(
                a for eq in conflict.expressions if (a := self._assignment(eq)) is not None
            )
        return Statement(
            "insert",
            table=self._table_name(target),
            tables=self._tables(),
            columns=columns,
            assignments=self._insert_values(insert, columns),
            on_conflict_nothing=nothing,
            upsert=upsert and not nothing,
            conflict_columns=conflict_columns,
            conflict_assignments=conflict_assignments,
            returning=bool(insert.args.get("returning")),
        )

    def _insert_values(self, insert: exp.Insert, columns: tuple[str, ...]) -> tuple[Assignment, ...]:
        """`column = value` pairs of a single-row `VALUES`; several rows or a SELECT give none."""
        values = insert.args.get("expression")
        if not isinstance(values, exp.Values) or len(values.expressions) != 1 or not columns:
            return ()
        row = values.expressions[0]
        cells = row.expressions if isinstance(row, exp.Tuple) else [row]
        if len(cells) != len(columns):
            return ()
        return tuple(Assignment(column, self.operand(cell)) for column, cell in zip(columns, cells))

    def _assignment(self, node: exp.Expr) -> Assignment | None:
        if not isinstance(node, exp.EQ) or not isinstance(node.this, exp.Column):
            return None
        column = node.this.name
        value = node.expression
        return Assignment(column, self.operand(value), self._delta(column, value))

    def _delta(self, column: str, value: exp.Expr) -> Delta | None:
        """`c - x`, `c + x`, `x + c` (also `COALESCE(c, 0) - x`) on the assigned column itself."""
        value = _unwrap(value)
        if isinstance(value, exp.Sub) and self._is_own_column(value.this, column):
            return Delta(column, "-", self.operand(value.expression))
        if isinstance(value, exp.Add):
            if self._is_own_column(value.this, column):
                return Delta(column, "+", self.operand(value.expression))
            if self._is_own_column(value.expression, column):
                return Delta(column, "+", self.operand(value.this))
        return None

    @staticmethod
    def _is_own_column(node: exp.Expr, column: str) -> bool:
        node = _unwrap(node)
        if isinstance(node, exp.Coalesce):
            node = _unwrap(node.this)
        # `excluded.c` / `VALUES(c)` in an upsert is the proposed row, not the stored value.
        return isinstance(node, exp.Column) and node.name == column and node.table.lower() != "excluded"

    # ---- WHERE

    def _where(self, node: exp.Expr, statement: Statement) -> Statement:
        where = node.args.get("where")
        if not isinstance(where, exp.Where):
            return statement
        guards: list[Guard] = []
        opaque = False
        for conjunct in _conjuncts(where.this):
            found = self._guards(conjunct)
            if found is None:
                opaque = True
            else:
                guards.extend(found)
        return dataclasses.replace(statement, guards=tuple(guards), where_opaque=opaque)

    def _guards(self, node: exp.Expr) -> list[Guard] | None:
        """The guards one conjunct stands for, or None when it is not of a recognised shape."""
        node = _unwrap(node)
        op = _COMPARISONS.get(type(node))
        if op is not None and isinstance(node, exp.Binary):
            left, right = _unwrap(node.this), _unwrap(node.expression)
            if isinstance(left, exp.Column):
                return [self._guard(left, op, right)]
            if isinstance(right, exp.Column):
                return [self._guard(right, _FLIPPED.get(op, op), left)]
            return None
        if isinstance(node, exp.Is) and isinstance(_unwrap(node.this), exp.Column):
            return self._is_guard(node)
        if isinstance(node, exp.In) and isinstance(_unwrap(node.this), exp.Column) and not node.args.get("unnest"):
            return [self._in_guard(node)]
        if isinstance(node, exp.Between) and isinstance(_unwrap(node.this), exp.Column):
            column = _unwrap(node.this)
            return [self._guard(column, ">=", node.args["low"]), self._guard(column, "<=", node.args["high"])]
        if isinstance(node, exp.Column):  # `WHERE is_active`
            return [self._guard(node, "=", exp.Boolean(this=True))]
        if isinstance(node, exp.Not) and isinstance(_unwrap(node.this), exp.Column):
            return [self._guard(_unwrap(node.this), "=", exp.Boolean(this=False))]
        return None

    def _is_guard(self, node: exp.Is) -> list[Guard] | None:
        column, value = _unwrap(node.this), _unwrap(node.expression)
        negated = bool(node.args.get("negate"))
        if isinstance(value, exp.Null):
            return [self._guard(column, "is not null" if negated else "is null", value)]
        if isinstance(value, exp.Boolean) and not negated:
            return [self._guard(column, "=", value)]
        return None

    def _in_guard(self, node: exp.In) -> Guard:
        """`c IN (x)` compares with x; `c IN (x, y)`, `c IN (SELECT ...)`, psycopg2's `c IN %s` with a list."""
        column = _unwrap(node.this)
        parts = list(node.expressions) or [
            arg for arg in (node.args.get("query"), node.args.get("field")) if isinstance(arg, exp.Expr)
        ]
        operand = self.operand(parts[0]) if len(parts) == 1 else self._expression_operand(parts)
        return Guard(column.name, "in", operand, self._qualifier(column))

    def _guard(self, column: exp.Expr, op: GuardOp, value: exp.Expr) -> Guard:
        return Guard(column.name, op, self.operand(value), self._qualifier(column))

    def _qualifier(self, column: exp.Expr) -> str | None:
        table = column.table if isinstance(column, exp.Column) else ""
        return self._resolve(table) if table else None

    # ---- operands

    def operand(self, node: exp.Expr) -> Operand:
        node = _unwrap(node)
        if isinstance(node, exp.Placeholder):
            key = self.keys.get(node.name) if node.name else None
            if key is not None:
                return Operand("placeholder", placeholder=key, placeholders=(key,))
            if node.name and not node.name.startswith(_SYNTHETIC):  # a style the renamer left alone
                return Operand("placeholder", placeholder=node.name, placeholders=(node.name,))
            return Operand("expression")
        if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
            return Operand("column", column=node.name, columns=(node.name,))
        if isinstance(node, exp.Null):
            return Operand("null")
        literal = _literal(node)
        if literal is not None:
            return Operand("literal", literal=literal)
        return self._expression_operand([node])

    def _expression_operand(self, nodes: Sequence[exp.Expr]) -> Operand:
        placeholders: list[PlaceholderKey] = []
        columns: list[str] = []
        for root in nodes:
            for node in root.dfs():
                if isinstance(node, exp.Placeholder) and node.name:
                    placeholders.append(self.keys.get(node.name, node.name))
                elif isinstance(node, exp.Column) and node.name:
                    columns.append(node.name)
        return Operand(
            "expression", placeholders=tuple(dict.fromkeys(placeholders)), columns=_dedupe(columns)
        )


def _source_offset(table: exp.Table) -> int:
    start = table.this.meta.get("start") if isinstance(table.this, exp.Expr) else None
    return start if isinstance(start, int) else 0


def _conjuncts(node: exp.Expr) -> list[exp.Expr]:
    """The top-level AND conjuncts of a condition, through parentheses (iteratively: WHEREs can be long)."""
    out: list[exp.Expr] = []
    stack = [node]
    while stack:
        current = _unwrap(stack.pop())
        if isinstance(current, exp.And):
            stack.append(current.expression)
            stack.append(current.this)
        else:
            out.append(current)
    return out


def _literal(node: exp.Expr) -> float | str | bool | None:
    negative = False
    if isinstance(node, exp.Neg):
        negative, node = True, _unwrap(node.this)
    if isinstance(node, exp.Boolean) and not negative:
        return bool(node.this)
    if not isinstance(node, exp.Literal):
        return None
    if node.is_string:
        return None if negative else str(node.this)
    try:
        number = float(str(node.this))
    except ValueError:
        return None
    return -number if negative else number


# --------------------------------------------------------------------------- DDL

_UNSIGNED_TYPES = frozenset(
    {"UTINYINT", "USMALLINT", "UMEDIUMINT", "UINT", "UBIGINT", "UINT128", "UINT256", "UDECIMAL", "UDOUBLE"}
)


@dataclasses.dataclass
class _TableFacts:
    columns: list[str] = dataclasses.field(default_factory=list)
    unique: list[tuple[str, ...]] = dataclasses.field(default_factory=list)
    non_negative: list[str] = dataclasses.field(default_factory=list)


class _SchemaBuilder:
    """Collects DDL facts per table across the statements of a text."""

    def __init__(self) -> None:
        self.tables: dict[str, _TableFacts] = {}

    def schemas(self) -> tuple[TableSchema, ...]:
        return tuple(
            TableSchema(
                name,
                unique_columns=tuple(dict.fromkeys(facts.unique)),
                non_negative=_dedupe(facts.non_negative),
                columns=_dedupe(facts.columns),
            )
            for name, facts in self.tables.items()
        )

    def _facts(self, name: str) -> _TableFacts:
        return self.tables.setdefault(name, _TableFacts())

    def add(self, tree: exp.Expr) -> None:
        if isinstance(tree, exp.Create):
            self._create(tree)
        elif isinstance(tree, exp.Alter) and isinstance(tree.this, exp.Table) and tree.this.name:
            facts = self._facts(tree.this.name)
            for action in tree.args.get("actions") or ():
                items = action.expressions if isinstance(action, exp.AddConstraint) else [action]
                for item in items:
                    self._schema_item(facts, item)

    def _create(self, create: exp.Create) -> None:
        target = create.this
        kind = str(create.args.get("kind") or "").upper()
        if kind == "TABLE" and isinstance(target, exp.Schema) and isinstance(target.this, exp.Table):
            facts = self._facts(target.this.name)
            for item in target.expressions:
                self._schema_item(facts, item)
        elif kind == "INDEX" and create.args.get("unique") and isinstance(target, exp.Index):
            table = target.args.get("table")
            params = target.args.get("params")
            if isinstance(table, exp.Table) and table.name and isinstance(params, exp.IndexParameters):
                columns = [_columns_of(column) for column in params.args.get("columns") or ()]
                if columns and all(len(names) == 1 for names in columns):
                    self._facts(table.name).unique.append(tuple(names[0] for names in columns))

    def _schema_item(self, facts: _TableFacts, item: exp.Expr) -> None:
        """A column definition or a table constraint inside CREATE TABLE / ALTER TABLE ... ADD."""
        if isinstance(item, exp.ColumnDef):
            self._column(facts, item)
        elif isinstance(item, exp.Constraint):
            for inner in item.expressions:
                self._schema_item(facts, inner)
        elif isinstance(item, (exp.PrimaryKey, exp.UniqueColumnConstraint)):
            columns = _constraint_columns(item)
            if columns:
                facts.unique.append(columns)
        elif isinstance(item, exp.CheckColumnConstraint):
            facts.non_negative.extend(_non_negative(item.this))

    def _column(self, facts: _TableFacts, column: exp.ColumnDef) -> None:
        name = column.name
        if not name:
            return
        facts.columns.append(name)
        kind = column.args.get("kind")
        if isinstance(kind, exp.DataType) and kind.this.name in _UNSIGNED_TYPES:
            facts.non_negative.append(name)
        for constraint in column.args.get("constraints") or ():
            what = constraint.args.get("kind") if isinstance(constraint, exp.ColumnConstraint) else constraint
            if isinstance(what, (exp.PrimaryKeyColumnConstraint, exp.UniqueColumnConstraint)):
                facts.unique.append((name,))
            elif isinstance(what, exp.CheckColumnConstraint):
                facts.non_negative.extend(_non_negative(what.this))


def _constraint_columns(item: exp.Expr) -> tuple[str, ...]:
    """The columns of `PRIMARY KEY (a, b)` / `UNIQUE (a, b)` / MySQL `UNIQUE KEY name (a, b)`."""
    holder = item.this if isinstance(item, exp.UniqueColumnConstraint) else item
    parts = holder.expressions if isinstance(holder, exp.Expr) else []
    names: list[str] = []
    for part in parts:
        found = _columns_of(part)
        if len(found) != 1:
            return ()
        names.append(found[0])
    return tuple(names)


def _columns_of(node: exp.Expr) -> tuple[str, ...]:
    """Column names an index or key item uses: `a`, `a DESC`, `lower(a)` all give `a`."""
    if isinstance(node, exp.Identifier):
        return (node.name,)
    return _dedupe(column.name for column in node.find_all(exp.Column) if column.name)


def _non_negative(condition: exp.Expr | None) -> list[str]:
    """Columns a CHECK condition bounds below by a literal >= 0 (`c >= 0`, `c > 0`, `0 <= c`, `c BETWEEN 0 AND n`)."""
    if not isinstance(condition, exp.Expr):
        return []
    names: list[str] = []
    for conjunct in _conjuncts(condition):
        column: exp.Expr | None = None
        bound: float | str | bool | None = None
        if isinstance(conjunct, (exp.GTE, exp.GT)):
            column, bound = _unwrap(conjunct.this), _literal(_unwrap(conjunct.expression))
        elif isinstance(conjunct, (exp.LTE, exp.LT)):
            column, bound = _unwrap(conjunct.expression), _literal(_unwrap(conjunct.this))
        elif isinstance(conjunct, exp.Between):
            column, bound = _unwrap(conjunct.this), _literal(_unwrap(conjunct.args["low"]))
        if isinstance(column, exp.Column) and isinstance(bound, float) and bound >= 0:
            names.append(column.name)
    return names
