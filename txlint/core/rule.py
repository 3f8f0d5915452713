"""The rule base class: a code, a name, its documentation, examples and a check.

Rules judge IR facts that the front-ends computed; they never import libcst
or sqlglot and know no library by name (see `../shared/STYLE.md`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

from txlint.core.config import Config
from txlint.core.ftypes import Severity, Span
from txlint.core.index import ProjectIndex
from txlint.core.ir import ModuleIR, Op, Unit


@dataclass(frozen=True)
class RelatedSpan:
    """A secondary location in the same file, with what happens there."""

    span: Span
    message: str
    path: str | None = None  # another file of the project (a concurrent writer elsewhere)
    subject: Op | None = None  # the op it is about (a runtime trace places it at that op's statement)

    @classmethod
    def about(cls, op: Op, message: str) -> RelatedSpan:
        """The location of `op`, naming it: what a rule writes for a related op."""
        return cls(op.span, message, subject=op)


@dataclass(frozen=True)
class Report:
    """What a rule returns: where the damage is done and why; the engine makes a `Finding` of it."""

    span: Span
    message: str
    related: tuple[RelatedSpan, ...] = ()
    subject: Op | None = None  # the op the damage is done by, when the report is at one

    @classmethod
    def about(cls, op: Op, message: str, related: tuple[RelatedSpan, ...] = ()) -> Report:
        """A report at `op`, naming it: a runtime trace finds the statement (and its application
        line) through the op's identity, never through its span."""
        return cls(op.span, message, related, subject=op)


@dataclass(frozen=True)
class RuleContext:
    """The facts a rule may consult besides the unit itself."""

    config: Config
    module: ModuleIR
    index: ProjectIndex = field(default_factory=ProjectIndex)


@dataclass(frozen=True)
class RuleDoc:
    """A rule's documentation under ruff's fixed headings."""

    what_it_does: str
    why_is_this_bad: str
    example: str
    use_instead: str
    known_problems: str = ""
    # Whether `txlint check --fix` can repair a finding, and whether that fix is safe (keeps what the
    # code does) or unsafe (changes behaviour: takes a lock, chooses a value); empty: no fix.
    fix_safety: str = ""


class Rule:
    """Base class of every rule. Subclasses set the class attributes and `check`."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    default_enabled: ClassVar[bool] = True
    doc: ClassVar[RuleDoc]
    # Examples the test-suite runs: INVALID must produce this rule's code (on the
    # lines marked `# error`, when any line is), VALID must produce nothing of it.
    VALID: ClassVar[list[str]] = []
    INVALID: ClassVar[list[str]] = []
    # Set by rules whose findings come from the engine itself (TX000).
    engine_emitted: ClassVar[bool] = False
    # The ops of a runtime trace that can complete this rule's pattern: when one of them happens,
    # the trace hands the rule the unit of what led to it. Empty: only source shows the pattern
    # (a branch taken, a call not made), and the rule is not judged at run time.
    triggers: ClassVar[tuple[type[Op], ...]] = ()

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        return ()

    @classmethod
    def triggered_by(cls, op: Op) -> bool:
        """Whether `op`, as a trace sees it happen, can complete this rule's pattern: one of its
        `triggers`, and what else a rule can tell cheaply from the op alone (asked of every such op,
        so that most ops run no rule at all)."""
        return isinstance(op, cls.triggers)

    @classmethod
    def explain(cls) -> str:
        """The rule's full documentation as `txlint explain CODE` prints it."""
        parts = [
            f"# {cls.code} {cls.name} ({cls.severity.value}, {'on' if cls.default_enabled else 'off'} by default)",
            "",
            cls.summary,
            "",
            "## What it does",
            cls.doc.what_it_does.strip(),
            "",
            "## Why is this bad?",
            cls.doc.why_is_this_bad.strip(),
            "",
            "## Example",
            "```python",
            cls.doc.example.strip("\n"),
            "```",
            "",
            "## Use instead",
            "```python",
            cls.doc.use_instead.strip("\n"),
            "```",
        ]
        if cls.doc.known_problems:
            parts += ["", "## Known problems", cls.doc.known_problems.strip()]
        if cls.doc.fix_safety:
            parts += ["", "## Fix safety", cls.doc.fix_safety.strip()]
        return "\n".join(parts) + "\n"
