"""Stable finding fingerprints: survive unrelated edits that move lines.

A fingerprint hashes what the finding is about (code, file, enclosing unit,
the reported line's text without whitespace) plus an occurrence counter for
identical lines, and never the line number itself.

The file is named relative to the project root, not as the finding shows it
(relative to the working folder): a baseline written by `txlint check src`
must still match after `cd src && txlint check .`, or in a CI job that runs
from another folder.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import replace
from pathlib import Path

from txlint.core.ftypes import Finding


def with_fingerprints(findings: list[Finding], lines: list[str], unit_of: dict[Finding, str], root: Path | None = None) -> list[Finding]:
    """Return the findings with `fingerprint` set; `root` is the project root paths are hashed relative to."""
    resolved = root.resolve() if root is not None else None
    seen: Counter[str] = Counter()
    result = []
    for finding in sorted(findings, key=Finding.sort_key):
        text = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
        base = _base(finding.code, project_path(finding.path, resolved), unit_of.get(finding, ""), text)
        seen[base] += 1
        result.append(replace(finding, fingerprint=_digest(base, seen[base])))
    return result


def fingerprint_of(code: str, path: str, unit: str, text: str, occurrence: int = 1) -> str:
    """The fingerprint of one finding: `path` relative to the project root (`project_path`), the
    enclosing `unit` ("" when not known, as at run time), the reported line's `text`, and which
    occurrence of that same base it is."""
    return _digest(_base(code, path, unit, text), occurrence)


def _base(code: str, path: str, unit: str, text: str) -> str:
    return "\0".join((code, path, unit, "".join(text.split())))


def _digest(base: str, occurrence: int) -> str:
    # surrogatepass: a file name that is not valid UTF-8 (legal on POSIX) still hashes.
    return hashlib.sha256(f"{base}\0{occurrence}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


def project_path(path: str, root: Path | None) -> str:
    """`path` relative to the resolved project `root`, with `/`; as given when it lies outside the root."""
    if root is not None:
        try:
            return Path(os.path.abspath(path)).relative_to(root).as_posix()
        except ValueError:
            pass
    return path.replace("\\", "/")
