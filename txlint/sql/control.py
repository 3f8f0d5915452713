"""Statements read from their tokens, because sqlglot parses them into the wrong tree or none.

Transaction control (`BEGIN`, `START TRANSACTION`, `SAVEPOINT`, `RELEASE`),
`LOCK TABLE` and `SET`: postgres `START TRANSACTION` parses as a column
alias, `RELEASE SAVEPOINT` not at all. MySQL's `REPLACE INTO` parses only as
an opaque command; it is handed back as the INSERT it is. MySQL's `SELECT ...
INTO @a, @b` does not parse; it is handed back as the query without them.
"""

from __future__ import annotations

from sqlglot import Token, TokenType

from txlint.sql.facts import LockStrength, Statement
from txlint.sql.tokens import Chunk


def _words(chunk: Chunk) -> list[str]:
    """The statement's words in upper case; keywords sqlglot keeps as one token (`LOCK TABLES`) are split."""
    return [word for token in chunk.tokens for word in token.text.upper().split()]


def control_statement(chunk: Chunk) -> Statement | None:
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


def _last_name(chunk: Chunk) -> str | None:
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


def _autocommit(chunk: Chunk) -> bool | None:
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


def _lock_table(chunk: Chunk) -> Statement:
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


def replace_into(chunk: Chunk) -> Chunk | None:
    """MySQL/SQLite `REPLACE INTO t ...` is `INSERT INTO t ...` that replaces a conflicting row.

    sqlglot parses it only as an opaque command; the same tokens with INSERT
    in front parse as an insert, which is then marked as an upsert.
    """
    tokens = chunk.parse_tokens
    if len(tokens) < 2 or tokens[0].text.upper() != "REPLACE" or tokens[1].text.upper() != "INTO":
        return None
    first = tokens[0]
    insert = Token(TokenType.INSERT, "INSERT", first.line, first.col, first.start, first.end, first.comments)
    return Chunk(chunk.tokens, [insert, *tokens[1:]], chunk.placeholders)


def without_variable_targets(chunk: Chunk) -> Chunk | None:
    """MySQL `SELECT c, d INTO @a, @b FROM t`: the query, without the session variables it fills."""
    tokens = chunk.parse_tokens
    if not tokens or tokens[0].token_type != TokenType.SELECT:
        return None
    depth = 0
    for index, token in enumerate(tokens):
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and token.token_type == TokenType.INTO:
            end = index + 1
            while end + 1 < len(tokens) and tokens[end].token_type == TokenType.PARAMETER and tokens[end].text == "@":
                end += 2
                if end < len(tokens) and tokens[end].token_type == TokenType.COMMA:
                    end += 1
            if end == index + 1:
                return None
            return Chunk(chunk.tokens, tokens[:index] + tokens[end:], chunk.placeholders)
    return None
