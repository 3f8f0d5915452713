"""Reading a file's text safely: regular files only, size limit, binary check, PEP 263 encodings.

Every way a file can be unusable ends as a `Notice` (the file is reported
once and skipped), never as an exception that stops the run, and never as a
read that does not end: a path named `x.py` can be a FIFO (reading it waits
for a writer forever) or a symlink to `/dev/zero` (reading it never reaches
an end), so what is read is checked on the open file itself, and no more
than the size limit is ever read.
"""

from __future__ import annotations

import io
import os
import stat
import tokenize
from dataclasses import dataclass
from pathlib import Path

from txlint.core.ftypes import Notice

BINARY_SNIFF_BYTES = 8192
# Opening a FIFO for reading waits for a writer unless the open does not block (POSIX).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


class Unreadable(Exception):
    """Why the bytes of a path were not read; the message is shown to the user. `configured`: the
    configuration asked for the skip (a file over `max-file-size`)."""

    def __init__(self, message: str, *, configured: bool = False) -> None:
        super().__init__(message)
        self.configured = configured


@dataclass(frozen=True)
class SourceText:
    """A file's decoded text."""

    path: str
    text: str


def read_source(path: Path, display: str, max_size: int) -> SourceText | Notice:
    """Read and decode `path`; return a `Notice` saying why not when it cannot be used."""
    try:
        data = read_regular_file(path, max_size)
    except Unreadable as why:
        return Notice(display, f"skipped: {why}", not_analysed=not why.configured)
    except FileNotFoundError:
        return Notice(display, "skipped: the file disappeared while txlint was running", not_analysed=True)
    except OSError as error:
        return Notice(display, f"skipped: cannot read: {error.strerror or error}", not_analysed=True)
    return decode_source(data, display, max_size, python=path.suffix in {".py", ".pyi"})


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of `path` (symlinks followed) when it is a regular file of at most `limit` bytes.

    Raises `Unreadable` for anything else (a folder, FIFO, device or socket, or
    a file over the limit, even one that grew after it was measured) and
    `OSError` when it cannot be opened or read.
    """
    descriptor = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(descriptor)  # of what was opened, not of what the path names by now
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"not a regular file ({_kind(info.st_mode)})")
        if info.st_size > limit:
            raise Unreadable(_over_limit(info.st_size, limit), configured=True)
        with open(descriptor, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(descriptor)
    if len(data) > limit:
        raise Unreadable(f"the file grew past the {limit}-byte limit (max-file-size) while it was read", configured=True)
    return data


def _kind(mode: int) -> str:
    kinds = {stat.S_ISDIR: "a folder", stat.S_ISFIFO: "a pipe", stat.S_ISSOCK: "a socket", stat.S_ISCHR: "a device", stat.S_ISBLK: "a device"}
    return next((name for test, name in kinds.items() if test(mode)), "a special file")


def _over_limit(size: int, limit: int) -> str:
    return f"{size} bytes is over the {limit}-byte limit (max-file-size)"


def decode_source(data: bytes, display: str, max_size: int, *, python: bool) -> SourceText | Notice:
    """Decode bytes read from a file or stdin."""
    if len(data) > max_size:
        return Notice(display, f"skipped: {_over_limit(len(data), max_size)}")
    if b"\0" in data[:BINARY_SNIFF_BYTES] or b"\0" in data:
        return Notice(display, "skipped: binary file (it contains NUL bytes)", not_analysed=True)
    encoding = "utf-8"
    if python:
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        except SyntaxError as error:
            return Notice(display, f"skipped: {error.msg if hasattr(error, 'msg') else error}", not_analysed=True)
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        return Notice(display, f"skipped: not valid {encoding} text ({_short(error)})", not_analysed=True)
    return SourceText(display, text.removeprefix("\ufeff"))


def _short(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"byte 0x{error.object[error.start]:02x} at offset {error.start}"
    return str(error)
