"""What the client program reads in a `.sql` file before the server sees any SQL.

A script file is written for a client (psql, the mysql client, sqlite3), and
the client takes some of its lines for itself:

- psql meta-commands: a backslash outside quotes and comments starts one
  (`\\set ON_ERROR_STOP on`, `\\connect db`, `\\c db`, `\\i file.sql`,
  `\\echo ...`, `\\if`/`\\elif`/`\\else`/`\\endif`); it runs to the end of
  the line or to `\\\\`. `\\g`, `\\gset`, `\\gexec`, `\\gx`, `\\gdesc`,
  `\\crosstabview`, `\\watch` and `\\;` end the statement before them, as a
  `;` would. The data lines of `COPY ... FROM STDIN` (and `\\copy ... from
  stdin`) up to `\\.` are input, not SQL. Interpolated variables (`:var`,
  `:'var'`, `:"var"`) stay in the SQL: the placeholder reader names them.
- mysql client: `DELIMITER //` (any dialect: the line is never SQL) makes
  `//` end statements until `DELIMITER ;`, so a routine body keeps its own
  `;`; `source file` / `\\. file` include another file.
- sqlite3: dot-commands (`.read file`, `.mode csv`) on a line of their own.
- PostgreSQL extension scripts (`ext--1.0--1.1.sql`): `CREATE EXTENSION`
  replaces `@extschema@`, `@extowner@` and `@extschema:other@` with names
  before running the script; they are read as names of the same length.

`read_client_script` blanks those parts out with spaces, keeping every other
character (and every newline) where it was, so the positions of the SQL that
remains, and so the lines of findings after a meta-command, stay right. A
statement end the client makes (a `\\gset`, a custom delimiter) becomes a `;`
at the same place, listed in `ends`. The meta-commands that matter to
transaction analysis are handed back as `Directive`s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

DirectiveKind = Literal["connect", "if", "branch", "endif", "include"]

# psql meta-commands that send the query buffer: the statement before them ends there.
_SENDING = frozenset({"g", "gx", "gset", "gexec", "gdesc", "crosstabview", "watch", ";"})
_PSQL_DIRECTIVES: dict[str, DirectiveKind] = {
    "c": "connect", "connect": "connect",
    "if": "if", "elif": "branch", "else": "branch", "endif": "endif",
    "i": "include", "include": "include", "ir": "include", "include_relative": "include",
}  # fmt: skip
_MYSQL_LIKE = frozenset({"mysql", "doris", "starrocks", "singlestore"})
_COPY_FROM_STDIN = re.compile(r"\A\s*\\?copy\b.*\bfrom\s+stdin\b", re.IGNORECASE | re.DOTALL)
_DELIMITER = re.compile(r"delimiter[ \t]+(\S+)[^\n]*", re.IGNORECASE)
_MYSQL_SOURCE = re.compile(r"(?:source[ \t]+\S|\\\.[ \t])[^\n]*", re.IGNORECASE)
_SQLITE_DOT = re.compile(r"\.[A-Za-z][^\n]*")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$")
_WORD_CHAR = re.compile(r"[A-Za-z0-9_$\x80-\uffff]")
_EXTENSION_NAME = re.compile(r"@(ext(?:schema|owner)(?::[A-Za-z_][A-Za-z0-9_]*)?)@")


@dataclass(frozen=True)
class Directive:
    """A client command that changes what the statements around it mean (1-based line)."""

    kind: DirectiveKind
    line: int


@dataclass(frozen=True)
class ClientScript:
    """The SQL the server would see, at the positions the file has it."""

    text: str
    ends: frozenset[int] = frozenset()  # offsets of the `;` the client's statement ends were turned into
    directives: tuple[Directive, ...] = ()


def read_client_script(text: str, dialect: str) -> ClientScript:
    """Blank out what the client program reads itself; keep the SQL where it is.

    >>> script = read_client_script("\\\\set x 1\\nSELECT 1 \\\\gset\\n", "postgres")
    >>> script.text
    '        \\nSELECT 1 ;    \\n'
    """
    if "@ext" in text and dialect == "postgres":
        text = _EXTENSION_NAME.sub(lambda match: "_" + match.group(1).replace(":", "_") + "_", text)
    if not _may_have_client_syntax(text):
        return ClientScript(text)
    return _Scanner(text, dialect).run()


def _may_have_client_syntax(text: str) -> bool:
    lowered = text.lower()
    return "\\" in text or "delimiter" in lowered or "source" in lowered or "\n." in text or text.startswith(".")


class _Scanner:
    """One pass over the text, knowing its quotes and comments, as the client's own lexer does."""

    def __init__(self, text: str, dialect: str) -> None:
        self.text = text
        self.out = list(text)
        self.psql = dialect in {"postgres", "redshift", "materialize", "risingwave"}
        self.mysql = dialect in _MYSQL_LIKE
        self.sqlite = dialect == "sqlite"
        self.delimiter = ";"
        self._interesting = _interesting(self.delimiter)
        self.ends: list[int] = []
        self.directives: list[Directive] = []
        self.statement_start = 0  # offset where the current statement began
        self.empty = True  # nothing but blanks and comments since the last statement end
        self.line = 1

    def run(self) -> ClientScript:
        text, position = self.text, 0
        while position < len(text):
            position = self._step(position)
        return ClientScript("".join(self.out), frozenset(self.ends), tuple(self.directives))

    def _step(self, at: int) -> int:
        text = self.text
        char = text[at]
        if char == "\n":
            self.line += 1
            return at + 1
        if char in " \t\r\f":
            return at + 1
        if self.empty and self._line_start(at):
            taken = self._line_command(at)
            if taken is not None:
                return taken
        if self.delimiter != ";" and text.startswith(self.delimiter, at):
            self._blank(at, at + len(self.delimiter))
            self.out[at] = ";"
            self.ends.append(at)
            return self._statement_end(at + len(self.delimiter), at)
        if char == ";" and self.delimiter == ";":
            return self._statement_end(at + 1, at)
        if (char == "-" and text.startswith("--", at)) or (char == "#" and self.mysql):
            end = text.find("\n", at)
            return len(text) if end < 0 else end
        if char == "/" and text.startswith("/*", at):
            return self._block_comment(at)
        if char == "\\" and self.psql:
            return self._meta_command(at)
        if self.empty:
            self.empty, self.statement_start = False, at
        if char in "'\"`":
            return self._quoted(at, char)
        if char == "$" and self.psql and (at == 0 or not _WORD_CHAR.match(text[at - 1])):
            tag = _DOLLAR_TAG.match(text, at)
            if tag is not None:
                close = text.find(tag.group(), tag.end())
                end = len(text) if close < 0 else close + len(tag.group())
                self.line += text.count("\n", at, end)
                return end
        # Inside ordinary SQL: on to the next character that can start something the client sees.
        following = self._interesting.search(text, at + 1)
        return following.start() if following else len(text)

    # ---- pieces of SQL the client only skips over

    def _quoted(self, at: int, quote: str) -> int:
        text = self.text
        backslashes = (self.mysql and quote != "`") or (
            quote == "'" and self.psql and at > 0 and text[at - 1] in "eE" and (at < 2 or not _WORD_CHAR.match(text[at - 2]))
        )
        position = at + 1
        while position < len(text):
            char = text[position]
            if char == "\\" and backslashes:
                position += 2
                continue
            if char == quote:
                if text.startswith(quote * 2, position):
                    position += 2
                    continue
                position += 1
                break
            position += 1
        self.line += text.count("\n", at, position)
        return position

    def _block_comment(self, at: int) -> int:
        text, depth, position = self.text, 1, at + 2
        while position < len(text) and depth:
            if text.startswith("*/", position):
                depth, position = depth - 1, position + 2
            elif self.psql and text.startswith("/*", position):
                depth, position = depth + 1, position + 2
            else:
                position += 1
        self.line += text.count("\n", at, position)
        return position

    # ---- statement ends, and what the client does at them

    def _statement_end(self, after: int, semicolon: int) -> int:
        statement = self.text[self.statement_start : semicolon]
        self.empty = True
        if self.psql and _COPY_FROM_STDIN.match(statement):
            return self._copy_data(after)
        return after

    def _copy_data(self, after: int) -> int:
        """`COPY ... FROM STDIN;` is followed, from the next line, by data lines up to `\\.`."""
        text = self.text
        newline = text.find("\n", after)
        if newline < 0:
            return len(text)
        start = newline + 1
        position = start
        while position < len(text):
            end = text.find("\n", position)
            end = len(text) if end < 0 else end
            if text[position:end].rstrip() == "\\.":
                position = end
                break
            position = end + 1
        position = min(position, len(text))
        self._blank(start, position)
        self.line += text.count("\n", after, position)
        return position

    # ---- client commands

    def _line_start(self, at: int) -> bool:
        line_begin = self.text.rfind("\n", 0, at) + 1
        return not self.text[line_begin:at].strip()

    def _line_command(self, at: int) -> int | None:
        """`DELIMITER x` (any dialect), mysql `source f` / `\\. f`, sqlite `.read f`: whole-line client commands."""
        text = self.text
        match = _DELIMITER.match(text, at)
        if match is not None:
            self._blank(at, match.end())
            self.delimiter = match.group(1)
            self._interesting = _interesting(self.delimiter)
            return match.end()
        if self.mysql and (match := _MYSQL_SOURCE.match(text, at)) is not None:
            return self._whole_line(at, match.end(), "include")
        if self.sqlite and (match := _SQLITE_DOT.match(text, at)) is not None:
            return self._whole_line(at, match.end(), "include" if text.startswith(".read", at) else None)
        return None

    def _whole_line(self, at: int, end: int, kind: DirectiveKind | None) -> int:
        self._blank(at, end)
        if kind is not None:
            self.directives.append(Directive(kind, self.line))
        return end

    def _meta_command(self, at: int) -> int:
        """A psql meta-command: `\\name args` up to the end of the line or an unquoted `\\\\`."""
        text = self.text
        name_match = re.compile(r"\\([A-Za-z_+!?.][A-Za-z0-9_+]*|;|\\)").match(text, at)
        name = name_match.group(1) if name_match else ""
        position = name_match.end() if name_match else at + 1
        if name != ";":
            position = self._arguments_end(position)
        self._blank(at, position)
        kind = _PSQL_DIRECTIVES.get(name.lower())
        if kind is not None:
            self.directives.append(Directive(kind, self.line))
        if name in _SENDING:
            self.out[at] = ";"
            self.ends.append(at)
            self.empty = True
        elif name.lower() == "copy" and _COPY_FROM_STDIN.match(text[at:position]):
            return self._copy_data(position)
        return position

    def _arguments_end(self, position: int) -> int:
        text, quote = self.text, ""
        while position < len(text) and text[position] != "\n":
            char = text[position]
            if quote:
                if char == quote:
                    quote = ""
            elif char in "'`\"":
                quote = char
            elif text.startswith("\\\\", position):
                return position + 2
            position += 1
        return position

    def _blank(self, start: int, end: int) -> None:
        for position in range(start, min(end, len(self.out))):
            if self.out[position] != "\n":
                self.out[position] = " "


def _interesting(delimiter: str) -> re.Pattern[str]:
    """The characters that can start a quote, a comment, a meta-command or a statement end."""
    return re.compile("[" + re.escape("\n'\"`$\\;-/#" + delimiter[0]) + "]")
