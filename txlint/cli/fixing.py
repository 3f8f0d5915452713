"""`--fix`, `--unsafe-fixes`, `--diff`, `--show-fixes`: fixes proposed, verified, previewed, written.

Every finding of a checked Python file is offered its fix (`Finding.fix`, in
JSON and SARIF too). Applying them follows `--add-ignore`'s guarantees: a
file is edited only when the new text parses and the project, analysed again
with it (`txlint.engine.workspace`, from the result cache), reports none of
the fixed findings and nothing new; the file must not have changed since it
was read; it is replaced atomically, keeping its encoding and line endings.
"""

from __future__ import annotations

import difflib
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from txlint.cli.atomicfile import write_atomic
from txlint.core.config import Config
from txlint.core.ftypes import Finding
from txlint.engine.workspace import Workspace
from txlint.fixes.apply import fix_text, wanted
from txlint.fixes.propose import fixable, with_fixes
from txlint.project.sources import read_source


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


def offer_fixes(findings: list[Finding], max_size: int, texts: dict[str, bytes] | None = None) -> list[Finding]:
    """`findings` with the fix each one's fixer proposes (files read once, those with fixable findings only)."""
    by_file: dict[str, list[int]] = {}
    for number, finding in enumerate(findings):
        if fixable(finding):
            by_file.setdefault(finding.path, []).append(number)
    out = list(findings)
    for path, numbers in by_file.items():
        text = _text(path, max_size, texts)
        if text is None:
            continue
        for number, finding in zip(numbers, with_fixes([findings[n] for n in numbers], text), strict=True):
            out[number] = finding
    return out


def apply_fixes(
    findings: list[Finding],
    config: Config,
    enabled: frozenset[str],
    cache: Path | None,
    project: tuple[Sequence[Path], Sequence[str]],
    *,
    unsafe: bool,
    write: bool,
) -> FixOutcome:
    """Apply the fixes `unsafe` allows to the files they are in (`write` False: diffs only)."""
    files = sorted({f.path for f in findings if wanted(f, unsafe)})
    outcome = FixOutcome([f for f in findings if f.path not in files])
    if not files:
        return outcome
    workspace = Workspace(config, enabled, cache)
    workspace.load(*project)
    for shown in files:
        mine = [f for f in findings if f.path == shown]
        path = Path(shown)
        try:
            data = path.read_bytes()
            stamp = os.stat(path)
        except OSError as error:
            outcome.refused.append((shown, f"cannot read the file: {error.strerror or error}"))
            outcome.findings += mine
            continue
        text = _decoded(data)
        if text is None:
            outcome.refused.append((shown, "the file cannot be written back byte for byte as UTF-8"))
            outcome.findings += mine
            continue
        crlf = "\r\n" in text
        if crlf:
            mine = [_crlf(f) for f in mine]

        def recheck(candidate: str, shown: str = shown, path: Path = path) -> list[Finding]:
            return workspace.update(shown, path, candidate.encode("utf-8")).findings

        result = fix_text(text, mine, unsafe, recheck)
        if not result.fixed:
            outcome.findings += mine
            workspace.update(shown, path, None)
            continue
        if write:
            try:
                now = os.stat(path)
                if (now.st_size, now.st_mtime_ns) != (stamp.st_size, stamp.st_mtime_ns) or path.read_bytes() != data:
                    raise OSError("the file changed while txlint was running; run again")
                write_atomic(Path(os.path.realpath(path)), result.text.encode("utf-8"))
            except OSError as error:
                outcome.refused.append((shown, str(error.strerror or error)))
                outcome.findings += mine
                workspace.update(shown, path, None)
                continue
        else:
            outcome.diffs.append(_diff(shown, text, result.text))
        outcome.fixed[shown] = result.fixed
        outcome.findings += result.remaining if write else [f for f in mine if f not in result.fixed]
        workspace.update(shown, path, None)
    outcome.findings.sort(key=Finding.sort_key)
    return outcome


def fixes_summary(outcome: FixOutcome) -> str:
    """ruff's `--show-fixes` listing: per file, how many of each rule were fixed."""
    lines = [f"Fixed {outcome.count} finding{'s' if outcome.count != 1 else ''}:"]
    for shown, fixed in sorted(outcome.fixed.items()):
        lines.append(f"- {shown}:")
        for (code, name), count in sorted(Counter((f.code, f.name) for f in fixed).items()):
            lines.append(f"    {count} x {code} ({name})")
    return "\n".join(lines) + "\n"


def _text(path: str, max_size: int, texts: dict[str, bytes] | None) -> str | None:
    if texts is not None and path in texts:
        return _decoded(texts[path])
    source = read_source(Path(path), path, max_size)
    return getattr(source, "text", None)


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
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{shown}", f"b/{shown}"))
