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
    """What a reporter may need besides the findings.

    `source` gives the lines of a file as findings name it (the text formats'
    excerpts; None: no excerpts); `colour` asks the text formats for ANSI
    colour (the CLI decides: a terminal, `--color`, `NO_COLOR`, `FORCE_COLOR`).
    """

    files_checked: int
    repository_root: Path
    rule_codes: frozenset[str]
    files_not_analysed: int = 0  # files that were to be checked and could not be (shown on stderr)
    source: text.SourceLookup | None = None
    colour: bool = False


Reporter = Callable[[Sequence[Finding], ReportContext], str]


def _full(findings: Sequence[Finding], ctx: ReportContext) -> str:
    return text.render(findings, ctx.files_checked, ctx.files_not_analysed, source=ctx.source, colour=ctx.colour)


FORMATS: dict[str, Reporter] = {
    "text": _full,  # the name before ruff's `full` and `concise` were added; the same output as `full`
    "full": _full,
    "concise": lambda findings, ctx: text.render_concise(findings, ctx.files_checked, ctx.files_not_analysed, colour=ctx.colour),
    "json": lambda findings, ctx: json_format.render(findings),
    "sarif": lambda findings, ctx: sarif.render(findings, ctx.repository_root, ctx.rule_codes),
    "github": lambda findings, ctx: github.render(findings),
}
