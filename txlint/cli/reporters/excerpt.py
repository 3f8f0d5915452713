"""The source line under a finding in the `full` text format, with carets under its span (as ruff's `full`).

Columns are 1-based code points and `end_column` is exclusive (`Span`), but
a terminal lays out cells: a tab reaches the next multiple of `TAB_WIDTH`, a
wide (East Asian) character takes two cells, a combining mark none, and a
control character is shown escaped as the text format does everywhere. So
the line and its carets are laid out together, cell by cell, and the carets
stay under the code whatever the line holds. A line far longer than a screen
is cut around the span. Anything that does not fit (a line out of range, a
file that changed or cannot be read) gives no excerpt rather than a wrong one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

TAB_WIDTH = 4
MAX_CHARACTERS = 200  # of a source line shown; a longer line is cut around the span
CUT = "..."


@dataclass(frozen=True)
class Excerpt:
    """One source line as shown, its number, and the carets under the span (leading spaces included)."""

    number: int
    text: str
    carets: str


def excerpt(lines: Sequence[str], line: int, column: int, end_line: int, end_column: int) -> Excerpt | None:
    """The excerpt of a span in a file's `lines` (without line endings); None when `line` is not in them.

    A span over several lines is underlined to the end of its first line.

    >>> excerpt(["x = 1", "\\tacct.save()"], 2, 2, 2, 13)
    Excerpt(number=2, text='    acct.save()', carets='    ^^^^^^^^^^^')
    """
    if not 1 <= line <= len(lines):
        return None
    full = lines[line - 1]
    start = min(max(column - 1, 0), len(full))
    end = end_column - 1 if end_line == line else len(full.rstrip())
    end = min(max(end, start), len(full))
    low, high = _window(len(full), start)
    start, end = min(start, high), min(end, high)
    prefix = CUT if low > 0 else ""
    text, width, offsets = prefix, len(prefix), []
    for ch in full[low:high]:
        shown, cells = _cell(ch, width)
        offsets.append(width)
        text += shown
        width += cells
    offsets.append(width)
    first, last = offsets[start - low], offsets[end - low]
    suffix = CUT if high < len(full) else ""
    return Excerpt(line, text + suffix, " " * first + "^" * max(last - first, 1))


def _window(length: int, start: int) -> tuple[int, int]:
    """The characters of a line shown: all of a line that fits, else `MAX_CHARACTERS` from a little before the span."""
    if length <= MAX_CHARACTERS:
        return 0, length
    low = max(0, min(start - MAX_CHARACTERS // 4, length - MAX_CHARACTERS))
    return low, low + MAX_CHARACTERS


def _cell(ch: str, width: int) -> tuple[str, int]:
    """How one character is shown, `width` cells into the line, and how many cells it takes."""
    if ch == "\t":
        spaces = TAB_WIDTH - width % TAB_WIDTH
        return " " * spaces, spaces
    if not (ch.isprintable() or ch == " "):
        escaped = ascii(ch)[1:-1]
        return escaped, len(escaped)
    if unicodedata.combining(ch):
        return ch, 0
    return ch, 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
