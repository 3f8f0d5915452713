"""Replacing a file's content all at once: a temporary file in the same folder, then `os.replace`.

A report, a baseline or a source file that txlint rewrites must never be left
half written (a full disk, Ctrl-C, a CI job killed on timeout): readers see
either the old content or the new one. The temporary file is created in the
target's folder because a rename is only atomic within one file system.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write `data` to `path` atomically; raises `OSError` (and leaves `path` untouched) on failure.

    A new file gets the usual permissions (0o666 less the umask), a replaced
    file keeps its own; `mode` overrides both.
    """
    folder = path.parent
    if mode is None:
        with contextlib.suppress(FileNotFoundError):
            mode = stat.S_IMODE(path.stat().st_mode)
    temporary = folder / f".{path.name}.{secrets.token_hex(4)}.txlint-tmp"
    # O_EXCL with the default 0o666: the umask applies, unlike tempfile.mkstemp's 0o600.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
