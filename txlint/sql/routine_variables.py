"""The variables of a routine body, and where its statements use them.

Both PostgreSQL (by default) and MySQL take a name that is a variable for the
variable, except where only a column or a table can stand: an UPDATE's SET
target, an INSERT's column list, `ON CONFLICT (c)`, after a dot, `AS`, FROM,
JOIN, INTO. Each use becomes a named placeholder `:txlintvarN`, so the
statement reader (which knows placeholders) says where the statement uses
which variable. `SELECT ... INTO v` and `RETURNING ... INTO v` are taken out
of the statement: they name the variables it fills.

Known gap: in a `LANGUAGE sql` function a column wins over a parameter of
the same name; the columns are not known here, so the name is taken for the
parameter. (No variable carries a read value in such a body, so this can only
change which row two statements are taken to name.)
"""

from __future__ import annotations

from collections.abc import Collection

from sqlglot import Token, TokenType

from txlint.sql.routine_facts import VariableRef

QUOTED = frozenset({TokenType.STRING, TokenType.IDENTIFIER, TokenType.HEREDOC_STRING, TokenType.NATIONAL_STRING})
_TABLE_POSITIONS = frozenset({"AS", "FROM", "JOIN", "UPDATE", "INTO", "TABLE", "ONLY", "OF"})
_SET_ENDS = frozenset({"WHERE", "FROM", "RETURNING", "ON", "VALUES", "SELECT"})


class Unreadable(Exception):
    """The body uses a construct this reading does not know: it is not read at all."""


def word(token: Token) -> str:
    """The token as an upper-case keyword, or "" for strings and quoted names."""
    return "" if token.token_type in QUOTED else token.text.upper()


class Variables:
    """The names a body declares (its parameters first), and their uses in its statements."""

    def __init__(self, params: Collection[str]) -> None:
        self.names: set[str] = {p for p in params if p}
        self._placeholders = 0

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def add(self, *names: str) -> None:
        self.names.update(names)

    def references(self, tokens: list[Token], skip: Collection[int] = ()) -> list[tuple[int, int, VariableRef]]:
        """(index, token count, variable) of each use of a variable: `v`, or `r.field` of a record."""
        found: list[tuple[int, int, VariableRef]] = []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            name = token.text.lower()
            after = tokens[index + 1].token_type if index + 1 < len(tokens) else None
            if (
                index not in skip
                and token.token_type == TokenType.VAR
                and name in self.names
                and not (index > 0 and tokens[index - 1].token_type == TokenType.DOT)
                and after not in (TokenType.L_PAREN, TokenType.FARROW, TokenType.COLON_EQ)
            ):
                if after == TokenType.DOT and index + 2 < len(tokens):
                    found.append((index, 3, VariableRef(name, tokens[index + 2].text.lower())))
                    index += 3
                    continue
                found.append((index, 1, VariableRef(name)))
            index += 1
        return found

    def strip_into(self, tokens: list[Token], after: str | None) -> tuple[list[Token], tuple[VariableRef, ...]]:
        """Take `INTO [STRICT] v, w` (the variables a query fills) out of the statement."""
        depth, seen = 0, after is None
        for index, token in enumerate(tokens):
            if token.token_type == TokenType.L_PAREN:
                depth += 1
            elif token.token_type == TokenType.R_PAREN:
                depth -= 1
            elif depth == 0 and word(token) == after:
                seen = True
            elif depth == 0 and seen and token.token_type == TokenType.INTO and index > 0:
                return self._into_targets(tokens, index)
        return tokens, ()

    def _into_targets(self, tokens: list[Token], start: int) -> tuple[list[Token], tuple[VariableRef, ...]]:
        position = start + 1
        if position < len(tokens) and word(tokens[position]) == "STRICT":
            position += 1
        targets: list[VariableRef] = []
        while position < len(tokens):
            token = tokens[position]
            if token.token_type == TokenType.PARAMETER and token.text == "@" and position + 1 < len(tokens):
                targets.append(VariableRef("@" + tokens[position + 1].text.lower()))
                position += 2
            elif token.text.lower() in self.names:
                field = None
                if position + 2 < len(tokens) and tokens[position + 1].token_type == TokenType.DOT:
                    field = tokens[position + 2].text.lower()
                    position += 2
                targets.append(VariableRef(token.text.lower(), field))
                position += 1
            else:
                raise Unreadable("INTO a name that is no variable")
            if position < len(tokens) and tokens[position].token_type == TokenType.COMMA:
                position += 1
                continue
            break
        return tokens[:start] + tokens[position:], tuple(targets)

    def rename(self, tokens: list[Token]) -> tuple[list[Token], tuple[tuple[str, VariableRef], ...]]:
        """The statement with each variable made a named placeholder `:txlintvarN`, and which is which."""
        out: list[Token] = []
        variables: list[tuple[str, VariableRef]] = []
        uses = {index: (length, ref) for index, length, ref in self.references(tokens, column_positions(tokens))}
        index = 0
        while index < len(tokens):
            if index not in uses:
                out.append(tokens[index])
                index += 1
                continue
            length, ref = uses[index]
            first, last = tokens[index], tokens[index + length - 1]
            name = f"txlintvar{self._placeholders}"
            self._placeholders += 1
            out.append(Token(TokenType.COLON, ":", first.line, first.col, first.start - 1, first.start - 1))
            out.append(Token(TokenType.VAR, name, last.line, last.col, first.start, last.end))
            variables.append((name, ref))
            index += length
        return out, tuple(variables)


def closing(tokens: list[Token], open_index: int) -> int:
    depth = 0
    for index in range(open_index, len(tokens)):
        kind = tokens[index].token_type
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return index
    raise Unreadable("unbalanced parentheses")


def column_positions(tokens: list[Token]) -> set[int]:
    """Indices where a name can only be a table, an alias or a column written to: never a variable.

    An UPDATE's (or upsert's) `SET c = ...` targets, an INSERT's column list, `ON CONFLICT (c)`,
    and the name after FROM/JOIN/UPDATE/INTO/AS/OF.
    """
    positions: set[int] = set()
    depth = 0
    in_set = False
    words = [word(t) for t in tokens]
    for index, token in enumerate(tokens):
        kind = token.token_type
        before = words[index - 1] if index else ""
        if kind == TokenType.L_PAREN:
            depth += 1
            if (
                before in ("CONFLICT",)
                or (index >= 2 and words[index - 2] == "INTO")
                or (index >= 4 and words[index - 4] == "INTO" and tokens[index - 2].token_type == TokenType.DOT)
            ):
                positions.update(range(index, closing(tokens, index) + 1))
        elif kind == TokenType.R_PAREN:
            depth -= 1
        if before in _TABLE_POSITIONS:
            positions.add(index)
        if depth == 0 and (words[index] == "SET" or (words[index] == "UPDATE" and before == "KEY")):
            in_set = True
        elif depth == 0 and words[index] in _SET_ENDS:
            in_set = False
        elif in_set and depth == 0 and before in ("SET", "UPDATE", ",") and index + 1 < len(tokens) and tokens[index + 1].token_type == TokenType.EQ:
            positions.add(index)
    return positions
