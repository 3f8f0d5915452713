"""Value types shared by every layer: spans, findings and their parts.

Everything here is a frozen dataclass so that findings can be hashed,
deduplicated, cached and compared across processes without surprises.
Lines and columns are 1-based everywhere (libcst's columns are 0-based; the
front-ends convert once, when they build a `Span`).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any


class Severity(enum.StrEnum):
    """How bad a finding is; maps onto SARIF levels and GitHub annotation kinds."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def sarif_level(self) -> str:
        return {"error": "error", "warning": "warning", "info": "note"}[self.value]

    @property
    def github_command(self) -> str:
        return {"error": "error", "warning": "warning", "info": "notice"}[self.value]


@dataclass(frozen=True, order=True)
class Span:
    """A source range: 1-based lines and columns; `end_column` is just past the last character (as in SARIF)."""

    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, line: int, column: int = 1) -> Span:
        return cls(line, column, line, column)


@dataclass(frozen=True)
class Related:
    """A secondary location that explains a finding (the read, the lock, the begin)."""

    path: str
    line: int
    column: int
    message: str


class Applicability(enum.StrEnum):
    """Whether a fix keeps what the code does (`--fix` applies it) or changes it (`--unsafe-fixes`)."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class Edit:
    """Replace the text from (line, column) up to, not including, (end_line, end_column) by `content`
    (1-based; columns in code points, as a finding's)."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str


@dataclass(frozen=True)
class Fix:
    """Edits of the finding's own file that repair it, what they do, and whether that is safe."""

    message: str
    applicability: Applicability
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Finding:
    """One reported problem. The JSON reporter emits exactly these field names."""

    code: str
    name: str
    severity: Severity
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    related: tuple[Related, ...] = ()
    fingerprint: str = ""
    fix: Fix | None = None  # set by `txlint.fixes` for the findings it can repair

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["related"] = [asdict(r) for r in self.related]
        if self.fix is not None:
            data["fix"] = {**asdict(self.fix), "applicability": self.fix.applicability.value}
        return data


@dataclass(frozen=True)
class Notice:
    """A file that was not analysed (binary, too big, unreadable, a symlink loop) and why.

    `not_analysed`: a file txlint was asked to check could not be read or analysed (unreadable, not
    text, an internal error): like a parse error it fails the run and is shown even with `--quiet`,
    so a file never drops out of the check unseen. Skips the configuration asks for (a file over
    `max-file-size`) and remarks about the walk are only shown."""

    path: str
    reason: str
    not_analysed: bool = False
