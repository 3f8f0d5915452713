"""The project's classes: their lineage (method resolution order through project bases and mixins),
their subclasses, and what their members hold, as pass 1 read them (`declarations.class_members`).

`self.session` in `WalletRepository.debit` is what `WalletRepository` or the
first project class of its lineage that has the member says it holds
(`BaseRepository.__init__` assigned it an annotated `Session`);
`self.current_order_line()` in a view deriving from `WebshopMixin` is the
mixin's method. A base the project does not declare (a library's) ends the
walk: what it holds or defines is unknown, so nothing is said.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Resolve = Callable[[str], "str | None"]


@dataclass
class ClassTable:
    """Every project class by qualified name, with the bases it names and its members' evidence."""

    bases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)  # `module.Class.attr` -> "type:Q", "call:Q" or "def"
    _by_tail: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _lineages: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    _subclasses: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    def add_class(self, name: str, bases: str) -> None:
        if name not in self.bases:
            self._by_tail.setdefault(name.rsplit(".", 1)[-1], []).append(name)
        self.bases[name] = tuple(b for b in bases.split(",") if b)
        self._lineages, self._subclasses = {}, {}

    def project_class(self, name: str, export_of: Resolve) -> str | None:
        """The project class `name` stands for: itself, what a re-export names, or the one class
        whose qualified name ends with it (a package imported by a shorter path than its folder's)."""
        for candidate in (name, export_of(name)):
            if candidate is None:
                continue
            if candidate in self.bases:
                return candidate
            ending = [c for c in self._by_tail.get(candidate.rsplit(".", 1)[-1], ()) if c.endswith("." + candidate)]
            if len(ending) == 1:
                return ending[0]
        return None

    def lineage(self, name: str, export_of: Resolve) -> tuple[str, ...]:
        """The class and its project bases in method resolution order (C3; when the bases admit
        none, depth first, left to right); empty when `name` is no project class."""
        start = self.project_class(name, export_of)
        if start is None:
            return ()
        if start not in self._lineages:
            self._lineages[start] = ()  # a cycle of bases ends here
            self._lineages[start] = self._linearise(start, export_of)
        return self._lineages[start]

    def _linearise(self, start: str, export_of: Resolve) -> tuple[str, ...]:
        parents = [p for base in self.bases[start] if (p := self.project_class(base, export_of)) is not None and p != start]
        sequences = [list(self.lineage(p, export_of)) for p in parents] + [parents]
        merged: list[str] = [start]
        while any(sequences):
            head = next((s[0] for s in sequences if s and not any(s[0] in other[1:] for other in sequences)), None)
            if head is None:  # no consistent order: depth first
                return tuple(dict.fromkeys([start, *(c for p in parents for c in self.lineage(p, export_of))]))
            merged.append(head)
            sequences = [s[1:] if s and s[0] == head else s for s in sequences]
        return tuple(merged)

    def member(self, name: str, attribute: str, export_of: Resolve) -> tuple[str, str] | None:
        """`(owner, what)`: the first class of the lineage whose code says what `attribute` holds."""
        for owner in self.lineage(name, export_of):
            found = self.members.get(f"{owner}.{attribute}")
            if found is not None:
                return owner, found
        return None

    def subclasses(self, name: str, export_of: Resolve) -> tuple[str, ...]:
        """The project classes deriving from `name`, directly or not."""
        start = self.project_class(name, export_of)
        if start is None:
            return ()
        if start not in self._subclasses:
            self._subclasses[start] = tuple(sorted(c for c in self.bases if c != start and start in self.lineage(c, export_of)))
        return self._subclasses[start]
