"""Pass 1, Django: the model classes a module declares, with the constraints the rules ask about.

Fields and their uniqueness (`unique=True`, `primary_key=True`, a
`OneToOneField`), `Positive*Field`s (a lower bound of 0), and `class Meta`:
`db_table`, `unique_together`, `UniqueConstraint` (unconditional only) and
`CheckConstraint(check=Q(c__gte=0))`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from txlint.core.index import AUTH_USER, ColumnDecl, TableDecl
from txlint.frontends.python.declarations.syntax import dotted, is_true, keyword, last_part, module_statements, positional, strings, text
from txlint.frontends.python.imports import ImportTable

MODEL_BASE = "django.db.models.Model"
AUTH_USER_MODEL = AUTH_USER
POSITIVE_FIELDS = {"PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField"}
TEMPORAL_FIELDS = {"DateTimeField", "DateField", "TimeField", "DurationField", "CreationDateTimeField", "ModificationDateTimeField", "AutoCreatedField", "AutoLastModifiedField", "MonitorField"}
COLLECTION_FIELDS = {"JSONField", "ArrayField", "HStoreField", "PickledObjectField", "JSONBField"}
# A field class named through Django's modules (`models.CharField`) is Django's; one named otherwise may
# be the project's own, whose `__init__` can make its fields unique (clarification 19).
DJANGO_FIELD_MODULES = ("django.", "models.")
_AUTH = "<django.contrib.auth>"
_BASE_USER = TableDecl("AbstractBaseUser", "AbstractBaseUser", _AUTH, 1, is_root=True, columns=(ColumnDecl("password"), ColumnDecl("last_login")))
# Models of Django a project's models derive from, with what they declare that the rules ask about
# (their unique fields: clarification 19). A class deriving from one is a model.
LIBRARY_MODELS: dict[str, TableDecl] = {
    "django.contrib.auth.base_user.AbstractBaseUser": _BASE_USER,
    "django.contrib.auth.models.AbstractBaseUser": _BASE_USER,
    "django.contrib.auth.models.PermissionsMixin": TableDecl(
        "PermissionsMixin", "PermissionsMixin", _AUTH, 1, is_root=True, columns=(ColumnDecl("is_superuser"), ColumnDecl("groups"), ColumnDecl("user_permissions"))
    ),
    "django.contrib.auth.models.AbstractUser": TableDecl(
        "AbstractUser",
        "AbstractUser",
        _AUTH,
        1,
        bases=("AbstractBaseUser", "PermissionsMixin"),
        is_root=True,
        columns=tuple(
            ColumnDecl(name, unique=name == "username")
            for name in ("username", "first_name", "last_name", "email", "is_staff", "is_active", "date_joined")
        ),
    ),
    "django.contrib.auth.models.User": TableDecl("User", "auth_user", _AUTH, 1, bases=("AbstractUser",), is_root=True),
    "django.contrib.auth.models.Group": TableDecl("Group", "auth_group", _AUTH, 1, is_root=True, columns=(ColumnDecl("name", unique=True),)),
    "django.contrib.sites.models.Site": TableDecl(
        "Site", "django_site", "<django.contrib.sites>", 1, is_root=True, columns=(ColumnDecl("domain", unique=True), ColumnDecl("name"))
    ),
}
# Abstract model bases of common libraries: models, with nothing the rules ask about.
ABSTRACT_LIBRARY_BASES = {
    "model_utils.models.TimeStampedModel", "model_utils.models.StatusModel", "model_utils.models.SoftDeletableModel",
    "model_utils.models.TimeFramedModel", "model_utils.models.UUIDModel",
    "django_extensions.db.models.TimeStampedModel", "django_extensions.db.models.TitleSlugDescriptionModel",
    "polymorphic.models.PolymorphicModel", "mptt.models.MPTTModel", "treebeard.mp_tree.MP_Node",
    "treebeard.ns_tree.NS_Node", "treebeard.al_tree.AL_Node",
}  # fmt: skip


def table_decls(tree: ast.Module, imports: ImportTable, path: str) -> list[TableDecl]:
    """Pass 1: the Django model classes this module declares."""
    decls: list[TableDecl] = []
    user_aliases = _user_model_aliases(tree)
    for statement in module_statements(tree.body):
        if not isinstance(statement, ast.ClassDef):
            continue
        bases = tuple(b for b in (dotted(base) for base in positional(statement)) if b)
        resolved = {imports.resolve_name(b) for b in bases}
        is_root = MODEL_BASE in resolved or bool(resolved & ABSTRACT_LIBRARY_BASES)
        known = {MODEL_BASE, *LIBRARY_MODELS, *ABSTRACT_LIBRARY_BASES}
        opaque = tuple(b.rsplit(".", 1)[-1] for b in bases if (q := imports.resolve_name(b)) is not None and q not in known and not q.startswith("django."))
        for qualified in sorted(q for q in resolved if q is not None and q in LIBRARY_MODELS):
            is_root = True
            decls += _library_decls(qualified)
        columns, meta = _fields(statement, user_aliases), _meta(statement)
        decls.append(
            TableDecl(
                name=statement.name,
                table=meta.table or statement.name,
                path=path,
                line=1,  # declaration lines are not needed by any rule
                bases=tuple(b.rsplit(".", 1)[-1] for b in bases),
                is_root=is_root,
                columns=columns,
                unique_sets=meta.unique_sets,
                non_negative=meta.non_negative,
                opaque_bases=opaque,
                unique_field=_makes_itself_unique(statement),
                orm="django" if is_root or imports.mentions("django") else "",  # any class is read here: only these can be Django's
                managers=tuple(dict.fromkeys(c for _, classes in _managers(statement) for c in classes)),
                manager_attributes=tuple(name for name, _ in _managers(statement)),
            )
        )
    return decls


def _managers(cls: ast.ClassDef) -> list[tuple[str, tuple[str, ...]]]:
    """The managers a class body assigns, with their classes by simple name: `objects =
    DiscountCodeManager()` (a class named as a manager or queryset), `QuerySet.as_manager()`,
    `Manager.from_queryset(QuerySet)()` (both)."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for attribute, value in _assignments(cls.body):
        if not isinstance(value, ast.Call):
            continue
        func = value.func
        names: list[str | None] = []
        if isinstance(func, ast.Call) and isinstance(func.func, ast.Attribute) and func.func.attr == "from_queryset":
            names = [dotted(func.func.value), *(dotted(a) for a in func.args)]
        elif isinstance(func, ast.Attribute) and func.attr == "as_manager":
            names = [dotted(func.value)]
        elif (name := dotted(func)) is not None and name.endswith(("Manager", "QuerySet")):
            names = [name]
        classes = tuple(dict.fromkeys(n.rsplit(".", 1)[-1] for n in names if n))
        if classes:
            found.append((attribute, classes))
    return found


def _library_decls(qualified: str) -> list[TableDecl]:
    """A library model and the library models it derives from (the index merges duplicates)."""
    found, queue = [], [LIBRARY_MODELS[qualified]]
    by_name = {decl.name: decl for decl in LIBRARY_MODELS.values()}
    while queue:
        decl = queue.pop()
        found.append(decl)
        queue += [by_name[base] for base in decl.bases if base in by_name]
    return found


def _assignments(body: list[ast.stmt]) -> list[tuple[str, ast.expr]]:
    """`name = value` statements directly in a class body."""
    found = []
    for statement in body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
            found.append((statement.targets[0].id, statement.value))
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value is not None:
            found.append((statement.target.id, statement.value))
    return found


def _fields(cls: ast.ClassDef, user_aliases: frozenset[str]) -> tuple[ColumnDecl, ...]:
    columns: list[ColumnDecl] = []
    for name, value in _assignments(cls.body):
        field_type = dotted(value.func) if isinstance(value, ast.Call) else None
        if not isinstance(value, ast.Call) or field_type is None or not field_type.endswith(("Field", "Key")):
            continue
        kind = field_type.rsplit(".", 1)[-1]
        related_name = keyword(value, "related_name")
        columns.append(
            ColumnDecl(
                name=name,
                unique=is_true(keyword(value, "unique")) or is_true(keyword(value, "primary_key")) or kind == "OneToOneField",
                non_negative=kind in POSITIVE_FIELDS,
                references=_related_model(value, user_aliases) if kind in {"ForeignKey", "OneToOneField"} else None,
                related_name=text(related_name) if related_name is not None else None,
                one_to_one=kind == "OneToOneField",
                field_class=None if field_type.startswith(DJANGO_FIELD_MODULES) else kind,
                temporal=kind in TEMPORAL_FIELDS,
                collection=kind in COLLECTION_FIELDS,
            )
        )
    return tuple(columns)


def _makes_itself_unique(cls: ast.ClassDef) -> bool:
    """A field class whose `__init__` sets `unique` (or `primary_key`) to True for every field of it:
    `kwargs["unique"] = True`, `kwargs.setdefault("unique", True)`, `super().__init__(..., unique=True)`."""
    init = next((s for s in cls.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
    if init is None:
        return False
    for node in ast.walk(init):
        if isinstance(node, ast.Assign) and is_true(node.value):
            if any(isinstance(t, ast.Subscript) and text(t.slice) in _UNIQUE_FLAGS for t in node.targets):
                return True
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "setdefault" and len(node.args) == 2 and text(node.args[0]) in _UNIQUE_FLAGS and is_true(node.args[1]):
                return True
            if node.func.attr in {"__init__", "update"} and any(k.arg in _UNIQUE_FLAGS and is_true(k.value) for k in node.keywords):
                return True
    return False


_UNIQUE_FLAGS = {"unique", "primary_key"}


def _related_model(call: ast.Call, user_aliases: frozenset[str]) -> str | None:
    """The model a foreign key points to: `ForeignKey(Account, ...)`, `"app.Account"`, `"self"`, or the
    project's user model (`settings.AUTH_USER_MODEL`, directly or through a module constant)."""
    target = next(iter(call.args), None) or keyword(call, "to")
    if isinstance(target, ast.Constant):
        value = text(target)
        return value.rsplit(".", 1)[-1] if value else None
    name = dotted(target)
    if name is None:
        return None
    if name.endswith("AUTH_USER_MODEL") or name in user_aliases:
        return AUTH_USER_MODEL
    return name.rsplit(".", 1)[-1]


def _user_model_aliases(tree: ast.Module) -> frozenset[str]:
    """Module constants naming the user model: `User = settings.AUTH_USER_MODEL`, `User = get_user_model()`."""
    found = set()
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
            value = statement.value.func if isinstance(statement.value, ast.Call) else statement.value
            if last_part(value) in {"AUTH_USER_MODEL", "get_user_model"}:
                found.add(statement.targets[0].id)
    return frozenset(found)


@dataclass(frozen=True)
class _Meta:
    table: str | None = None
    unique_sets: tuple[tuple[str, ...], ...] = ()
    non_negative: tuple[str, ...] = ()


def _meta(cls: ast.ClassDef) -> _Meta:
    """`class Meta`: db_table, unique_together, UniqueConstraint and CheckConstraint(col__gte=0)."""
    meta = next((s for s in cls.body if isinstance(s, ast.ClassDef) and s.name == "Meta"), None)
    if meta is None:
        return _Meta()
    table: str | None = None
    unique_sets: list[tuple[str, ...]] = []
    non_negative: list[str] = []
    for name, value in _assignments(meta.body):
        if name == "db_table" and text(value) is not None:
            table = text(value)
        elif name == "unique_together":
            unique_sets += _unique_together(value)
        elif name == "constraints" and isinstance(value, (ast.List, ast.Tuple)):
            for constraint in value.elts:
                if not isinstance(constraint, ast.Call):
                    continue
                kind = last_part(constraint.func)
                if kind == "UniqueConstraint":
                    fields = strings(keyword(constraint, "fields") or ast.List([]))
                    if fields and keyword(constraint, "condition") is None:
                        unique_sets.append(tuple(fields))
                elif kind == "CheckConstraint":
                    non_negative += _non_negative_checks(keyword(constraint, "check") or keyword(constraint, "condition"))
    return _Meta(table, tuple(unique_sets), tuple(non_negative))


def _unique_together(value: ast.expr) -> list[tuple[str, ...]]:
    if not isinstance(value, (ast.List, ast.Tuple)):
        return []
    flat = strings(value)
    if flat:
        return [tuple(flat)]
    sets = [strings(element) for element in value.elts]
    return [tuple(s) for s in sets if s]


def _non_negative_checks(check: ast.expr | None) -> list[str]:
    """`Q(balance__gte=0)` (also `__gt=0`) as a non-negative column, in `Q(...)`s nested at any depth."""
    if not isinstance(check, ast.Call):
        return []
    found = []
    arguments: list[ast.expr | ast.keyword] = [*check.args, *check.keywords]
    for argument in sorted(arguments, key=lambda a: (a.lineno, a.col_offset)):
        if isinstance(argument, ast.expr) or argument.arg is None:
            found += _non_negative_checks(argument if isinstance(argument, ast.expr) else argument.value)
            continue
        column, _, lookup = argument.arg.partition("__")
        value = argument.value
        if lookup in {"gte", "gt"} and isinstance(value, ast.Constant) and type(value.value) is int and value.value == 0:
            found.append(column)
    return found
