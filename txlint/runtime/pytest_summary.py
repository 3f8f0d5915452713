"""The `txlint runtime` section of pytest's terminal summary: each finding once, with the tests that hit it.

A CI log is read from the bottom: the section lists every finding of the
session (file:line, code, message, the read and write lines it relates to,
the `txlint explain` hint), a bug hit by several tests once with how many hit
it, and ends with the counts (findings by code, tests affected).

Findings reach the tally as plain dictionaries (`Finding.to_dict()`) carried
on pytest's test reports, so that under pytest-xdist the workers' findings
travel to the controller with the reports they belong to: the controller
prints the section, the workers judge the tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from txlint.core.ftypes import Finding

REPORT_ATTRIBUTE = "txlint_findings"  # the test report's attribute that carries a phase's findings
TESTS_SHOWN = 3  # tests named under a finding; the rest are counted


class Writer(Protocol):
    """What the section needs of pytest's `TerminalReporter`."""

    def write_sep(self, sep: str, title: str | None = None, **markup: bool) -> None: ...

    def write_line(self, line: str, **markup: bool) -> None: ...


def to_wire(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """Findings as the builtin values a report carries (and xdist serialises)."""
    return [finding.to_dict() for finding in findings]


def explain_hint(code: str) -> str:
    return f"why it is a bug and how to fix it: txlint explain {code}"


@dataclass
class _Entry:
    finding: dict[str, Any]
    tests: list[tuple[str, str]] = field(default_factory=list)  # (node id, phase)


class FindingTally:
    """Every finding of the session by code and line, with the tests (and phases) that produced it."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._judged: set[str] = set()

    def judged(self, nodeid: str) -> None:
        """A test ran (its call phase) under the runtime analysis."""
        self._judged.add(nodeid)

    def add(self, nodeid: str, when: str, findings: Iterable[dict[str, Any]]) -> None:
        test = (nodeid, when)
        for finding in findings:
            # By line, not by fingerprint: a fingerprint follows the line's text, so two findings on
            # two alike lines of a file (`account.save()` twice) share one; within a run, the line tells them apart.
            key = f"{finding.get('code')}:{finding.get('path')}:{finding.get('line')}"
            entry = self._entries.setdefault(key, _Entry(finding))
            if test not in entry.tests:
                entry.tests.append(test)

    def __len__(self) -> int:
        return len(self._entries)

    def write(self, writer: Writer, mode: str) -> None:
        """The section: each finding, then the counts."""
        writer.write_sep("=", "txlint runtime")
        entries = sorted(self._entries.values(), key=lambda e: (str(e.finding.get("path")), int(e.finding.get("line") or 0), str(e.finding.get("code"))))
        for entry in entries:
            for number, line in enumerate(_finding_lines(entry)):
                writer.write_line(line, red=number == 0 and mode == "raise", yellow=number == 0 and mode != "raise", bold=number == 0)
        writer.write_line(self.counts(mode), bold=True)

    def counts(self, mode: str) -> str:
        judged = len(self._judged)
        if not self._entries:
            return f"txlint runtime: no transaction-safety findings in {_plural(judged, 'test')} (mode={mode})"
        by_code = Counter(str(entry.finding.get("code")) for entry in self._entries.values())
        codes = ", ".join(f"{code}: {count}" for code, count in sorted(by_code.items()))
        affected = {nodeid for entry in self._entries.values() for nodeid, _ in entry.tests}
        outcome = "those tests failed" if mode == "raise" else "reported only, no test failed for them"
        return (
            f"txlint runtime: {_plural(len(self._entries), 'finding')} ({codes}) "
            f"in {len(affected)} of {_plural(judged, 'test')} (mode={mode}: {outcome})"
        )


def _finding_lines(entry: _Entry) -> list[str]:
    finding = entry.finding
    lines = [f"{finding.get('path')}:{finding.get('line')}: {finding.get('code')} [{finding.get('name')}] {finding.get('message')}"]
    lines += [f"    {related.get('path')}:{related.get('line')}: {related.get('message')}" for related in finding.get("related") or ()]
    shown = ", ".join(nodeid if when == "call" else f"{nodeid} ({when})" for nodeid, when in entry.tests[:TESTS_SHOWN])
    more = len(entry.tests) - TESTS_SHOWN
    lines.append(f"    hit by {_plural(len(entry.tests), 'test')}: {shown}" + (f" and {more} more" if more > 0 else ""))
    lines.append(f"    {explain_hint(str(finding.get('code')))}")
    return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
