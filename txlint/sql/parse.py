"""SQL text to statement facts: the entry points of the SQL half.

How a text becomes facts:
1. `tokens`: sqlglot's tokenizer splits the text once for the dialect, and
   the tokens are cut into statements at `;`.
2. `placeholders`: every DB-API placeholder style is renamed to one sqlglot
   parses, keeping the driver's key.
3. `control`: transaction control, `LOCK TABLE` and `SET` are read from the
   tokens (sqlglot parses some of these into the wrong tree or not at all).
4. Everything else is parsed by sqlglot, statement by statement, and read by
   `reader` into a `Statement`, so one bad statement of a script does not
   hide the others.

sqlglot's internals move between major versions (v30 split `expressions.py`
into a package), so every use of it stays inside `txlint.sql` and the major
version is pinned in `pyproject.toml`.
"""

from __future__ import annotations

import dataclasses
import functools
import re

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError

from txlint.sql.client import Directive, read_client_script
from txlint.sql.control import control_statement, replace_into, without_variable_targets
from txlint.sql.ddl import SchemaBuilder
from txlint.sql.facts import SqlError, Statement, TableSchema
from txlint.sql.placeholders import PlaceholderRenamer
from txlint.sql.reader import StatementReader
from txlint.sql.routine_facts import Routine
from txlint.sql.routines import RoutineReader
from txlint.sql.tokens import INTERNAL_ERROR, Chunk, Lines, quiet_sqlglot, split, statement_text, tokenize

# Texts longer than this are parsed without caching: 4096 cached megabyte
# scripts would hold gigabytes, and big scripts are parsed once per run anyway.
_CACHE_TEXT_LIMIT = 64 * 1024
# Statements txlint does not analyse beyond the schema they declare.
_UNANALYSED_COMMANDS = frozenset({
    "CREATE", "ALTER", "DROP", "COMMENT", "GRANT", "REVOKE", "DO", "REINDEX", "CLUSTER", "SECURITY",
    # PostgreSQL utility statements that touch no rows (cursor moves, notifications, session resets)
    "MOVE", "CLOSE", "LISTEN", "NOTIFY", "UNLISTEN", "DISCARD", "LOAD", "CHECKPOINT", "DEALLOCATE", "REASSIGN",
    "IMPORT", "REFRESH",
})  # fmt: skip
# Statements that may create a stored routine or run an anonymous block.
_ROUTINE_STARTS = frozenset({"CREATE", "DO"})
# sqlglot puts a token's repr into some messages ("Expected table name but got <Token ...>").
_TOKEN_REPR = re.compile(r"<Token token_type: [^,]*, text: (.*?), line: \d+, col: \d+, start: \d+, end: \d+, comments: .*?>")


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
    >>> update.sets[0].change.sign, update.sets[0].change.amount.placeholder
    ('-', 0)
    >>> [(p.column, p.op, p.operand.placeholder) for p in update.predicates]
    [('id', '=', 1), ('balance', '>=', 2)]
    """
    statements: list[Statement] = []
    for result in parse_script(text, dialect):
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

    >>> [getattr(r, "kind", "error") for r in parse_script("BEGIN;\\nSELEC 1;\\nCOMMIT;", "sqlite")]
    ['begin', 'error', 'commit']
    """
    if len(text) > _CACHE_TEXT_LIMIT:
        return _parse_script(text, dialect)
    return _parse_script_cached(text, dialect)


@dataclasses.dataclass(frozen=True)
class ScriptFile:
    """A `.sql` file's statements (or errors, in place) and the client commands between them."""

    items: tuple[Statement | SqlError, ...]
    directives: tuple[Directive, ...] = ()


def parse_file(text: str, dialect: str) -> ScriptFile:
    """Parse a `.sql` file as its client program runs it (see `client`): psql meta-commands, `COPY
    ... FROM STDIN` data, MySQL `DELIMITER` lines and sqlite3 dot-commands are not SQL, and keep
    the other statements at their lines. Otherwise as `parse_script`.

    >>> [getattr(i, "kind", "error") for i in parse_file("\\set ON_ERROR_STOP on\nBEGIN;\nCOMMIT;", "postgres").items]
    ['begin', 'commit']
    """
    if len(text) > _CACHE_TEXT_LIMIT:
        return _parse_file(text, dialect)
    return _parse_file_cached(text, dialect)


def table_schemas(text: str, dialect: str, *, client: bool = False) -> tuple[TableSchema, ...]:
    """Unique keys, non-negative columns and column names that DDL declares, one entry per table.

    Statements that do not parse are skipped (a migration with one exotic
    statement still yields the rest); a tokenizer error yields nothing.
    Never raises.

    >>> (accounts,) = table_schemas(
    ...     "CREATE TABLE accounts (id int PRIMARY KEY, balance int CHECK (balance >= 0))", "postgres")
    >>> accounts.unique_columns, accounts.non_negative
    ((('id',),), ('balance',))
    """
    if len(text) > _CACHE_TEXT_LIMIT:
        return _table_schemas(text, dialect, client)
    return _table_schemas_cached(text, dialect, client)


@functools.lru_cache(maxsize=4096)
def _parse_script_cached(text: str, dialect: str) -> tuple[Statement | SqlError, ...]:
    return _parse_script(text, dialect)


@functools.lru_cache(maxsize=4096)
def _table_schemas_cached(text: str, dialect: str, client: bool) -> tuple[TableSchema, ...]:
    return _table_schemas(text, dialect, client)


@functools.lru_cache(maxsize=256)
def _parse_file_cached(text: str, dialect: str) -> ScriptFile:
    return _parse_file(text, dialect)


def _parse_file(text: str, dialect: str) -> ScriptFile:
    try:
        client = read_client_script(text, dialect)
    except Exception as error:  # noqa: BLE001 - never raise on input: a bug here must cost one file, not the run
        return ScriptFile((SqlError(f"{INTERNAL_ERROR}: {type(error).__name__}: {error}"),))
    return ScriptFile(_parse_script(client.text, dialect, client.ends), client.directives)


def _parse_script(text: str, dialect: str, ends: frozenset[int] = frozenset()) -> tuple[Statement | SqlError, ...]:
    try:
        script = _Script.read(text, dialect, ends)
    except RecursionError:
        return (SqlError("text too deeply nested to parse"),)
    except Exception as error:  # noqa: BLE001 - never raise on input: a bug here must cost one file, not the run
        return (SqlError(f"{INTERNAL_ERROR}: {type(error).__name__}: {error}"),)
    if isinstance(script, SqlError):
        return (script,)
    return tuple(script.statement(chunk) for chunk in script.chunks)


def _table_schemas(text: str, dialect: str, client: bool = False) -> tuple[TableSchema, ...]:
    try:
        ends: frozenset[int] = frozenset()
        if client:
            read = read_client_script(text, dialect)
            text, ends = read.text, read.ends
        script = _Script.read(text, dialect, ends)
        if isinstance(script, SqlError):
            return ()
        builder = SchemaBuilder()
        for chunk in script.chunks:
            tree = script.parse(chunk)
            if not isinstance(tree, SqlError):
                builder.add(tree)
        return builder.schemas()
    except Exception:  # noqa: BLE001 - RecursionError included; never raise on input: no schema facts is a safe answer
        return ()


class _Script:
    """A tokenized text cut into statements, with the placeholder names of the whole text."""

    def __init__(self, text: str, dialect: Dialect, tokens: list[sqlglot.Token], ends: frozenset[int] = frozenset()) -> None:
        self.text = text
        self.dialect = dialect
        self.lines = Lines(text)
        self.renamer = PlaceholderRenamer(text, dialect)
        self.chunks = [self.renamer.chunk(tokens) for tokens in split(tokens, ends)]
        self.routines = RoutineReader(text, self.lines, lambda body: tokenize(body, dialect), self._body_statement)

    @classmethod
    def read(cls, text: str, dialect_name: str, ends: frozenset[int] = frozenset()) -> _Script | SqlError:
        try:
            dialect = Dialect.get_or_raise(dialect_name)
        except Exception:  # noqa: BLE001 - sqlglot raises ValueError for an unknown name, other errors for odd input
            return SqlError(f"unknown SQL dialect {dialect_name!r}")
        tokens = tokenize(text, dialect)
        if isinstance(tokens, SqlError):
            return tokens
        return cls(text, dialect, tokens, ends)

    def parse(self, chunk: Chunk) -> exp.Expr | SqlError:
        """sqlglot's tree of one statement, or why it has none."""
        try:
            with quiet_sqlglot():
                trees = self.dialect.parser().parse(chunk.parse_tokens, self.text)
        except ParseError as error:
            return self._parse_error(error, chunk)
        except RecursionError:
            return self._error_at("statement too deeply nested to parse", chunk.tokens[0].start)
        except Exception as error:  # noqa: BLE001 - a bug in sqlglot on odd input must not stop the run
            return self._error_at(f"{INTERNAL_ERROR}: {type(error).__name__}: {error}", chunk.tokens[0].start)
        tree = trees[0] if trees else None
        if tree is None:
            return self._error_at("empty statement", chunk.tokens[0].start)
        return tree

    def statement(self, chunk: Chunk) -> Statement | SqlError:
        """The facts of one statement, placed at its lines and text; never raises."""
        try:
            return self._statement(chunk)
        except RecursionError:
            return self._error_at("statement too deeply nested to analyse", chunk.tokens[0].start)
        except Exception as error:  # noqa: BLE001 - a bug in reading one statement must cost that statement only
            return self._error_at(f"{INTERNAL_ERROR}: {type(error).__name__}: {error}", chunk.tokens[0].start)

    def _statement(self, chunk: Chunk) -> Statement | SqlError:
        statement = control_statement(chunk)
        replaced = replace_into(chunk)
        command = chunk.tokens[0].token_type in self.dialect.tokenizer_class.COMMANDS
        if statement is None and replaced is None and command:
            statement = Statement("other")  # CALL, EXPLAIN, VACUUM ...: sqlglot keeps these as opaque text
        if statement is None:
            tree = self.parse(replaced or without_variable_targets(chunk) or chunk)
            if isinstance(tree, SqlError):
                # DDL and utility statements are read only for the schema index; one that sqlglot
                # cannot read (PL/pgSQL function options, COMMENT ON with joined strings, ...) is
                # most often valid SQL of a dialect sqlglot covers partly, so it is not reported.
                if chunk.tokens[0].text.upper() not in _UNANALYSED_COMMANDS:
                    return tree
                statement = Statement("other")
            else:
                statement = StatementReader(tree, self.renamer.keys).statement()
                if replaced is not None:
                    statement = dataclasses.replace(statement, upsert=True)
        first, last = chunk.tokens[0], chunk.tokens[-1]
        return dataclasses.replace(
            statement,
            text=statement_text(self.text, chunk.tokens),
            line=self.lines.line(first.start),
            end_line=self.lines.line(last.end),
            placeholders=chunk.placeholders,
            routine=self._routine(chunk) if first.text.upper() in _ROUTINE_STARTS else None,
        )

    def _routine(self, chunk: Chunk) -> Routine | None:
        """The stored routine a CREATE or DO makes; None when it makes none, or when reading it fails."""
        try:
            return self.routines.routine(chunk.tokens)
        except Exception:  # noqa: BLE001 - RecursionError included: a body not read is silence, never a crash
            return None

    def _body_statement(self, tokens: list[sqlglot.Token], parse_tokens: list[sqlglot.Token]) -> Statement | SqlError:
        """One SQL statement of a routine body: `tokens` as written, `parse_tokens` with its variables as placeholders."""
        renamed = self.renamer.chunk(parse_tokens)
        return self.statement(Chunk(tokens, renamed.parse_tokens, renamed.placeholders))

    def _parse_error(self, error: ParseError, chunk: Chunk) -> SqlError:
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
