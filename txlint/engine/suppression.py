"""Inline suppressions: `# txlint: ignore[TX101]`, `# txlint: ignore`, `# noqa: TX101`.

Comments are found with the tokenizer for Python (a `#` inside a string is
not a comment) and as `--` comments for SQL.
"""

from __future__ import annotations

import io
import re
import tokenize

from txlint.core.registry import code_matches

_TXLINT = re.compile(r"#\s*txlint:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_SQL_TXLINT = re.compile(r"--\s*txlint:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)

ALL = ("ALL",)


class Suppressions:
    """Which codes are suppressed on which line of one file."""

    def __init__(self, by_line: dict[int, tuple[str, ...]]) -> None:
        self._by_line = by_line

    def suppressed(self, code: str, line: int) -> bool:
        selectors = self._by_line.get(line)
        return selectors is not None and code_matches(code, selectors)

    @classmethod
    def of_python(cls, text: str) -> Suppressions:
        by_line: dict[int, tuple[str, ...]] = {}
        try:
            for token in tokenize.generate_tokens(io.StringIO(text).readline):
                if token.type == tokenize.COMMENT:
                    codes = _codes(token.string)
                    if codes:
                        by_line[token.start[0]] = codes
        except (tokenize.TokenError, SyntaxError, IndentationError):
            pass  # a file that does not tokenize is TX000 anyway
        return cls(by_line)

    @classmethod
    def of_sql(cls, text: str) -> Suppressions:
        by_line: dict[int, tuple[str, ...]] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            match = _SQL_TXLINT.search(line)
            if match:
                by_line[number] = _split(match["codes"])
        return cls(by_line)


def _codes(comment: str) -> tuple[str, ...]:
    match = _TXLINT.search(comment)
    if match:
        return _split(match["codes"])
    match = _NOQA.search(comment)
    if match:
        return _split(match["codes"])
    return ()


def _split(codes: str | None) -> tuple[str, ...]:
    if codes is None:
        return ALL
    parts = tuple(p for p in re.split(r"[\s,]+", codes.strip().upper()) if p)
    return parts or ALL
