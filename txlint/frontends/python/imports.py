"""A light import table: which qualified name a local name stands for.

Resolving `transaction.atomic` to `django.db.transaction.atomic` is all the
recognisers need, and reading the `import` statements of a module gives it
for a fraction of the cost of libcst's full `QualifiedNameProvider`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

import libcst as cst

from txlint.core.summaries import absolute


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a chain of names and attributes, None for anything else."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def keyword_arg(call: cst.Call, name: str) -> cst.BaseExpression | None:
    """The value passed as `name=...` to a call, if any."""
    return next((a.value for a in call.args if a.keyword is not None and a.keyword.value == name), None)


class ImportTable:
    """Local names bound by `import` statements, mapped to what they import."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        # Every recogniser resolves the callee of every call: resolved once per node. The node is
        # kept with its answer so that its id cannot be reused by another while it is remembered.
        self._resolved: dict[int, tuple[cst.BaseExpression, str | None]] = {}
        # In a project: the module this table belongs to, and what a name another project module
        # imported stands for (`ProjectIndex.export_of`), so re-exports resolve to what they name.
        self._module: tuple[str, bool] | None = None
        self._export_of: Callable[[str], str | None] | None = None
        self._is_project: Callable[[str], bool] | None = None

    @classmethod
    def of_tree(cls, tree: ast.Module) -> ImportTable:
        """The imports of a module as CPython's parser read it (every file is read by it first)."""
        table = cls()
        for statement in _import_statements(tree.body):
            table.add(statement)
        return table

    @classmethod
    def of_module(cls, module: cst.Module) -> ImportTable:
        """The module-level imports of a module only libcst reads (syntax newer than the running Python's)."""
        table = cls()
        for statement in module.body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        table.add(small)
        return table

    def copy(self) -> ImportTable:
        table = ImportTable()
        table._names = dict(self._names)
        table._module, table._export_of, table._is_project = self._module, self._export_of, self._is_project
        return table

    def for_project(self, module: str, is_package: bool, export_of: Callable[[str], str | None], is_project: Callable[[str], bool]) -> ImportTable:
        """A copy that resolves relative imports from `module` and follows the project's re-exports
        (asked only of the project's own names: `is_project`)."""
        table = self.copy()
        table._module, table._is_project = (module, is_package), is_project
        table._export_of = lambda name: export_of(name) if is_project(name) else None
        return table

    def project_names(self, module: str, is_package: bool) -> Iterator[tuple[str, str]]:
        """`(module.local, absolute target)` for each name the module's imports bind."""
        for local, target in self._names.items():
            yield f"{module}.{local}" if module else local, absolute(target, module, is_package)

    def add(self, node: cst.Import | cst.ImportFrom | ast.Import | ast.ImportFrom) -> None:
        """Bind the names an import statement binds (libcst's, inside a function; CPython's, at module level)."""
        self._resolved.clear()
        for local, target in _bindings(node):
            self._names[local] = target

    def resolve(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of `node` when its head is imported, else None."""
        known = self._resolved.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        found = self._resolve(node)
        self._resolved[id(node)] = (node, found)
        return found

    def _resolve(self, node: cst.BaseExpression) -> str | None:
        return self.resolve_name(dotted_name(node))

    def resolve_name(self, dotted: str | None) -> str | None:
        """The qualified name a dotted name (`transaction.atomic`) stands for when its head is imported, else None."""
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        target = self._names.get(head)
        if target is None:
            return None
        found = f"{target}.{rest}" if rest else target
        if self._module is not None:
            found = absolute(found, *self._module)
            if self._export_of is not None:
                found = self._export_of(found) or found
        return found

    def in_project(self, qualified: str) -> bool:
        """Whether a resolved name is the project's own (a relative import, or under the module's
        own top-level package); without a project, whether the import was relative."""
        if self._module is None:
            return qualified.startswith(".")
        return self._is_project is not None and self._is_project(qualified)

    def mentions(self, package: str) -> bool:
        """Whether the module imports anything from `package`."""
        return any(target == package or target.startswith(package + ".") for target in self._names.values())



def _bindings(node: cst.Import | cst.ImportFrom | ast.Import | ast.ImportFrom) -> Iterator[tuple[str, str]]:
    """`(local name, what it imports)` for each name an import binds; a relative import keeps its
    leading dots (resolved against the module later), `import *` binds nothing."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield (alias.asname, alias.name) if alias.asname else (alias.name.split(".")[0],) * 2
    elif isinstance(node, ast.ImportFrom):
        prefix = "." * node.level
        for alias in node.names:
            if alias.name != "*":
                yield alias.asname or alias.name, f"{prefix}{node.module}.{alias.name}" if node.module else f"{prefix}{alias.name}"
    elif isinstance(node, cst.Import):
        for cst_alias in node.names:
            full = dotted_name(cst_alias.name)
            if full is None:
                continue
            if cst_alias.asname is not None and isinstance(cst_alias.asname.name, cst.Name):
                yield cst_alias.asname.name.value, full
            else:
                yield (full.split(".")[0],) * 2
    elif not isinstance(node.names, cst.ImportStar):
        prefix = "." * len(node.relative)
        module = dotted_name(node.module) if node.module is not None else ""
        for cst_alias in node.names:
            name = dotted_name(cst_alias.name)
            if name is not None:
                local = cst_alias.asname.name.value if cst_alias.asname and isinstance(cst_alias.asname.name, cst.Name) else name
                yield local, f"{prefix}{module}.{name}" if module else f"{prefix}{name}"


def _import_statements(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """Import statements at module level, also inside `if`/`try` (TYPE_CHECKING, fallbacks), a
    block's after those of the level it is in (a later binding of a name wins)."""
    found: list[ast.Import | ast.ImportFrom] = []
    queue = list(body)
    while queue:
        statement = queue.pop(0)
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            found.append(statement)
        elif isinstance(statement, ast.If):
            queue += statement.body + statement.orelse
        elif isinstance(statement, ast.Try):
            queue += statement.body + statement.orelse
            for handler in statement.handlers:
                queue += handler.body
    return found


TYPE_WRAPPERS = frozenset({"Optional", "Union", "Annotated"})


def annotation_alternatives(annotation: cst.BaseExpression, wrappers: frozenset[str] = TYPE_WRAPPERS) -> Iterator[cst.Name | cst.Attribute]:
    """The named types an annotation may stand for: itself, either side of `|`, the arguments of
    the `wrappers` (`Optional[...]`, `Union[...]`, `Annotated[...]`). A string annotation's text and
    other subscripts (`list[X]`) stand for none."""
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        yield from annotation_alternatives(annotation.left, wrappers)
        yield from annotation_alternatives(annotation.right, wrappers)
    elif isinstance(annotation, cst.Subscript):
        if (dotted_name(annotation.value) or "").rsplit(".", 1)[-1] in wrappers:
            for element in annotation.slice:
                if isinstance(element.slice, cst.Index):
                    yield from annotation_alternatives(element.slice.value, wrappers)
    elif isinstance(annotation, (cst.Name, cst.Attribute)):
        yield annotation
