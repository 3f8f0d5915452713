"""Which lines changed since a git revision: what `--diff REF` (`--changed-since REF`) reports on.

A pull-request gate on a legacy codebase must fail on the bugs a change
brings in, not on the hundreds that were there before. The changed lines are
the added and modified lines of `git diff --unified=0` between the merge base
of REF and HEAD (for REF an ancestor of HEAD, REF itself; this is what a pull
request's "Files changed" tab shows, even when the target branch has moved
on) and the working tree, staged or not; an untracked file is changed as a
whole. Renames are followed, so a file that was only moved has no changed
lines. Paths are kept relative to the top of the work tree and matched
against findings by their absolute location, so the folder txlint runs from
does not matter.

Git runs as a subprocess with an argument list (no shell); every way it can
fail (no git, not a repository, an unknown revision) is a
`ChangedLinesError` with a message that says what to do.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from txlint.core.ftypes import Finding

_HUNK = re.compile(rb"^@@ -\d+(?:,(?P<old>\d+))? \+(?P<start>\d+)(?:,(?P<count>\d+))? @@")
_ESCAPES = {b"a": 7, b"b": 8, b"t": 9, b"n": 10, b"v": 11, b"f": 12, b"r": 13, b'"': 34, b"\\": 92}


class ChangedLinesError(Exception):
    """`--diff` cannot be answered: git is missing, this is not a repository, or the revision is unknown."""


@dataclass(frozen=True)
class ChangedLines:
    """The lines changed since a revision, by path relative to the work tree's top."""

    top: Path
    base: str  # the commit compared with (the merge base)
    lines: dict[str, frozenset[int]] = field(default_factory=dict)
    whole: frozenset[str] = frozenset()  # untracked files: every line is new

    def changed(self, path: str, line: int) -> bool:
        """Whether `line` of `path` (as findings show it: relative to the working folder, or absolute) changed."""
        relative = self._relative(path)
        return relative is not None and (relative in self.whole or line in self.lines.get(relative, ()))

    def touches(self, finding: Finding) -> bool:
        """Whether a changed line is part of the finding: its own lines, or a related location (the unlocked read).

        A change that removes `select_for_update()` from a read introduces a
        lost update reported on the later `save()`: the gate must see it.
        """
        own = any(self.changed(finding.path, line) for line in range(finding.line, max(finding.line, finding.end_line) + 1))
        return own or any(self.changed(r.path, r.line) for r in finding.related)

    def _relative(self, path: str) -> str | None:
        absolute = Path(os.path.abspath(path))
        # Resolve the folder, not the file: a symlinked file is tracked under its own name.
        try:
            return (absolute.parent.resolve() / absolute.name).relative_to(self.top).as_posix()
        except ValueError:
            return None


def changed_since(ref: str, start: Path | None = None) -> tuple[ChangedLines, str | None]:
    """The lines changed since `ref` in the git work tree holding `start` (default: the cwd), and a notice to show, if any."""
    if not ref or ref.startswith("-"):
        raise ChangedLinesError(f"--diff: `{ref}` is not a git revision")
    here = start or Path.cwd()
    top_output = _git(["rev-parse", "--show-toplevel"], here, f"--diff needs a git repository, and {here} is not inside one")
    top = Path(os.fsdecode(top_output.rstrip(b"\n"))).resolve()
    commit = _git(
        ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top, f"--diff: `{ref}` is not a commit in the git repository at {top}"
    ).decode("ascii").strip()
    base, notice = _merge_base(commit, ref, top)
    diff = _git(
        [
            "diff", "--unified=0", "--no-color", "--no-ext-diff", "--no-textconv", "--find-renames",
            "--ignore-submodules", "--src-prefix=a/", "--dst-prefix=b/", base, "--",
        ],
        top,
        f"--diff: git diff against `{ref}` failed",
    )  # fmt: skip
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], top, "--diff: git ls-files failed")
    whole = frozenset(os.fsdecode(name) for name in untracked.split(b"\0") if name)
    return ChangedLines(top, base, dict(parse_diff(diff.split(b"\n"))), whole), notice


def _merge_base(commit: str, ref: str, top: Path) -> tuple[str, str | None]:
    completed = _run(["merge-base", commit, "HEAD"], top)
    if completed.returncode == 0 and completed.stdout.strip():
        return completed.stdout.decode("ascii").strip(), None
    # No common history (a shallow clone, unrelated histories) or no HEAD yet:
    # compare with REF itself, which may count the target branch's own changes.
    return commit, f"--diff: `{ref}` and HEAD have no merge base (a shallow clone? fetch with depth 0); comparing with `{ref}` itself"


def parse_diff(lines: Sequence[bytes]) -> Iterator[tuple[str, frozenset[int]]]:
    """(path, added line numbers) for each file of a `git diff --unified=0` output with `a/`/`b/` prefixes.

    Hunk bodies are skipped by the counts in their headers, so a content line
    that happens to start with `+++ ` is never read as a file header.
    """
    path: str | None = None
    added: set[int] = set()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.startswith(b"diff --git "):
            if path is not None and added:
                yield path, frozenset(added)
            path, added = None, set()
        elif line.startswith(b"+++ "):
            name = _unquote(line[4:])
            path = os.fsdecode(name[2:]) if name.startswith(b"b/") else None  # /dev/null: deleted
        elif (hunk := _HUNK.match(line)) is not None:
            start, count = int(hunk["start"]), int(hunk["count"] or 1)
            added.update(range(start, start + count))
            index = _skip_body(lines, index, int(hunk["old"] or 1) + count)
    if path is not None and added:
        yield path, frozenset(added)


def _skip_body(lines: Sequence[bytes], index: int, count: int) -> int:
    while count > 0 and index < len(lines):
        if not lines[index].startswith(b"\\"):  # "\ No newline at end of file" is not a line of the hunk
            count -= 1
        index += 1
    while index < len(lines) and lines[index].startswith(b"\\"):
        index += 1
    return index


def _unquote(name: bytes) -> bytes:
    """Git's C-style quoting of unusual file names (`"b/caf\\303\\251.py"`) undone, byte for byte."""
    if not (name.startswith(b'"') and name.endswith(b'"') and len(name) >= 2):
        return name.rstrip(b"\t")  # git appends a tab to names that contain a space
    body, out, index = name[1:-1], bytearray(), 0
    while index < len(body):
        char = body[index : index + 1]
        if char != b"\\":
            out += char
            index += 1
        elif body[index + 1 : index + 2].isdigit():
            out.append(int(body[index + 1 : index + 4], 8))
            index += 4
        else:
            out.append(_ESCAPES.get(body[index + 1 : index + 2], body[index + 1]))
            index += 2
    return bytes(out)


def _git(args: list[str], cwd: Path, failure: str) -> bytes:
    completed = _run(args, cwd)
    if completed.returncode != 0:
        detail = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ChangedLinesError(failure + (f" (git: {detail[-1]})" if detail else ""))
    return completed.stdout


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise ChangedLinesError("--diff needs git, and `git` was not found on PATH") from None
    except OSError as error:
        raise ChangedLinesError(f"--diff: cannot run git: {error.strerror or error}") from error
