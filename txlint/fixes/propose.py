"""Attach to each finding of a file the fix its rule's fixer proposes (`Finding.fix`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from txlint.core.ftypes import Finding, Fix
from txlint.fixes.cache_fixes import atomic_take, expiring_take
from txlint.fixes.decrement_fixes import bounded_decrement
from txlint.fixes.orm_fixes import evaluated_lock, fields_saved, locked_read
from txlint.fixes.source import FieldsOf, Source

# Per rule, the fixer that knows how Python code writes its repair (none for the other rules).
FIXERS: dict[str, Callable[[Source, Finding], Fix | None]] = {
    "TX101": locked_read,
    "TX106": bounded_decrement,
    "TX110": evaluated_lock,
    "TX111": fields_saved,
    "TX201": atomic_take,
    "TX202": expiring_take,
}


def fixable(finding: Finding) -> bool:
    """Whether a fixer exists for the finding's rule and file kind."""
    return finding.code in FIXERS and finding.path.endswith((".py", ".pyi"))


def with_fixes(findings: list[Finding], text: str, fields_of: FieldsOf | None = None) -> list[Finding]:
    """`findings` of one file whose text is `text`, each with the fix a fixer finds for it, if any;
    `fields_of` tells a model's declared fields (without it, no fix that needs them)."""
    if not any(fixable(f) for f in findings):
        return findings
    source = Source.parse(text) if fields_of is None else Source.parse(text, fields_of)
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
