"""GitHub Actions workflow commands: one `::error file=...::message` line per finding.

Escaping follows the runner's rules: in the message `%`, CR and LF are
percent-encoded; in properties also `:` and `,`. So a file name or message
cannot end the command early or forge a second one. The runner decodes no
other escape, and its log shows ANSI escape sequences as colours and moves,
so every other control character (and a lone surrogate, from a file name
that is not UTF-8, which no UTF-8 stream can print) is written as a visible
backslash escape, as the text format does.

An annotation has one location, so a finding's related notes go into its message, one line each:
`read here without a row lock at app/views.py:12`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from txlint.cli.reporters.text import clean
from txlint.core.ftypes import Finding


def escape_data(value: str) -> str:
    """A message for the runner, which decodes `%25`, `%0D` and `%0A` back; other control characters are shown escaped."""
    return clean(value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(value: str) -> str:
    """A property value: `:` and `,` would end it (and the command's property list) early."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _message(f: Finding) -> str:
    """`[name] message`, then a line per related note saying where it is."""
    notes = "".join(f"\n{r.message} at {r.path.replace(os.sep, '/')}:{r.line}" for r in f.related)
    return f"[{f.name}] {f.message}{notes}"


def render(findings: Sequence[Finding]) -> str:
    lines = []
    for f in findings:
        props = ",".join(
            f"{key}={escape_property(str(value))}"
            for key, value in (
                ("file", f.path.replace(os.sep, "/")),  # a backslash is a separator on Windows only
                ("line", f.line),
                ("col", f.column),
                ("endLine", f.end_line),
                ("endColumn", f.end_column),
                ("title", f.code),
            )
        )
        lines.append(f"::{f.severity.github_command} {props}::{escape_data(_message(f))}")
    return "".join(line + "\n" for line in lines)
