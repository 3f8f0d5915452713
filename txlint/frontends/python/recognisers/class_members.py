"""What `self.<attr>` holds and which project method `self.method()` or `self.<attr>.method()` calls,
read off the project's classes (`declarations.class_members`, `ProjectIndex.member_of`).

Shared by the recognisers: each asks what a member holds and answers from its
own library's tables (the ORM: a `Session`, a session factory's product; Core:
a `Connection`; the DB-API: a driver's connection or pool). A collaborator
(`self.crud`, annotated or made from a project class) is followed to the
project method its call names, through the class's lineage; a method of an
abstract base is the one project subclass's that defines it, or the
implementations' when all of them say the same.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import libcst as cst

from txlint.core.summaries import FunctionSummary
from txlint.frontends.python.interpret.context import Context

TYPE, CALL, METHOD = "type", "call", "def"


@dataclass(frozen=True)
class Held:
    """What a member holds: an instance of one of the types `targets` (`kind` TYPE), or what calling
    `targets[0]` gives (`kind` CALL: a session factory, a project function or class)."""

    kind: str
    targets: tuple[str, ...]

    @property
    def target(self) -> str:
        """The one type or callee; "" when the annotation names several."""
        return self.targets[0] if len(self.targets) == 1 else ""

    def all_in(self, types: frozenset[str] | set[str]) -> bool:
        """Every type it may be is one of `types` (`AsyncSession | AsyncReadSession`, both sessions)."""
        return all(t in types for t in self.targets)


def this_class(ctx: Context) -> str | None:
    """The qualified name of the class whose method is being analysed."""
    if ctx.class_name is None or not ctx.file.module_name:
        return None
    return f"{ctx.file.module_name}.{ctx.class_name}"


def is_own(ctx: Context, node: cst.BaseExpression) -> bool:
    """`self.x`/`cls.x` in a method, `self` being the method's first parameter."""
    if not (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and ctx.class_name is not None):
        return False
    params = [*ctx.func.params.posonly_params, *ctx.func.params.params]
    return bool(params) and params[0].name.value == node.value.value in {"self", "cls"}


def held(ctx: Context, node: cst.BaseExpression) -> Held | None:
    """What `self.<attr>` holds, by the evidence of the class and its project bases."""
    cls = this_class(ctx)
    if cls is None or not is_own(ctx, node) or not isinstance(node, cst.Attribute):
        return None
    found = ctx.file.index.member_of(cls, node.attr.value)
    if found is None:
        return None
    kind, _, targets = found[1].partition(":")
    return Held(kind, tuple(targets.split("|"))) if kind in (TYPE, CALL) and targets else None


def collaborator(ctx: Context, node: cst.BaseExpression) -> str | None:
    """The project class whose instance `self.<attr>` holds (`crud: LedgerCrud`, `LedgerCrud()`)."""
    found = held(ctx, node)
    if found is None or not found.target:
        return None
    lineage = ctx.file.index.lineage_of(found.target)
    return lineage[0] if lineage else None


def method_summary(ctx: Context, cls: str, method: str) -> tuple[str, FunctionSummary | None] | None:
    """`(qualified name, summary)` of the method `cls.method` resolves to through the lineage; None
    when no project class of it defines the method (a library base's, or unknown)."""
    found = ctx.file.index.member_of(cls, method)
    if found is None or found[1] != METHOD:
        return None
    name = f"{found[0]}.{method}"
    return name, ctx.file.index.summary_of(name)


def implemented(ctx: Context, cls: str, method: str) -> tuple[str, FunctionSummary | None] | None:
    """The method a call on an instance declared as `cls` runs: `cls`'s own when it says something;
    for a base saying nothing (abstract), the one project subclass's that defines it, or, with
    several, the first when every implementation says the same (else nothing is known)."""
    declared = method_summary(ctx, cls, method)
    if declared is not None and declared[1] is not None:
        return declared
    found: dict[str, FunctionSummary | None] = {}
    for sub in ctx.file.index.subclasses_of(cls):
        resolved = method_summary(ctx, sub, method)
        if resolved is not None and (declared is None or resolved[0] != declared[0]):
            found.setdefault(resolved[0], resolved[1])
    if not found:
        return declared
    if len(found) == 1 or len({_behaviour(s) if s is not None else None for s in found.values()}) == 1:
        return next(iter(found.items()))
    return None


def member_call(ctx: Context, callee: cst.BaseExpression) -> tuple[str, FunctionSummary | None] | None:
    """The project method a call through `self` names: `self.method()` defined by the class or the
    first of its project bases and mixins that does; `self.<attr>.method()` on a collaborator."""
    if not isinstance(callee, cst.Attribute):
        return None
    if is_own(ctx, callee):
        cls = this_class(ctx)
        return method_summary(ctx, cls, callee.attr.value) if cls is not None else None
    held_class = collaborator(ctx, callee.value)
    return implemented(ctx, held_class, callee.attr.value) if held_class is not None else None


def _behaviour(summary: FunctionSummary) -> FunctionSummary:
    """A summary without what only names it (its name, its file)."""
    return dataclasses.replace(summary, name="", path="")
