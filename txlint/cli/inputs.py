"""What `check` reads: the paths named on the command line, or one source on stdin.

As in ruff, `--stdin-filename NAME` alone means "the source is on stdin,
report it as NAME" (`txlint check --stdin-filename app/x.py < buffer`), with or
without the path `-`; naming files besides would leave it unclear what is
checked, so it is refused rather than one of them silently ignored.

The project a run belongs to is found from what it reads, never from the
working folder: the first named path that exists, or the stdin name's
nearest folder on disk (an unsaved file's folder may not exist yet).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STDIN = "-"


class InputError(Exception):
    """Paths and `--stdin-filename` that cannot be combined; the message says why."""


@dataclass(frozen=True)
class Inputs:
    """The paths to check (`("-",)` for stdin) and, for stdin, the name its source is reported under."""

    paths: tuple[str, ...]
    stdin: bool = False
    stdin_name: str | None = None

    @property
    def shown(self) -> str:
        """The name stdin's source is reported under."""
        return self.stdin_name or STDIN

    def anchor(self) -> Path:
        """The path the project (configuration, root, git work tree) is found from."""
        if self.stdin:
            if not self.stdin_name:
                return Path.cwd()
            named = Path(self.stdin_name)
            return next((p for p in (named, *named.parents) if p.exists()), Path.cwd())
        return next((Path(p) for p in self.paths if Path(p).exists()), Path.cwd())

    def folder(self) -> Path:
        """The anchor's folder, absolute."""
        anchor = Path(os.path.abspath(self.anchor()))
        return anchor if anchor.is_dir() else anchor.parent


def inputs_of(paths: tuple[str, ...], stdin_filename: str | None) -> Inputs:
    """The command line's paths and `--stdin-filename` as one `Inputs`; `InputError` when they conflict."""
    if stdin_filename is not None:
        others = [p for p in paths if p != STDIN]
        if others:
            raise InputError(f"--stdin-filename reads the source from stdin, so it cannot be combined with paths to check ({', '.join(others)})")
        return Inputs((STDIN,), stdin=True, stdin_name=stdin_filename)
    if STDIN in paths and len(paths) > 1:
        raise InputError("`-` (stdin) cannot be combined with other paths")
    if paths == (STDIN,):
        return Inputs(paths, stdin=True)
    return Inputs(paths or (".",))
