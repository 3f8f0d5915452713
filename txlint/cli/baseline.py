"""A baseline: the findings a project accepts today, so that a CI gate fails on new ones only.

`txlint check --write-baseline FILE` records every finding's fingerprint;
`--baseline FILE` then drops the findings whose fingerprint is recorded. A
fingerprint never contains a line number (see `txlint.core.fingerprint`), so code
that only moved (lines inserted above it) still matches, while a second copy
of a recorded bug gets its own fingerprint and is new.

The file is JSON, versioned, sorted and without line numbers or messages, so
it is stable under unrelated edits and diffs well in review:

    {"version": 1, "tool": "txlint", "findings": [
        {"code": "TX101", "path": "shop/services.py", "fingerprint": "3f0c..."}]}

`code` and `path` are for the reader (and for counting stale entries); only
`fingerprint` is matched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from txlint.cli.atomicfile import write_atomic
from txlint.core.ftypes import Finding

FORMAT_VERSION = 1
TOOL = "txlint"


class BaselineError(Exception):
    """A baseline file that cannot be used; the message names the file."""


@dataclass(frozen=True, order=True)
class Entry:
    """One accepted finding. Ordered by path, then code, then fingerprint: the order of the file."""

    path: str
    code: str
    fingerprint: str


@dataclass(frozen=True)
class Baseline:
    """The entries of one baseline file."""

    entries: tuple[Entry, ...]

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(e.fingerprint for e in self.entries)


@dataclass(frozen=True)
class Applied:
    """What a baseline did to one run's findings."""

    new: list[Finding]
    known: int  # findings dropped because the baseline has them
    stale: int  # entries for files and codes this run checked that matched no finding (fixed since)


def project_path(path: str, root: Path) -> str:
    """`path` (as findings show it: relative to the working folder, or absolute) relative to `root`, with `/`.

    Entries then read the same whichever folder txlint ran from; a path
    outside `root` is kept as it is.
    """
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.replace("\\", "/")


def entries(findings: Iterable[Finding], path_of: Callable[[str], str]) -> list[Entry]:
    """The sorted, de-duplicated entries that record `findings`."""
    return sorted({Entry(path_of(f.path), f.code, f.fingerprint) for f in findings})


def dumps(recorded: Sequence[Entry]) -> str:
    document = {"version": FORMAT_VERSION, "tool": TOOL, "findings": [{"code": e.code, "path": e.path, "fingerprint": e.fingerprint} for e in recorded]}
    return json.dumps(document, indent=2) + "\n"


def write(path: Path, recorded: Sequence[Entry]) -> None:
    """Write the baseline atomically (a reader never sees half a file); raises `BaselineError`."""
    try:
        write_atomic(path, dumps(recorded).encode("utf-8"))
    except OSError as error:
        raise BaselineError(f"cannot write baseline {path}: {error.strerror or error}") from error


def read(path: Path) -> Baseline:
    """Read and validate a baseline file; every problem is a `BaselineError` naming the file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BaselineError(f"baseline {path} does not exist (create it with `txlint check --write-baseline {path}`)") from None
    except OSError as error:
        raise BaselineError(f"cannot read baseline {path}: {error.strerror or error}") from error
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise BaselineError(f"baseline {path} is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise BaselineError(f"baseline {path} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None
    return Baseline(_entries(document, path))


def _entries(document: Any, path: Path) -> tuple[Entry, ...]:
    if not isinstance(document, dict) or "version" not in document:
        raise BaselineError(f"baseline {path} is not a txlint baseline (no `version` field)")
    if document["version"] != FORMAT_VERSION:
        raise BaselineError(f"baseline {path} has format version {document['version']!r}; this txlint reads version {FORMAT_VERSION}")
    items = document.get("findings")
    if not isinstance(items, list):
        raise BaselineError(f"baseline {path}: `findings` must be a list")
    result = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("fingerprint"), str):
            raise BaselineError(f"baseline {path}: entry {number} of `findings` has no `fingerprint` string")
        result.append(Entry(str(item.get("path", "")), str(item.get("code", "")), item["fingerprint"]))
    return tuple(result)


def apply(baseline: Baseline, findings: Sequence[Finding], checked: set[str], enabled: frozenset[str]) -> Applied:
    """Drop the findings the baseline records.

    `checked` are the project paths of the files this run checked and
    `enabled` its codes: an entry outside them was not looked for, so it
    does not count as stale.
    """
    known = baseline.fingerprints
    new = [f for f in findings if f.fingerprint not in known]
    matched = {f.fingerprint for f in findings} & known
    stale = sum(1 for e in baseline.entries if e.fingerprint not in matched and e.path in checked and e.code in enabled)
    return Applied(new, len(findings) - len(new), stale)
