"""The human format: `path:line:col: TX101 [lost-update] message`, related notes, a summary."""

from __future__ import annotations

from collections.abc import Sequence

from txlint.core.ftypes import Finding


def clean(value: str) -> str:
    """One printable line: control characters (newlines, ANSI escapes) shown escaped."""
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in value)


def render(findings: Sequence[Finding], files_checked: int, not_analysed: int = 0) -> str:
    lines = []
    for f in findings:
        lines.append(f"{clean(f.path)}:{f.line}:{f.column}: {f.code} [{f.name}] {clean(f.message)}")
        for r in f.related:
            lines.append(f"    {clean(r.path)}:{r.line}:{r.column}: note: {clean(r.message)}")
    lines.append(summary(findings, files_checked, not_analysed))
    return "\n".join(lines) + "\n"


def summary(findings: Sequence[Finding], files_checked: int, not_analysed: int = 0) -> str:
    checked = f"{files_checked} file{'s' if files_checked != 1 else ''} checked"
    if not_analysed:
        checked += f"; {not_analysed} could not be analysed"
    if not findings:
        return f"No findings ({checked})."
    files = len({f.path for f in findings})
    count = len(findings)
    return f"Found {count} finding{'s' if count != 1 else ''} in {files} file{'s' if files != 1 else ''} ({checked})."


def statistics(findings: Sequence[Finding]) -> list[tuple[str, str, int]]:
    """(code, name, count) rows, most frequent first."""
    counts: dict[tuple[str, str], int] = {}
    for f in findings:
        counts[(f.code, f.name)] = counts.get((f.code, f.name), 0) + 1
    return sorted(((c, n, k) for (c, n), k in counts.items()), key=lambda row: (-row[2], row[0]))


def render_statistics(findings: Sequence[Finding]) -> str:
    rows = statistics(findings)
    return "".join(f"{count:5}  {code}  [{name}]\n" for code, name, count in rows)
