"""Apply fixes to one file's text, keeping only those the analysis confirms.

A set of fixes is kept when the edited text parses and, analysed again against
the project, reports none of the fixed findings and nothing it did not report
before (per rule, no more findings than before minus those fixed). All the
fixes are tried together first; if that does not hold, one at a time, each
kept when it holds together with those kept before it — every edit applied to
the original text, where its positions were taken.
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
    """Whether the finding's fix is one to apply: safe, or unsafe ones allowed."""
    return finding.fix is not None and (unsafe or finding.fix.applicability is Applicability.SAFE)


def fix_text(text: str, findings: Sequence[Finding], unsafe: bool, recheck: Recheck, candidates: Sequence[Finding] | None = None) -> Fixed:
    """Apply the fixes allowed by `unsafe` to `text`, verified by `recheck`. `findings` are all the
    file's findings (what a fix must not add to); `candidates`, those whose fixes to try (default:
    all of them)."""
    chosen = [f for f in (findings if candidates is None else candidates) if wanted(f, unsafe)]
    if not chosen:
        return Fixed(text, [], list(findings))
    together = _attempt(text, findings, chosen, recheck)
    if together is not None or len(chosen) == 1:
        return together or Fixed(text, [], list(findings))
    kept: Fixed | None = None
    for candidate in chosen:
        trial = _attempt(text, findings, [*(kept.fixed if kept else []), candidate], recheck)
        if trial is not None:
            kept = trial
    return kept or Fixed(text, [], list(findings))


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
