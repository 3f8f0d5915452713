"""Stable finding fingerprints: survive unrelated edits that move lines.

A fingerprint hashes what the finding is about (code, file, enclosing unit,
the reported line's text without whitespace) plus an occurrence counter for
identical lines, and never the line number itself.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace

from txlint.ftypes import Finding


def with_fingerprints(findings: list[Finding], lines: list[str], unit_of: dict[Finding, str]) -> list[Finding]:
    """Return the findings with `fingerprint` set."""
    seen: Counter[str] = Counter()
    result = []
    for finding in sorted(findings, key=Finding.sort_key):
        text = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
        base = "\0".join((finding.code, finding.path.replace("\\", "/"), unit_of.get(finding, ""), "".join(text.split())))
        seen[base] += 1
        # surrogatepass: a file name that is not valid UTF-8 (legal on POSIX) still hashes.
        digest = hashlib.sha256(f"{base}\0{seen[base]}".encode("utf-8", "surrogatepass")).hexdigest()[:16]
        result.append(replace(finding, fingerprint=digest))
    return result
