"""Apply fixes to one file's text, keeping only those the analysis confirms.

A fix is kept when the edited text parses and, analysed again against the
project, reports none of the fixed findings and nothing it did not report
before (per rule, no more findings than before minus those fixed). Fixes are
tried together first, then one by one, so one fix that does not hold costs only
itself.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from txlint.core.ftypes import Applicability, Finding
from txlint.fixes.edits import Overlap, apply_edits

Recheck = Callable[[str], list[Finding]]  # the findings of the file holding this text


@dataclass(frozen=True)
class Fixed:
    """The text after the fixes that held, the findings they fixed, and what the file reports now."""

    text: str
    fixed: list[Finding]
    remaining: list[Finding]


def wanted(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and (unsafe or finding.fix.applicability is Applicability.SAFE)


def fix_text(text: str, findings: Sequence[Finding], unsafe: bool, recheck: Recheck) -> Fixed:
    """Apply the fixes of `findings` allowed by `unsafe` to `text`, verified by `recheck`."""
    candidates = [f for f in findings if wanted(f, unsafe)]
    if not candidates:
        return Fixed(text, [], list(findings))
    attempt = _attempt(text, findings, candidates, recheck)
    if attempt is not None:
        return attempt
    current, fixed, remaining = text, [], list(findings)
    for candidate in candidates:
        same = [f for f in remaining if _same(f, candidate)]
        if not same:
            continue
        one = _attempt(current, remaining, [same[0]], recheck)
        if one is not None:
            current, remaining = one.text, one.remaining
            fixed += one.fixed
    return Fixed(current, fixed, remaining)


def _same(a: Finding, b: Finding) -> bool:
    return (a.code, a.line, a.column, a.message) == (b.code, b.line, b.column, b.message) and a.fix is not None


def _attempt(text: str, before: Sequence[Finding], chosen: Sequence[Finding], recheck: Recheck) -> Fixed | None:
    try:
        new = apply_edits(text, [edit for f in chosen if f.fix is not None for edit in f.fix.edits])
    except (Overlap, ValueError):
        return None
    if new == text or not _parses(new):
        return None
    after = recheck(new)
    allowed = Counter(f.code for f in before)
    allowed.subtract(Counter(f.code for f in chosen))
    if any(count > allowed[code] for code, count in Counter(f.code for f in after).items()):
        return None
    return Fixed(new, list(chosen), after)


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
