"""Findings as LSP diagnostics, and back: positions, severities, related locations, links.

LSP counts lines and characters from 0 and characters in UTF-16 code units;
a finding counts both from 1, characters in code points. Each diagnostic
carries its finding's code and fingerprint in `data`, so a code action or a
hover finds the finding it is about without matching messages.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path

from txlint.core.ftypes import Finding, Severity
from txlint.core.links import rule_doc_url

SOURCE = "txlint"
_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}


def lines_of(text: str) -> list[str]:
    """The lines as Python and the editor number them: split at `\\n` only (a form feed or U+2028
    inside a line is no line break), without their `\\r`."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def utf16_column(line_text: str, column: int) -> int:
    """The 0-based UTF-16 offset of the 1-based code point column `column` of `line_text`."""
    prefix = line_text[: max(0, column - 1)]
    return len(prefix.encode("utf-16-le")) // 2


def code_point_column(line_text: str, character: int) -> int:
    """The 1-based code point column of the 0-based UTF-16 offset `character` of `line_text`."""
    units = 0
    for index, char in enumerate(line_text):
        if units >= character:
            return index + 1
        units += 2 if ord(char) > 0xFFFF else 1
    return len(line_text) + 1


def position(lines: list[str], line: int, column: int) -> types.Position:
    """The LSP position of a 1-based line and code point column of the text whose lines are `lines`."""
    row = max(0, line - 1)
    text = lines[row] if row < len(lines) else ""
    return types.Position(line=row, character=utf16_column(text, column))


def line_end(lines: list[str], row: int) -> int:
    """The UTF-16 length of the 0-based line `row` (0 past the last line)."""
    return len(lines[row].encode("utf-16-le")) // 2 if 0 <= row < len(lines) else 0


def uri_of(root: Path, display: str) -> str:
    path = Path(display)
    return str(from_fs_path(str(path if path.is_absolute() else root / path)))


def to_diagnostic(finding: Finding, lines: list[str], root: Path) -> types.Diagnostic:
    """One finding of a file whose text is `lines`."""
    start = position(lines, finding.line, finding.column)
    end = position(lines, finding.end_line, finding.end_column)
    if (end.line, end.character) <= (start.line, start.character):
        end = types.Position(line=start.line, character=max(start.character, line_end(lines, start.line)))
    related = []
    for r in finding.related:
        # Another file's text is not at hand: its column is taken as UTF-16 already.
        at = position(lines, r.line, r.column) if r.path == finding.path else types.Position(line=max(0, r.line - 1), character=max(0, r.column - 1))
        related.append(types.DiagnosticRelatedInformation(location=types.Location(uri=uri_of(root, r.path), range=types.Range(start=at, end=at)), message=r.message))
    return types.Diagnostic(
        range=types.Range(start=start, end=end),
        message=f"{finding.message} [{finding.name}]",
        severity=_SEVERITY[finding.severity],
        code=finding.code,
        code_description=types.CodeDescription(href=rule_doc_url(finding.code)),
        source=SOURCE,
        related_information=related or None,
        data={"fingerprint": finding.fingerprint, "line": finding.line, "code": finding.code},
    )
