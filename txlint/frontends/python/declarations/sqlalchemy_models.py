"""Pass 1, SQLAlchemy: declarative bases and the classes they map, with their constraints.

`__tablename__`, columns (`mapped_column`/`Column` with `unique` or
`primary_key`, and 2.0's bare `balance: Mapped[int]`; a relationship is not a
column), `__table_args__` (`UniqueConstraint`, `CheckConstraint("c >= 0")`)
and `__mapper_args__["version_id_col"]`.

A class is read when it is mapped for sure (a declarative base, SQLModel's
`table=True`, Flask-SQLAlchemy's `db.Model`), names its table, or declares
SQLAlchemy columns: a mixin or a base giving its subclasses their primary key
and a `declared_attr` table name (clarification 19: a key declared on a base is
the subclass's own). A table named by nobody takes the name SQLAlchemy or the
framework gives it: Flask-SQLAlchemy's snake case, SQLModel's lower case, a
base's `declared_attr` returning `cls.__name__.lower()`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from txlint.core.index import ColumnDecl, TableDecl
from txlint.frontends.python.declarations import sqlalchemy_relationships
from txlint.frontends.python.declarations.syntax import dotted, is_true, keyword, last_part, module_statements, positional, text
from txlint.frontends.python.imports import ImportTable

DECLARATIVE_BASES = {"sqlalchemy.orm.DeclarativeBase", "sqlalchemy.orm.DeclarativeBaseNoMeta"}
SQLMODEL = "sqlmodel.SQLModel"  # a table when declared with `table=True`; its columns are `Field(...)` or annotations
DECLARATIVE_FACTORIES = {"sqlalchemy.orm.declarative_base", "sqlalchemy.ext.declarative.declarative_base"}
FLASK_EXTENSION = "flask_sqlalchemy.SQLAlchemy"
COLUMN_CALLS = {"mapped_column", "Column"}
MAPPED = "Mapped"  # `sqlalchemy.orm.Mapped[...]`: a mapped attribute (`WriteOnlyMapped`/`DynamicMapped` are collections)
# Values of a `Mapped[...]` attribute that are not a column of its table.
NOT_COLUMNS = {"relationship", "Relationship", "association_proxy", "column_property", "synonym", "composite", "query_expression", "backref"}
COLLECTIONS = {"list", "List", "set", "Set", "Sequence", "Collection"}
# Element types of a `Mapped[list[...]]` that is an ARRAY column, not the rows of a relationship.
SCALARS = {"str", "int", "float", "bool", "bytes", "Decimal", "UUID", "datetime", "date", "time", "dict", "Any"}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
Naming = Callable[[str], str]


def table_decls(tree: ast.Module, imports: ImportTable, path: str) -> list[TableDecl]:
    """Pass 1: declarative bases and mapped classes (`__tablename__`, unique, CHECK, `version_id_col`)."""
    decls: list[TableDecl] = []
    module = _ModuleFacts(tree, imports)
    for statement in module_statements(tree.body):
        if (
            isinstance(statement, ast.Assign)
            and isinstance(statement.value, ast.Call)
            and imports.resolve_name(dotted(statement.value.func)) in DECLARATIVE_FACTORIES
            and isinstance(statement.targets[0], ast.Name)
        ):
            name = statement.targets[0].id
            decls.append(TableDecl(name, name, path, 1, bases=_declarative_cls(statement.value), is_root=True))
        if not isinstance(statement, ast.ClassDef):
            continue
        sqlmodel_table = _sqlmodel_table(statement)
        sqlmodel_base = not sqlmodel_table and any(imports.resolve_name(dotted(base)) == SQLMODEL for base in positional(statement))
        flask_model = any(_model_of(base) in module.flask_extensions for base in positional(statement))
        is_root = sqlmodel_table or flask_model or any(imports.resolve_name(dotted(base)) in DECLARATIVE_BASES for base in positional(statement))
        bases = tuple(last_part(base) for base in positional(statement))
        facts = _class_facts(statement, module, annotated_columns=sqlmodel_table or sqlmodel_base)
        # `__abstract__ = True` is SQLAlchemy's; a class deriving from one read here is a mapped class's base.
        derived = any(base in {d.name for d in decls} for base in bases) and not _maps_a_table(statement)
        if not is_root and facts.table is None and not facts.mapped and not (sqlmodel_base and facts.columns) and not facts.abstract and not derived:
            continue  # not a mapped class as far as this file can tell (Django models are read elsewhere)
        naming = module.naming_of(statement)
        decls.append(
            TableDecl(
                name=statement.name,
                table=facts.table or (statement.name.lower() if sqlmodel_table else _snake_case(statement.name) if flask_model else naming(statement.name)),
                path=path,
                line=1,  # declaration lines are not needed by any rule
                bases=tuple(b for b in bases if b),
                is_root=is_root,
                columns=facts.columns,
                version_column=facts.version,
                non_negative=facts.non_negative,
                unique_sets=facts.unique_sets,
                orm="sqlalchemy",
                relationships=sqlalchemy_relationships.relationships(statement),
                foreign_tables=sqlalchemy_relationships.foreign_tables(statement),
            )
        )
    return decls


class _ModuleFacts:
    """What the classes of one module share: the Flask-SQLAlchemy extension objects it names, its
    `Annotated[...]` column types, and how its bases name their subclasses' tables."""

    def __init__(self, tree: ast.Module, imports: ImportTable) -> None:
        self.imports = imports
        self.flask_extensions = _flask_extensions(tree, imports)
        self.column_types: dict[str, bool] = {}  # `intpk = Annotated[int, mapped_column(primary_key=True)]` -> unique
        self._namings: dict[str, Naming] = {}  # a class (or `Base = declarative_base(cls=...)`) -> its subclasses' table names
        self._bases: dict[str, tuple[str, ...]] = {}
        for statement in module_statements(tree.body):
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
                name, value = statement.targets[0].id, statement.value
                column = _annotated_column(value)
                if column is not None:
                    self.column_types[name] = column
                elif isinstance(value, ast.Call) and imports.resolve_name(dotted(value.func)) in DECLARATIVE_FACTORIES:
                    self._bases[name] = _declarative_cls(value)
            elif isinstance(statement, ast.ClassDef):
                self._bases[statement.name] = tuple(last_part(base) for base in positional(statement))
                naming = _declared_tablename(statement)
                if naming is not None:
                    self._namings[statement.name] = naming

    def is_column_call(self, call: ast.Call) -> bool:
        """`Column(...)`/`mapped_column(...)` of SQLAlchemy (`sa.Column`, `orm.mapped_column`) or of a
        Flask-SQLAlchemy extension object (`db.Column`)."""
        if last_part(call.func) not in COLUMN_CALLS:
            return False
        qualified = self.imports.resolve_name(dotted(call.func)) or ""
        owner = (dotted(call.func) or "").rpartition(".")[0]
        return qualified.startswith(("sqlalchemy.", "sqlmodel.")) or owner in self.flask_extensions

    def naming_of(self, cls: ast.ClassDef) -> Naming:
        """How the table of a class that names none is named: by a `declared_attr` of it or of a base
        in this module, else after the class."""
        seen: set[str] = set()
        queue = [cls.name]
        while queue:
            name = queue.pop(0)
            if name in seen:
                continue
            seen.add(name)
            if name in self._namings:
                return self._namings[name]
            queue += self._bases.get(name, ())
        return str


def _maps_a_table(cls: ast.ClassDef) -> bool:
    """`__table__ = Table(...)` in the class body: the table's own declaration says what it is
    (`declarations.sqlalchemy_tables`)."""
    return any(isinstance(s, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__table__" for t in s.targets) for s in cls.body)


def _flask_extensions(tree: ast.Module, imports: ImportTable) -> frozenset[str]:
    """The names of Flask-SQLAlchemy extension objects here: `db = SQLAlchemy(app)`, a `db` imported
    from the application (the extension's name by convention), and `X` where a class derives from
    `X.Model` and declares `X.Column`s."""
    found = set()
    for statement in module_statements(tree.body):
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call) and isinstance(statement.targets[0], ast.Name):
            if (imports.resolve_name(dotted(statement.value.func)) or "").startswith("flask_sqlalchemy."):
                found.add(statement.targets[0].id)
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            for alias in statement.names:
                local = alias.asname or alias.name.split(".")[0]
                target = imports.resolve_name(local) or ""
                if local == "db" and target.rsplit(".", 1)[-1] == "db" and not target.startswith("django."):
                    found.add(local)
        elif isinstance(statement, ast.ClassDef):
            # `models.Model` is Django's: only an owner that is no library's may be the extension object.
            owners = {o for base in positional(statement) if (o := _model_of(base)) is not None and not (imports.resolve_name(o) or "").startswith("django.")}
            if not owners:
                continue
            calls = {
                (dotted(node.func) or "").rpartition(".")[0] for node in ast.walk(statement) if isinstance(node, ast.Call) and last_part(node.func) == "Column"
            }
            found |= {owner for owner in owners & calls if owner is not None}
    return frozenset(found)


def _model_of(base: ast.expr) -> str | None:
    """`X` for a base `X.Model` (Flask-SQLAlchemy's declarative base on its extension object)."""
    name = dotted(base)
    return name[: -len(".Model")] if name is not None and name.endswith(".Model") else None


def _declarative_cls(call: ast.Call) -> tuple[str, ...]:
    """`declarative_base(cls=Base)`: the class whose attributes every mapped class gets."""
    given = last_part(keyword(call, "cls"))
    return (given,) if given else ()


def _declared_tablename(cls: ast.ClassDef) -> Naming | None:
    """`@declared_attr def __tablename__(cls): return cls.__name__.lower()`: the table names a base
    gives its subclasses (lower case; any other body: the class name, as before)."""
    for statement in cls.body:
        if isinstance(statement, ast.FunctionDef) and statement.name == "__tablename__":
            returned = [s.value for s in ast.walk(statement) if isinstance(s, ast.Return) and s.value is not None]
            if returned and all(
                isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr == "lower" and last_part(v.func.value) == "__name__"
                for v in returned
            ):
                return str.lower
            return str
    return None


def _snake_case(name: str) -> str:
    """Flask-SQLAlchemy's table name for a model that names none (`OrderLine` -> `order_line`)."""
    return _CAMEL.sub("_", name).lower()


def _sqlmodel_table(cls: ast.ClassDef) -> bool:
    """`class Hero(SQLModel, table=True)`, also `class Hero(HeroBase, table=True)`: SQLModel maps the
    class to a table (no other library takes `table=True` among a class's keywords)."""
    table = next((k.value for k in cls.keywords if k.arg == "table"), None)
    return is_true(table)


class _ClassFacts:
    def __init__(self) -> None:
        self.table: str | None = None
        self.version: str | None = None
        self.columns: tuple[ColumnDecl, ...] = ()
        self.non_negative: tuple[str, ...] = ()
        self.unique_sets: tuple[tuple[str, ...], ...] = ()
        self.mapped = False  # it declares SQLAlchemy columns or names its table by a `declared_attr`
        self.abstract = False  # `__abstract__ = True`: a base of mapped classes, mapped to no table of its own


def _class_facts(cls: ast.ClassDef, module: _ModuleFacts, annotated_columns: bool = False) -> _ClassFacts:
    """The table, columns and constraints a class declares; `annotated_columns`: every annotated
    attribute is a column (SQLModel), `Field(...)` among them."""
    facts = _ClassFacts()
    columns: list[ColumnDecl] = []
    column_calls = COLUMN_CALLS | {"Field"} if annotated_columns else COLUMN_CALLS
    for statement in cls.body:
        target: ast.expr
        value: ast.expr | None
        if isinstance(statement, ast.Assign):
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign):
            target, value = statement.target, statement.value
        elif isinstance(statement, ast.FunctionDef) and statement.name == "__tablename__":
            facts.mapped = True
            continue
        else:
            continue
        is_column = isinstance(value, ast.Call) and last_part(value.func) in column_calls
        if is_column and isinstance(value, ast.Call) and (annotated_columns or module.is_column_call(value)):
            facts.mapped = True
        if annotated_columns and isinstance(statement, ast.AnnAssign) and isinstance(target, ast.Name) and not target.id.startswith("_") and not is_column:
            if not _is_relationship(value):
                columns.append(ColumnDecl(target.id))  # `name: str` or `name: str = "x"` in a SQLModel table
            continue
        if isinstance(statement, ast.AnnAssign) and isinstance(target, ast.Name) and not is_column:
            mapped = _mapped_column(statement, module)
            if mapped is not None:
                facts.mapped = True
                columns.append(ColumnDecl(target.id, unique=mapped))
            continue
        if not isinstance(target, ast.Name) or value is None:
            continue
        name = target.id
        if name == "__tablename__" and text(value) is not None:
            facts.table = text(value)
        elif name == "__abstract__":
            facts.abstract = is_true(value)
        elif name == "__mapper_args__" and isinstance(value, ast.Dict):
            facts.version = _version_id_col(value)
        elif name == "__table_args__":
            facts.non_negative, facts.unique_sets = _table_args(value)
        elif isinstance(value, ast.Call) and is_column:
            columns.append(ColumnDecl(name, unique=_unique(value) or _mapped_unique(statement, module)))
    facts.columns = tuple(columns)
    return facts


def _unique(call: ast.Call) -> bool:
    """`unique=True`/`primary_key=True`, also inside SQLModel's `Field(sa_column=Column(...))` or
    `Field(sa_column_kwargs={"unique": True})`."""
    if is_true(keyword(call, "unique")) or is_true(keyword(call, "primary_key")):
        return True
    inner = keyword(call, "sa_column")
    if isinstance(inner, ast.Call) and _unique(inner):
        return True
    options = keyword(call, "sa_column_kwargs")
    if isinstance(options, ast.Dict):
        return any(text(k) in {"unique", "primary_key"} and is_true(v) for k, v in zip(options.keys, options.values, strict=True))
    return False


def _mapped_type(annotation: ast.expr) -> ast.expr | None:
    """`T` of `Mapped[T]` (also `orm.Mapped[T]`), None for any other annotation."""
    if isinstance(annotation, ast.Subscript) and last_part(annotation.value) == MAPPED:
        return annotation.slice
    return None


def _mapped_column(statement: ast.AnnAssign, module: _ModuleFacts) -> bool | None:
    """A 2.0 `name: Mapped[T]` with no value (or a value that is no relationship): a column, and
    whether it is unique (through an `Annotated[...]` column type of the module). None: not a
    column (a relationship, a collection, a class named by a string)."""
    inner = _mapped_type(statement.annotation)
    if inner is None:
        return None
    value = statement.value
    if value is not None and (not isinstance(value, ast.Call) or last_part(value.func) in NOT_COLUMNS):
        return None
    if isinstance(inner, ast.Subscript) and last_part(inner.value) in {"Optional"}:
        inner = inner.slice
    if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
        return None  # `Mapped["User"]`: a class not declared yet, a relationship
    if isinstance(inner, ast.Subscript) and last_part(inner.value) in COLLECTIONS and last_part(inner.slice) not in SCALARS:
        return None  # `Mapped[list["Line"]]`: the rows of a relationship (`list[str]` is an ARRAY column)
    return module.column_types.get(last_part(inner), False)


def _mapped_unique(statement: ast.stmt, module: _ModuleFacts) -> bool:
    """`id: Mapped[intpk] = mapped_column(...)`: unique through the annotation's column type."""
    if not isinstance(statement, ast.AnnAssign):
        return False
    inner = _mapped_type(statement.annotation)
    return inner is not None and module.column_types.get(last_part(inner), False)


def _annotated_column(value: ast.expr) -> bool | None:
    """`Annotated[int, mapped_column(primary_key=True)]`: a column type, and whether it is unique."""
    if not (isinstance(value, ast.Subscript) and last_part(value.value) == "Annotated" and isinstance(value.slice, ast.Tuple)):
        return None
    calls = [e for e in value.slice.elts[1:] if isinstance(e, ast.Call) and last_part(e.func) in COLUMN_CALLS]
    return any(_unique(call) for call in calls) if calls else None


def _is_relationship(value: ast.expr | None) -> bool:
    return isinstance(value, ast.Call) and last_part(value.func) in NOT_COLUMNS


def _version_id_col(mapping: ast.Dict) -> str | None:
    for key, value in zip(mapping.keys, mapping.values, strict=True):
        if text(key) == "version_id_col":
            return last_part(value) or None
    return None


def _table_args(value: ast.expr) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """`CheckConstraint("balance >= 0")` and `UniqueConstraint("a", "b")` in `__table_args__`."""
    non_negative: list[str] = []
    unique_sets: list[tuple[str, ...]] = []
    elements = value.elts if isinstance(value, (ast.Tuple, ast.List)) else []
    for call in elements:
        if not isinstance(call, ast.Call):
            continue
        kind = last_part(call.func)
        found = [text(argument) for argument in positional(call)]
        literal = [value for value in found if value is not None]
        if kind == "CheckConstraint" and literal:
            parts = literal[0].split()
            if len(parts) == 3 and parts[1] in {">=", ">"} and parts[2] == "0":
                non_negative.append(parts[0])
        elif kind == "UniqueConstraint" and literal:
            unique_sets.append(tuple(literal))
    return tuple(non_negative), tuple(unique_sets)
