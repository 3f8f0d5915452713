"""The human formats: `path:line:col: TX101 [lost-update] message`, related notes, a summary.

`full` (the default, as ruff's) shows under each finding the source line with
carets under the span and a blank line after it; `concise` is one line per
finding and per note. Both may be coloured (`colour`): the path bold, the
code in the colour of its severity, as ruff does. Colour is the caller's
decision (`txlint.cli.colour`); what the report embeds is shown escaped
(`clean`), so a file name or message cannot move the cursor or forge a line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import click

from txlint.cli.reporters.excerpt import excerpt
from txlint.core.ftypes import Applicability, Finding, Severity

# The lines of a file as findings name it (None: not available); the report reads nothing itself.
SourceLookup = Callable[[str], Sequence[str] | None]
SEVERITY_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
GUTTER_COLOUR = "blue"


def clean(value: str) -> str:
    """One printable line: control characters (newlines, ANSI escapes) shown escaped."""
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in value)


def render(findings: Sequence[Finding], files_checked: int, not_analysed: int = 0, *, source: SourceLookup | None = None, colour: bool = False) -> str:
    """The `full` format: each finding, its notes, its source line with carets, a blank line; then the summary."""
    lines = []
    for f in findings:
        lines += _finding_lines(f, colour)
        lines += _excerpt_lines(f, source, colour)
        lines.append("")
    lines.append(summary(findings, files_checked, not_analysed))
    return "\n".join(lines) + "\n"


def render_concise(findings: Sequence[Finding], files_checked: int, not_analysed: int = 0, *, colour: bool = False) -> str:
    """The `concise` format: one line per finding and per note, then the summary."""
    lines = [line for f in findings for line in _finding_lines(f, colour)]
    lines.append(summary(findings, files_checked, not_analysed))
    return "\n".join(lines) + "\n"


def _finding_lines(f: Finding, colour: bool) -> list[str]:
    """`path:line:col: CODE [name] message` and its indented related notes."""
    code = click.style(f.code, fg=SEVERITY_COLOURS.get(f.severity), bold=True) if colour else f.code
    fixable = " [*]" if f.fix is not None and f.fix.applicability is Applicability.SAFE else ""
    lines = [f"{_path(f.path, colour)}:{f.line}:{f.column}: {code} [{f.name}]{fixable} {clean(f.message)}"]
    for r in f.related:
        lines.append(f"    {_path(r.path, colour)}:{r.line}:{r.column}: note: {clean(r.message)}")
    return lines


def _path(path: str, colour: bool) -> str:
    return click.style(clean(path), bold=True) if colour else clean(path)


def _excerpt_lines(f: Finding, source: SourceLookup | None, colour: bool) -> list[str]:
    """The finding's source line with a line-number gutter and carets under its span; none when the line is not to be had."""
    lines = source(f.path) if source is not None else None
    shown = excerpt(lines, f.line, f.column, f.end_line, f.end_column) if lines is not None else None
    if shown is None:
        return []
    gutter, numbered = " " * len(str(shown.number)) + " |", f"{shown.number} |"
    indent = len(shown.carets) - len(shown.carets.lstrip(" "))
    carets = shown.carets[indent:]
    if colour:
        gutter, numbered = (click.style(part, fg=GUTTER_COLOUR, bold=True) for part in (gutter, numbered))
        carets = click.style(carets, fg=SEVERITY_COLOURS.get(f.severity), bold=True)
    return [gutter, f"{numbered} {shown.text}".rstrip(), f"{gutter} {' ' * indent}{carets}"]


def summary(findings: Sequence[Finding], files_checked: int, not_analysed: int = 0) -> str:
    checked = f"{files_checked} file{'s' if files_checked != 1 else ''} checked"
    if not_analysed:
        checked += f"; {not_analysed} could not be analysed"
    if not findings:
        return f"No findings ({checked})."
    files = len({f.path for f in findings})
    count = len(findings)
    found = f"Found {count} finding{'s' if count != 1 else ''} in {files} file{'s' if files != 1 else ''} ({checked})."
    safe = sum(f.fix is not None and f.fix.applicability is Applicability.SAFE for f in findings)
    unsafe = sum(f.fix is not None and f.fix.applicability is Applicability.UNSAFE for f in findings)
    if safe or unsafe:
        hidden = f" ({unsafe} more with --unsafe-fixes)" if unsafe else ""
        found += f"\n[*] {safe} fixable with --fix{hidden}." if safe else f"\n{unsafe} fixable with --fix --unsafe-fixes."
    return found


def statistics(findings: Sequence[Finding]) -> list[tuple[str, str, int]]:
    """(code, name, count) rows, most frequent first."""
    counts: dict[tuple[str, str], int] = {}
    for f in findings:
        counts[(f.code, f.name)] = counts.get((f.code, f.name), 0) + 1
    return sorted(((c, n, k) for (c, n), k in counts.items()), key=lambda row: (-row[2], row[0]))


def render_statistics(findings: Sequence[Finding]) -> str:
    rows = statistics(findings)
    return "".join(f"{count:5}  {code}  [{name}]\n" for code, name, count in rows)
