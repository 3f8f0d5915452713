"""Edits applied to a text: positions as findings give them (1-based lines, code point columns)."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Edit


class Overlap(ValueError):
    """Two edits touch the same text: they cannot both be applied in one pass."""


def _offsets(text: str) -> list[int]:
    """The offset at which each line starts (line 1 at index 0), and one past the end."""
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    starts.append(len(text) + 1)
    return starts


def _offset(starts: list[int], text: str, line: int, column: int) -> int:
    if not 1 <= line < len(starts):
        raise ValueError(f"no line {line}")
    return min(starts[line - 1] + column - 1, len(text))


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """`text` with every edit made (raises `Overlap` when two touch the same characters)."""
    starts = _offsets(text)
    spans = sorted(
        ((_offset(starts, text, e.line, e.column), _offset(starts, text, e.end_line, e.end_column), e.content) for e in edits),
        key=lambda span: (span[0], span[1]),
    )
    out, at = [], 0
    for start, end, content in spans:
        if start < at or end < start:
            raise Overlap("edits overlap")
        out += [text[at:start], content]
        at = end
    out.append(text[at:])
    return "".join(out)
