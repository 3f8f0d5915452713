"""`--add-ignore`: suppress every current finding with a comment on its line, like ruff's `--add-noqa`.

It is how a legacy project adopts txlint (and how a new rule is rolled out):
accept today's findings in the code, where a reviewer sees them, and fail on
new ones. The comment goes on the line a finding is reported on, the only
line `txlint.engine.suppression` honours: `# txlint: ignore[TX101]` in Python,
`-- txlint: ignore[TX101]` in SQL, merged into a txlint comment already on
the line.

A linter that edits source must never damage it, so for each file:
- a line where a trailing comment is not possible (it ends inside a
  string, or with a backslash continuation) is skipped and reported;
- the new text must parse to the same program as the old (the same Python
  AST, the same SQL statements) and must suppress exactly what was asked,
  judged by `txlint.engine.suppression` itself, or the file is left alone;
- the file must not have changed since txlint read it (size, mtime and
  bytes compared just before the replace), and it is replaced atomically
  (temporary file, then rename), keeping its encoding, line endings and
  permissions.
"""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from txlint.cli.atomicfile import write_atomic
from txlint.core.ftypes import Finding
from txlint.engine.suppression import Suppressions

PARSE_ERROR = "TX000"  # a file that does not parse cannot be checked after the edit
_PY_DIRECTIVE = re.compile(r"#\s*txlint:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
_SQL_DIRECTIVE = re.compile(r"--\s*txlint:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
# A noqa comment naming TX105 suppresses it only while the line has no txlint comment (txlint's wins).
_NOQA = re.compile(r"#\s*noqa:\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)", re.IGNORECASE)
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Stamp:
    """A file's size and modification time when txlint read it."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path | str) -> Stamp | None:
        try:
            status = os.stat(path)
        except OSError:
            return None
        return cls(status.st_size, status.st_mtime_ns)


@dataclass(frozen=True)
class Skipped:
    """Findings on one line that did not get a comment, and why."""

    path: str
    line: int
    codes: tuple[str, ...]
    reason: str


@dataclass
class Outcome:
    """What `add_ignores` did: comments written (one per line), files rewritten, findings left as they were."""

    comments: int = 0
    files: int = 0
    skipped: list[Skipped] = field(default_factory=list)


def add_ignores(findings: Iterable[Finding], *, dialect: str, stamps: Mapping[str, Stamp] | None = None) -> Outcome:
    """Add an ignore comment for every finding, file by file.

    `stamps` are the files' stamps from before the analysis ran (by the path
    findings carry): a file that changed since is not touched, because the
    findings' lines may no longer be the lines they were found on.
    """
    by_file: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for finding in findings:
        by_file[finding.path][finding.line].add(finding.code)
    outcome = Outcome()
    for path in sorted(by_file):
        wanted = {line: tuple(sorted(codes)) for line, codes in sorted(by_file[path].items())}
        stamp = stamps.get(path) if stamps is not None else None
        comments, skipped = _FileEdit(path, wanted, dialect, stamp).run()
        outcome.comments += comments
        outcome.files += comments > 0
        outcome.skipped += skipped
    return outcome


def ignored_line(text: str, line: int, code: str, *, sql: bool) -> str | None:
    """Line `line` of `text` (1-based, without its ending) with `code` added to its txlint comment,
    or None where a comment cannot go: what an editor's "ignore" action writes (the same rules as
    `--add-ignore`, checked the same way)."""
    lines = _split_lines(text)
    try:
        comments = None if sql else _python_comments(text)
    except _Refused:
        return None
    if code == PARSE_ERROR or _unfit(line, len(lines), comments) is not None:
        return None
    content = lines[line - 1][0]
    edited = _with_directive(content, (code,), comments.get(line) if comments is not None else None, sql=sql)
    new_text = "".join(c + e for c, e in lines[: line - 1]) + edited + "".join(c + e for c, e in [("", lines[line - 1][1]), *lines[line:]])
    suppressions = Suppressions.of_sql(new_text) if sql else Suppressions.of_python(new_text)
    if not suppressions.suppressed(code, line) or (not sql and not _same_python(text, new_text)):
        return None
    return edited


class _Refused(Exception):
    """The whole file is left unchanged, for this reason."""


class _FileEdit:
    """The comments of one file: read, edit, verify, replace."""

    def __init__(self, path: str, wanted: dict[int, tuple[str, ...]], dialect: str, stamp: Stamp | None) -> None:
        self.path = path
        self.wanted = wanted
        self.dialect = dialect
        self.stamp = stamp
        self.sql = path.endswith(".sql")
        self.skipped: list[Skipped] = []

    def run(self) -> tuple[int, list[Skipped]]:
        for line, codes in list(self.wanted.items()):
            if PARSE_ERROR in codes:
                del self.wanted[line]
                self.skipped.append(Skipped(self.path, line, codes, "a parse error cannot be suppressed by a comment: fix the syntax"))
        if not self.wanted:
            return 0, self.skipped
        try:
            return self._run(), self.skipped
        except _Refused as refusal:
            done = {skipped.line for skipped in self.skipped}
            return 0, self.skipped + [Skipped(self.path, line, codes, str(refusal)) for line, codes in self.wanted.items() if line not in done]

    def _run(self) -> int:
        real = Path(os.path.realpath(self.path))  # a symlink keeps pointing at the edited file
        data, stamp = _read(real)
        if self.stamp is not None and stamp != self.stamp:
            raise _Refused("the file changed while txlint was running; run again")
        encoding = _encoding(data, python=not self.sql)
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise _Refused(f"the file is not valid {encoding} text") from error
        if text.encode(encoding) != data:
            raise _Refused(f"the file cannot be written back byte for byte as {encoding}")
        lines = _split_lines(text)
        edits = self._edit(lines)
        if not edits:
            return 0
        new_text = "".join(content + ending for content, ending in lines)
        self._verify(text, new_text, edits)
        again, again_stamp = _read(real)
        if again != data or again_stamp != stamp:
            raise _Refused("the file changed while txlint was running; run again")
        try:
            write_atomic(real, new_text.encode(encoding))
        except OSError as error:
            raise _Refused(f"cannot write the file: {error.strerror or error}") from error
        return len(edits)

    def _edit(self, lines: list[tuple[str, str]]) -> dict[int, tuple[str, ...]]:
        """Put the comments into `lines` (in place); return the edited lines and their codes."""
        comments = None if self.sql else _python_comments("".join(c + e for c, e in lines))
        edits: dict[int, tuple[str, ...]] = {}
        for line, codes in self.wanted.items():
            reason = _unfit(line, len(lines), comments)
            if reason is not None:
                self.skipped.append(Skipped(self.path, line, codes, reason))
                continue
            content, ending = lines[line - 1]
            comment = comments.get(line) if comments is not None else None
            edited = _with_directive(content, codes, comment, sql=self.sql)
            if edited != content:
                lines[line - 1] = (edited, ending)
                edits[line] = codes
        return edits

    def _verify(self, old: str, new: str, edits: dict[int, tuple[str, ...]]) -> None:
        if self.sql:
            from txlint.frontends.sql_script import dialect_of
            from txlint.sql import parse_file  # sqlglot is a large import; most runs never edit a .sql file

            path = str(self.path)
            same = parse_file(old, dialect_of(old, self.dialect, path)) == parse_file(new, dialect_of(new, self.dialect, path))
            suppressions = Suppressions.of_sql(new)
        else:
            same = _same_python(old, new)
            suppressions = Suppressions.of_python(new)
        if not same:
            raise _Refused("with the comments added the file would not parse to the same code; left unchanged")
        if not all(suppressions.suppressed(code, line) for line, codes in edits.items() for code in codes):
            raise _Refused("the comments would not suppress these findings; left unchanged")


def _unfit(line: int, count: int, comments: dict[int, tuple[int, str]] | None) -> str | None:
    """Why a comment cannot go at the end of `line`, if it cannot."""
    if not 0 < line <= count:
        return f"the file has no line {line} any more; run again"
    if comments is not None and line not in comments:
        return "the line ends inside a string or with a backslash continuation, where a comment cannot go (reformat it, or use per-file-ignores)"
    return None


def _read(path: Path) -> tuple[bytes, Stamp | None]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _Refused(f"cannot read the file: {error.strerror or error}") from error
    return data, Stamp.of(path)


def _encoding(data: bytes, *, python: bool) -> str:
    if python:
        try:
            return tokenize.detect_encoding(io.BytesIO(data).readline)[0]
        except SyntaxError as error:
            raise _Refused(f"unknown source encoding: {error}") from error
    return "utf-8-sig" if data.startswith(_BOM) else "utf-8"


def _split_lines(text: str) -> list[tuple[str, str]]:
    """(content, line ending) pairs, split on `\\n` the way the tokenizer numbers lines; `\\r\\n` kept whole."""
    result = []
    for raw in text.split("\n"):
        result.append((raw[:-1], "\r\n") if raw.endswith("\r") else (raw, "\n"))
    last, _ = result.pop()  # the text after the last "\n": a line without an ending, or nothing
    if last:
        result.append((last, ""))
    return result


def _python_comments(text: str) -> dict[int, tuple[int, str]]:
    """The lines where a trailing comment is possible, each with its existing comment (column, text) or (-1, "").

    Those are the lines where a logical or physical line ends in code (a
    NEWLINE or NL token) or that already hold a comment; a line that ends
    inside a string or with a backslash has neither.
    """
    result: dict[int, tuple[int, str]] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                result[token.start[0]] = (token.start[1], token.string)
            elif token.type in (tokenize.NEWLINE, tokenize.NL):
                result.setdefault(token.start[0], (-1, ""))
    except (tokenize.TokenError, SyntaxError) as error:
        raise _Refused(f"the file does not tokenize: {error}") from error
    return result


def _with_directive(content: str, codes: tuple[str, ...], comment: tuple[int, str] | None, *, sql: bool) -> str:
    """The line with `codes` added to its txlint comment, or a new one appended."""
    if sql:
        start, text, directive, marker = 0, content, _SQL_DIRECTIVE, "--"
    else:
        start, text = comment if comment is not None and comment[0] >= 0 else (0, "")
        directive, marker = _PY_DIRECTIVE, "#"
    match = directive.search(text)
    if match is not None:
        if match["codes"] is None or not match["codes"].strip():
            return content  # a bare `txlint: ignore` already suppresses every code
        merged = ", ".join(sorted(set(_split(match["codes"])) | set(codes)))
        return content[: start + match.start()] + f"{marker} txlint: ignore[{merged}]" + content[start + match.end() :]
    extra: set[str] = set()
    if not sql and (noqa := _NOQA.search(text)) is not None:
        extra = {code for code in _split(noqa["codes"]) if code.startswith("TX")}
    return content.rstrip(" \t") + f"  {marker} txlint: ignore[{', '.join(sorted(set(codes) | extra))}]"


def _split(codes: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", codes.strip().upper()) if part]


def _same_python(old: str, new: str) -> bool:
    """Whether `new` is `old` with comments added: the same AST (or, for syntax this Python lacks, a libcst parse)."""
    try:
        before = ast.dump(ast.parse(old))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _libcst_parses(new)
    try:
        return ast.dump(ast.parse(new)) == before
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def _libcst_parses(text: str) -> bool:
    import libcst  # only for code newer than this interpreter: libcst is slow to import and to run

    try:
        libcst.parse_module(text)
    except Exception:  # noqa: BLE001 - libcst's ParserSyntaxError and its internal errors alike
        return False
    return True
