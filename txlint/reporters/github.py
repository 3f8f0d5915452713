"""GitHub Actions workflow commands: one `::error file=...::message` line per finding.

Escaping follows the runner's rules: in the message `%`, CR and LF are
percent-encoded; in properties also `:` and `,`. So a file name or message
cannot end the command early or forge a second one.
"""

from __future__ import annotations

from collections.abc import Sequence

from txlint.ftypes import Finding


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render(findings: Sequence[Finding]) -> str:
    lines = []
    for f in findings:
        props = ",".join(
            f"{key}={escape_property(str(value))}"
            for key, value in (
                ("file", f.path.replace("\\", "/")),
                ("line", f.line),
                ("col", f.column),
                ("endLine", f.end_line),
                ("endColumn", f.end_column),
                ("title", f.code),
            )
        )
        lines.append(f"::{f.severity.github_command} {props}::{escape_data(f'[{f.name}] {f.message}')}")
    return "".join(line + "\n" for line in lines)
