"""The runtime's public vocabulary: which codes it reports and how a finding is raised or shown.

Kept free of heavy imports (no sqlglot, no SQLAlchemy) so that importing
`txlint.runtime`, or loading the pytest plugin without `--txlint-runtime`,
costs nothing and changes nothing.
"""

from __future__ import annotations

from txlint.core.ftypes import Finding

# The codes a trace can show: the rules that declare what can trigger them (`Rule.triggers`; a test
# holds this list to them, which cannot be asked here without importing every rule). TX102 needs
# the branch a decision took, which SQL does not show.
RUNTIME_CODES = ("TX101", "TX103", "TX104", "TX105", "TX106", "TX107", "TX108", "TX109")


class TransactionSafetyWarning(UserWarning):
    """A transaction-safety problem seen at run time (mode="warn")."""


class TransactionSafetyError(Exception):
    """A transaction-safety problem seen at run time (mode="raise"); `finding` says which."""

    def __init__(self, finding: Finding) -> None:
        self.finding = finding
        try:
            text = format_finding(finding)
        except Exception:  # noqa: BLE001 - only this type may reach the host in raise mode, whatever the finding holds
            text = f"{getattr(finding, 'code', 'TX')}: transaction-safety finding"
        super().__init__(text)


def format_finding(finding: Finding) -> str:
    """`path:line: CODE [name] message`, then one indented line per related location."""
    lines = [f"{finding.path}:{finding.line}: {finding.code} [{finding.name}] {finding.message}"]
    lines += [f"    {r.path}:{r.line}: {r.message}" for r in finding.related]
    return "\n".join(lines)
