"""The lines of the files findings point at, for the excerpts of the `full` text format.

A file is read only when a finding is in it, and once however many findings
it has; the stdin buffer is never read again (its bytes are handed over).
Reading goes through `txlint.project.sources` like the analysis does: regular
files only, the size limit, PEP 263 encodings. A file that cannot be read or
decoded gives no lines, and its findings are shown without an excerpt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from txlint.core.ftypes import Notice
from txlint.project.sources import decode_source, read_source

# The line breaks of Python's tokenizer (and of the positions findings carry): not `str.splitlines`,
# which also breaks at form feeds and U+2028, and would shift every line after one.
LINE_BREAK = re.compile(r"\r\n|\r|\n")


class SourceLines:
    """A `SourceLookup`: the lines of a file by the name findings show it under, None when not to be had."""

    def __init__(self, max_size: int, given: Mapping[str, bytes] | None = None) -> None:
        self._max_size = max_size
        self._given = dict(given or {})
        self._lines: dict[str, Sequence[str] | None] = {}

    def __call__(self, path: str) -> Sequence[str] | None:
        if path not in self._lines:
            self._lines[path] = self._read(path)
        return self._lines[path]

    def _read(self, path: str) -> Sequence[str] | None:
        data = self._given.get(path)
        if data is not None:
            source = decode_source(data, path, self._max_size, python=not path.endswith(".sql"))
        else:
            source = read_source(Path(path), path, self._max_size)
        return None if isinstance(source, Notice) else LINE_BREAK.split(source.text)
