"""Reporters: a list of findings in, the text of one output format out.

Reporters return strings; only the CLI prints. Every format escapes what it
embeds (file names and messages can hold newlines, `::` or ANSI escapes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from txlint.cli.reporters import github, json_format, sarif, text
from txlint.core.ftypes import Finding


@dataclass(frozen=True)
class ReportContext:
    """What a reporter may need besides the findings."""

    files_checked: int
    repository_root: Path
    rule_codes: frozenset[str]
    files_not_analysed: int = 0  # files that were to be checked and could not be (shown on stderr)


Reporter = Callable[[Sequence[Finding], ReportContext], str]

FORMATS: dict[str, Reporter] = {
    "text": lambda findings, ctx: text.render(findings, ctx.files_checked, ctx.files_not_analysed),
    "json": lambda findings, ctx: json_format.render(findings),
    "sarif": lambda findings, ctx: sarif.render(findings, ctx.repository_root, ctx.rule_codes),
    "github": lambda findings, ctx: github.render(findings),
}
