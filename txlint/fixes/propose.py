"""Attach to each finding of a file the fix its rule's fixer proposes (`Finding.fix`)."""

from __future__ import annotations

from dataclasses import replace

from txlint.core.ftypes import Finding
from txlint.fixes.python_fixers import FIXERS, Source


def fixable(finding: Finding) -> bool:
    """Whether a fixer exists for the finding's rule and file kind."""
    return finding.code in FIXERS and finding.path.endswith((".py", ".pyi"))


def with_fixes(findings: list[Finding], text: str) -> list[Finding]:
    """`findings` of one file whose text is `text`, each with the fix a fixer finds for it, if any."""
    if not any(fixable(f) for f in findings):
        return findings
    source = Source.parse(text)
    if source is None:
        return findings
    out = []
    for finding in findings:
        fix = None
        if fixable(finding):
            try:
                fix = FIXERS[finding.code](source, finding)
            except Exception:  # noqa: BLE001 - a fixer that trips over a shape proposes nothing
                fix = None
        out.append(replace(finding, fix=fix) if fix is not None else finding)
    return out
