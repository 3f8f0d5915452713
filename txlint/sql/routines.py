"""Stored routines: which routine a `CREATE ...` or `DO` statement makes, and where its body is.

Read from the statement's tokens (sqlglot parses few routine headers, and no
procedural bodies):

- PostgreSQL `CREATE [OR REPLACE] FUNCTION|PROCEDURE name (params) ...
  LANGUAGE plpgsql|sql AS $$ body $$` (any `$tag$`), `BEGIN ATOMIC ... END`
  bodies, and `DO [LANGUAGE plpgsql] $$ body $$`. A body in a single-quoted
  string, or in another language, is not read.
- MySQL/MariaDB `CREATE [DEFINER = ...] PROCEDURE|FUNCTION name (params) ...
  [label:] BEGIN ... END`, `CREATE EVENT ... DO BEGIN ... END`, and
  `CREATE TRIGGER ... FOR EACH ROW BEGIN ... END` (also SQLite's).

Triggers are recognised (so their bodies are not cut at their `;`) but not
read: a trigger body runs inside the statement that fired it, on rows that
statement has already locked or written, and which statement that is, is
written elsewhere. Function names in `RETURNS trigger` count as triggers too.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import Token, TokenType

from txlint.sql.facts import SqlError, Statement
from txlint.sql.routine_body import BodyReader
from txlint.sql.routine_facts import Routine, RoutineKind
from txlint.sql.tokens import Lines, routine_keyword

SqlReader = Callable[[list[Token], list[Token]], Statement | SqlError]
Tokenizer = Callable[[str], list[Token] | SqlError]

_KINDS: dict[str, RoutineKind] = {"FUNCTION": "function", "PROCEDURE": "procedure", "TRIGGER": "trigger", "EVENT": "event"}
_PARAMETER_MODES = frozenset({"IN", "OUT", "INOUT", "VARIADIC"})
# A PostgreSQL parameter without a name can still be two words: `double precision`, `character varying`.
_TYPE_FIRST_WORDS = frozenset({"double", "character", "char", "bit", "timestamp", "time", "interval", "national", "varchar", "setof"})
_DOLLAR_TAG = re.compile(r"\$[^$]*\$")
# A body none of whose words writes or locks rows can give no finding: it is not read (as the
# Python front-end reads only functions that mention an operation).
_RELEVANT = re.compile(r"\b(?:update|insert|delete|merge|replace|upsert|share|lock)\b", re.IGNORECASE)


class RoutineReader:
    """Reads the routine a statement's tokens create, with the body's statements parsed by `read_sql`."""

    def __init__(self, text: str, lines: Lines, tokenize: Tokenizer, read_sql: SqlReader) -> None:
        self.text = text
        self.lines = lines
        self.tokenize = tokenize
        self.read_sql = read_sql

    def routine(self, tokens: list[Token]) -> Routine | None:
        words = [_word(token) for token in tokens]
        if words and words[0] == "DO":
            return self._do_block(tokens, words)
        if not words or words[0] != "CREATE":
            return None
        position = routine_keyword(tokens)
        if position is None:
            return None
        kind = _KINDS[words[position]]
        if kind == "event" and words[position + 1 : position + 2] == ["TRIGGER"]:
            kind = "trigger"  # PostgreSQL `CREATE EVENT TRIGGER name ON ddl_command_end EXECUTE FUNCTION f()`
        line, end_line = self.lines.line(tokens[0].start), self.lines.line(tokens[-1].end)
        if kind == "trigger":
            return Routine("trigger", _name_after(tokens, position), "other", line=line, end_line=end_line)
        if kind == "event":
            params: tuple[str, ...] = ()
            name = _name_after(tokens, position)
        else:
            name, params = _signature(tokens, position)
        returns = words.index("RETURNS") if "RETURNS" in words else -1
        if 0 <= returns < len(words) - 1 and words[returns + 1] in ("TRIGGER", "EVENT_TRIGGER"):
            return Routine("trigger", name, "other", params, line=line, end_line=end_line)
        routine = Routine(kind, name, "other", params, line=line, end_line=end_line)
        return self._with_body(routine, tokens, words, position)

    def _do_block(self, tokens: list[Token], words: list[str]) -> Routine:
        line, end_line = self.lines.line(tokens[0].start), self.lines.line(tokens[-1].end)
        routine = Routine("do", "DO", "other", line=line, end_line=end_line)
        language = _language(tokens, words) or "plpgsql"
        body = next((t for t in tokens[1:] if t.token_type == TokenType.HEREDOC_STRING), None)
        if language != "plpgsql" or body is None or not _RELEVANT.search(self.text, body.start, body.end + 1):
            return routine
        return self._read(routine, "plpgsql", self._dollar_body(body))

    def _with_body(self, routine: Routine, tokens: list[Token], words: list[str], position: int) -> Routine:
        if not _RELEVANT.search(self.text, tokens[position].end, tokens[-1].end + 1):
            return routine
        body_start = _body_begin(tokens, words, position)
        language = _language(tokens, words)
        if body_start is not None and words[body_start + 1 : body_start + 2] == ["ATOMIC"]:
            inner = tokens[body_start + 2 : _last_end(words)]
            return self._read(routine, "sql", inner)
        if body_start is not None and language in (None, "sql"):
            labelled = body_start >= 2 and tokens[body_start - 1].token_type == TokenType.COLON
            return self._read(routine, "psm", tokens[body_start - 2 if labelled else body_start :])  # `label: BEGIN ... END label`
        quoted = next((t for t in tokens[position:] if t.token_type == TokenType.HEREDOC_STRING), None)
        if quoted is None or language not in ("plpgsql", "sql"):
            return routine
        return self._read(routine, language, self._dollar_body(quoted))

    def _dollar_body(self, token: Token) -> list[Token] | None:
        """The tokens of a `$tag$ ... $tag$` body, at their places in the file."""
        tag = _DOLLAR_TAG.match(self.text, token.start)
        if tag is None:
            return None
        start = tag.end()
        end = token.end + 1 - len(tag.group())
        inner = self.tokenize(self.text[start:end])
        if isinstance(inner, SqlError):
            return None
        return [
            Token(t.token_type, t.text, self.lines.line(t.end + start), self.lines.column(t.end + start), t.start + start, t.end + start, t.comments)
            for t in inner
        ]

    def _read(self, routine: Routine, grammar: str, tokens: list[Token] | None) -> Routine:
        if tokens is None:
            return routine
        reader = BodyReader(tokens, grammar, routine.params, self.read_sql, self.lines)
        body = reader.read()
        return Routine(routine.kind, routine.name, grammar if body is not None else "other", routine.params, body, routine.line, routine.end_line)  # type: ignore[arg-type]


def _word(token: Token) -> str:
    """The token as an upper-case keyword, or "" for strings and quoted names."""
    if token.token_type in (TokenType.STRING, TokenType.IDENTIFIER, TokenType.HEREDOC_STRING):
        return ""
    return token.text.upper()


def _name_after(tokens: list[Token], position: int) -> str:
    """The routine's name: the last part of the (dotted) name after the kind keyword."""
    name = ""
    index = position + 1
    while index < len(tokens) and _word(tokens[index]) in ("IF", "NOT", "EXISTS"):
        index += 1
    while index < len(tokens):
        token = tokens[index]
        if token.token_type == TokenType.L_PAREN or not (token.token_type == TokenType.IDENTIFIER or token.text.isidentifier()):
            break
        name = token.text
        if index + 2 < len(tokens) and tokens[index + 1].token_type == TokenType.DOT:
            index += 2
            continue
        break
    return name


def _signature(tokens: list[Token], position: int) -> tuple[str, tuple[str, ...]]:
    """The name and the parameter names of `name (p1 type, IN p2 type, ...)`."""
    name = _name_after(tokens, position)
    open_index = next((i for i in range(position + 1, len(tokens)) if tokens[i].token_type == TokenType.L_PAREN), None)
    if open_index is None:
        return name, ()
    params: list[str] = []
    depth, part = 0, list[Token]()
    for token in tokens[open_index + 1 :]:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            if depth == 0:
                break
            depth -= 1
        if depth == 0 and token.token_type == TokenType.COMMA:
            params.append(_parameter_name(part))
            part = []
            continue
        part.append(token)
    if part:
        params.append(_parameter_name(part))
    return name, tuple(params)


def _parameter_name(part: list[Token]) -> str:
    """`[IN|OUT|INOUT|VARIADIC] [name] type [DEFAULT x]`: the name, or "" for an unnamed parameter."""
    while part and _word(part[0]) in _PARAMETER_MODES:
        part = part[1:]
    if len(part) < 2 or part[1].token_type in (TokenType.L_PAREN, TokenType.DOT, TokenType.EQ, TokenType.L_BRACKET):
        return ""
    if part[0].text.lower() in _TYPE_FIRST_WORDS or _word(part[1]) in ("DEFAULT",):
        return ""
    return part[0].text.lower()


def _language(tokens: list[Token], words: list[str]) -> str | None:
    for index, word in enumerate(words[:-1]):
        if word == "LANGUAGE":
            written = tokens[index + 1].text.lower().split()  # `LANGUAGE sql SECURITY DEFINER`: one token `SQL SECURITY`
            return written[0].strip("'\"") if written else None
    return None


def _body_begin(tokens: list[Token], words: list[str], position: int) -> int | None:
    """Index of the BEGIN that opens a `BEGIN ... END` body (outside the parameter list)."""
    depth = 0
    for index in range(position + 1, len(tokens)):
        kind = tokens[index].token_type
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and kind == TokenType.BEGIN and tokens[index].text.upper() == "BEGIN":  # MySQL's START is a BEGIN token
            return index
    return None


def _last_end(words: list[str]) -> int:
    """Index of the body's closing END (the last one in the statement)."""
    for index in range(len(words) - 1, -1, -1):
        if words[index] == "END":
            return index
    return len(words)
