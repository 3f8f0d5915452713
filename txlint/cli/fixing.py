"""`--fix`, `--unsafe-fixes`, `--diff`, `--show-fixes`: fixes verified, previewed, written.

Every finding a fixer can repair carries its fix (`Finding.fix`, proposed where
the engine judges the file; in JSON and SARIF too). Applying them follows `--add-ignore`'s guarantees: a
file is edited only when the new text parses and the project, analysed again
with it (`txlint.engine.workspace`, from the result cache), reports none of
the fixed findings and nothing new; the file must not have changed since it
was read; it is replaced atomically, keeping its encoding and line endings.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import click

from txlint.cli.add_ignore import Stamp
from txlint.cli.atomicfile import write_atomic
from txlint.cli.inputs import Inputs
from txlint.cli.messages import notice
from txlint.core.config import Config
from txlint.core.ftypes import Finding, Notice
from txlint.engine.workspace import Workspace
from txlint.fixes.apply import Fixed, fix_text, wanted


@dataclass
class FixOutcome:
    """What the fixes did: the findings still reported, what was fixed per file, the diffs."""

    findings: list[Finding]
    fixed: dict[str, list[Finding]] = field(default_factory=dict)
    diffs: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (file, why it was left alone)

    @property
    def count(self) -> int:
        return sum(len(found) for found in self.fixed.values())


@dataclass(frozen=True)
class FixInputs:
    """What fixes are applied from: the `reported` findings (their fixes are applied), `everything`
    the analysis found before a baseline or a diff gate hid some (a fix must not add to it), the
    settings and files of the project to verify them against, and the files' `stamps` before the
    analysis (a file changed since is left alone: the findings' positions are of the text that was
    analysed)."""

    reported: list[Finding]
    everything: list[Finding]
    settings: tuple[Config, frozenset[str], Path | None]
    project: tuple[list[Path], list[str]]
    stamps: dict[str, Stamp]


def apply_fixes(inputs: FixInputs, *, unsafe: bool, write: bool) -> FixOutcome:
    """Apply the fixes `unsafe` allows of the reported findings to the files they are in (`write`
    False: diffs only)."""
    reported, everything, stamps = inputs.reported, inputs.everything, inputs.stamps
    files = sorted({f.path for f in reported if wanted(f, unsafe)})
    outcome = FixOutcome([f for f in reported if f.path not in files])
    if not files:
        return outcome
    workspace = Workspace(*inputs.settings)
    workspace.load(*inputs.project)
    for shown in files:
        mine = [f for f in reported if f.path == shown]
        result = _fix_file(workspace, shown, mine, [f for f in everything if f.path == shown], stamps.get(shown), unsafe, write, outcome)
        if result is None or not result.fixed:
            outcome.findings += mine
        else:
            outcome.fixed[shown] = result.fixed
            # What the file reports now, of what was reported before (a gate's hidden findings stay hidden).
            still = [f for f in mine if not any(f is fixed or _same(f, fixed) for fixed in result.fixed)]
            outcome.findings += result.remaining if len(mine) == len([f for f in everything if f.path == shown]) else still
        workspace.update(shown, Path(shown), None)
    outcome.findings.sort(key=Finding.sort_key)
    return outcome


def _fix_file(
    workspace: Workspace, shown: str, mine: list[Finding], all_mine: list[Finding], stamp: Stamp | None, unsafe: bool, write: bool, outcome: FixOutcome
) -> Fixed | None:
    path = Path(shown)
    try:
        data = path.read_bytes()
    except OSError as error:
        outcome.refused.append((shown, f"cannot read the file: {error.strerror or error}"))
        return None
    if stamp is None or Stamp.of(path) != stamp:
        outcome.refused.append((shown, "the file changed while txlint was running; run again"))
        return None
    text = _decoded(data)
    if text is None:
        outcome.refused.append((shown, "the file cannot be written back byte for byte as UTF-8"))
        return None
    if "\r\n" in text:
        mine, all_mine = [_crlf(f) for f in mine], [_crlf(f) for f in all_mine]

    def recheck(candidate: str) -> list[Finding]:
        return workspace.update(shown, path, candidate.encode("utf-8")).findings

    result = fix_text(text, all_mine, unsafe, recheck, candidates=mine)
    if not result.fixed:
        return result
    if not write:
        outcome.diffs.append(_diff(shown, text, result.text))
        return result
    try:
        if Stamp.of(path) != stamp or path.read_bytes() != data:
            raise OSError("the file changed while txlint was running; run again")
        write_atomic(Path(os.path.realpath(path)), result.text.encode("utf-8"))
    except OSError as error:
        outcome.refused.append((shown, str(error.strerror or error)))
        return None
    return result


def _same(a: Finding, b: Finding) -> bool:
    """The same finding (a finding and its copy with a fix, or with CRLF edits)."""
    return (a.code, a.path, a.line, a.column, a.message) == (b.code, b.path, b.line, b.column, b.message)


def fixes_summary(outcome: FixOutcome) -> str:
    """ruff's `--show-fixes` listing: per file, how many of each rule were fixed."""
    lines = [f"Fixed {outcome.count} finding{'s' if outcome.count != 1 else ''}:"]
    for shown, fixed in sorted(outcome.fixed.items()):
        lines.append(f"- {shown}:")
        for (code, name), count in sorted(Counter((f.code, f.name) for f in fixed).items()):
            lines.append(f"    {count} x {code} ({name})")
    return "\n".join(lines) + "\n"


def _decoded(data: bytes) -> str | None:
    """The text of a file that can be written back as it was read (UTF-8, no BOM)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.encode("utf-8") == data and not text.startswith("\ufeff") else None


def _crlf(finding: Finding) -> Finding:
    """Its fix writing the file's own line endings."""
    if finding.fix is None:
        return finding
    edits = tuple(replace(e, content=e.content.replace("\r\n", "\n").replace("\n", "\r\n")) for e in finding.fix.edits)
    return replace(finding, fix=replace(finding.fix, edits=edits))


def _diff(shown: str, old: str, new: str) -> str:
    """A unified diff `git apply` and `patch` take: lines split at `\\n` only, and a last line
    without one marked as such."""
    lines = []
    for line in difflib.unified_diff(_lines(old), _lines(new), f"a/{shown}", f"b/{shown}"):
        lines.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(lines)


def _lines(text: str) -> list[str]:
    return [line + "\n" for line in text.split("\n")[:-1]] + ([text.rsplit("\n", 1)[-1]] if not text.endswith("\n") else [])


# -- what `check` does with them --------------------------------------------------------------------


@dataclass(frozen=True)
class FixRequest:
    """What `check` was asked to do with fixes."""

    unsafe: bool
    diff: bool
    show: bool
    quiet: bool
    exit_zero: bool


def fix_refusal(inputs: Inputs, other_action: bool, fix_diff: bool) -> str | None:
    """Before the analysis: why fixes cannot be applied here, if they cannot."""
    if inputs.stdin:
        return "--fix and --diff edit files, so they cannot read the source from stdin (`-`)"
    if other_action:
        return "--fix and --diff cannot be combined with --add-ignore or --write-baseline: run them one after the other"
    missing = [path for path in inputs.paths if not Path(path).exists()]
    if fix_diff and missing:
        return f"{missing[0]}: no such file or directory (--diff previews fixes and takes no value; to report only findings on lines changed since a git ref, use --changed-since REF)"
    return None


def applied(inputs: FixInputs, request: FixRequest) -> list[Finding]:
    """Apply the fixes (or print them as a diff and exit); the findings still reported."""
    outcome = apply_fixes(inputs, unsafe=request.unsafe, write=not request.diff)
    for shown, why in outcome.refused:
        notice(Notice(shown, f"fixes not applied: {why}"))
    if request.diff:
        click.echo("".join(outcome.diffs), nl=False)
        if not request.quiet:
            click.echo(f"Would fix {outcome.count} finding{'s' if outcome.count != 1 else ''}.", err=True)
        sys.exit(1 if outcome.count and not request.exit_zero else 0)
    if not request.quiet:
        click.echo(fixes_summary(outcome) if request.show else f"Fixed {outcome.count} finding{'s' if outcome.count != 1 else ''}.\n", err=True, nl=False)
    return outcome.findings
