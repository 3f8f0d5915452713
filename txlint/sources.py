"""Reading a file's text safely: size limit, binary check, PEP 263 encodings.

Every way a file can be unusable ends as a `Notice` (the file is reported
once and skipped), never as an exception that stops the run.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

from txlint.ftypes import Notice

BINARY_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class SourceText:
    """A file's decoded text."""

    path: str
    text: str


def read_source(path: Path, display: str, max_size: int) -> SourceText | Notice:
    """Read and decode `path`; return a `Notice` saying why not when it cannot be used."""
    try:
        size = path.stat().st_size
        if size > max_size:
            return Notice(display, f"skipped: {size} bytes is over the {max_size}-byte limit (max-file-size)")
        data = path.read_bytes()
    except FileNotFoundError:
        return Notice(display, "skipped: the file disappeared while txlint was running")
    except OSError as error:
        return Notice(display, f"skipped: cannot read: {error.strerror or error}")
    return decode_source(data, display, max_size, python=path.suffix in {".py", ".pyi"})


def decode_source(data: bytes, display: str, max_size: int, *, python: bool) -> SourceText | Notice:
    """Decode bytes read from a file or stdin."""
    if len(data) > max_size:
        return Notice(display, f"skipped: {len(data)} bytes is over the {max_size}-byte limit (max-file-size)")
    if b"\0" in data[:BINARY_SNIFF_BYTES] or b"\0" in data:
        return Notice(display, "skipped: binary file (it contains NUL bytes)")
    encoding = "utf-8"
    if python:
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        except SyntaxError as error:
            return Notice(display, f"skipped: {error.msg if hasattr(error, 'msg') else error}")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        return Notice(display, f"skipped: not valid {encoding} text ({_short(error)})")
    return SourceText(display, text.removeprefix("\ufeff"))


def _short(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"byte 0x{error.object[error.start]:02x} at offset {error.start}"
    return str(error)
