"""Placeholders of every DB-API style, numbered as the drivers number them.

`%s`, `%(name)s`, `?`, `?3`, `$1`, `:name` (and SQLite's `$name`/`@name`)
are replaced, in the token list, by named placeholders `:txlintphN` that
every SQL dialect of sqlglot parses (`%s` only parses in its postgres
dialect), and `N` maps back to the driver's own key (a position or a name).
"""

from __future__ import annotations

import functools
import re

from sqlglot import Token, TokenType
from sqlglot.dialects.dialect import Dialect

from txlint.sql.facts import PlaceholderKey
from txlint.sql.tokens import Chunk, adjacent

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
SYNTHETIC = "txlintph"


@functools.cache
def _renaming_works(dialect: Dialect) -> bool:
    """Whether this dialect tokenizes `:name` as COLON + VAR, the shape the renamer builds."""
    try:
        tokens = dialect.tokenize(f":{SYNTHETIC}0")
    except Exception:  # noqa: BLE001
        return False
    return [token.token_type for token in tokens] == [TokenType.COLON, TokenType.VAR]


class PlaceholderRenamer:
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

    def chunk(self, tokens: list[Token]) -> Chunk:
        if not self.enabled:
            return Chunk(tokens, tokens, ())
        out: list[Token] = []
        used: list[PlaceholderKey] = []
        index = 0
        while index < len(tokens):
            match = self._match(tokens, index)
            if match is None:
                out.append(tokens[index])
                if tokens[index].token_type == TokenType.MOD and adjacent(tokens, index, TokenType.MOD):
                    index += 1  # `%%` is a literal `%` once a pyformat driver has substituted parameters
                index += 1
                continue
            key, length = match
            out.extend(self._rename(key, tokens[index], tokens[index + length - 1]))
            used.append(key)
            index += length
        return Chunk(tokens, out, tuple(used))

    def _rename(self, key: PlaceholderKey, first: Token, last: Token) -> tuple[Token, Token]:
        name = f"{SYNTHETIC}{len(self.keys)}"
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
            if adjacent(tokens, index, TokenType.NUMBER):
                return self._positional(max(int(tokens[index + 1].text) - 1, 0)), 2
            return self._positional(), 1
        if kind == TokenType.COLON and not after_operand and index + 1 < len(tokens):
            following = tokens[index + 1]
            if adjacent(tokens, index, TokenType.NUMBER) and following.text.isdigit():
                return self._positional(max(int(following.text) - 1, 0)), 2
            if following.start == token.end + 1 and _NAME.match(following.text):
                return following.text, 2
            return None
        if kind == TokenType.PARAMETER and token.text == "$" and adjacent(tokens, index, TokenType.NUMBER):
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
        if adjacent(tokens, index, TokenType.VAR) and tokens[index + 1].text in ("s", "b", "t"):
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
