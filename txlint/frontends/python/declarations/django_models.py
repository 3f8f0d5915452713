"""Pass 1, Django: the model classes a module declares, with the constraints the rules ask about.

Fields and their uniqueness (`unique=True`, `primary_key=True`, a
`OneToOneField`), `Positive*Field`s (a lower bound of 0), and `class Meta`:
`db_table`, `unique_together`, `UniqueConstraint` (unconditional only) and
`CheckConstraint(check=Q(c__gte=0))`.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from txlint.core.index import AUTH_USER, ColumnDecl, TableDecl
from txlint.frontends.python.declarations.statements import module_statements
from txlint.frontends.python.imports import ImportTable, dotted_name, keyword_arg
from txlint.frontends.python.literals import text_value

MODEL_BASE = "django.db.models.Model"
AUTH_USER_MODEL = AUTH_USER
POSITIVE_FIELDS = {"PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField"}
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


def table_decls(module: cst.Module, imports: ImportTable, path: str, line_of: dict[cst.CSTNode, int]) -> list[TableDecl]:
    """Pass 1: the Django model classes this module declares."""
    decls: list[TableDecl] = []
    user_aliases = _user_model_aliases(module)
    for statement in module_statements(module.body):
        if not isinstance(statement, cst.ClassDef):
            continue
        bases = tuple(b for b in (dotted_name(arg.value) for arg in statement.bases if arg.keyword is None) if b)
        resolved = {imports.resolve(arg.value) for arg in statement.bases if arg.keyword is None}
        is_root = MODEL_BASE in resolved or bool(resolved & ABSTRACT_LIBRARY_BASES)
        for qualified in sorted(q for q in resolved if q in LIBRARY_MODELS):
            is_root = True
            decls += _library_decls(qualified)
        columns, meta = _fields(statement, user_aliases), _meta(statement)
        decls.append(
            TableDecl(
                name=statement.name.value,
                table=meta.table or statement.name.value,
                path=path,
                line=line_of.get(statement, 1),
                bases=tuple(b.rsplit(".", 1)[-1] for b in bases),
                is_root=is_root,
                columns=columns,
                unique_sets=meta.unique_sets,
                non_negative=meta.non_negative,
            )
        )
    return decls


def _library_decls(qualified: str) -> list[TableDecl]:
    """A library model and the library models it derives from (the index merges duplicates)."""
    found, queue = [], [LIBRARY_MODELS[qualified]]
    by_name = {decl.name: decl for decl in LIBRARY_MODELS.values()}
    while queue:
        decl = queue.pop()
        found.append(decl)
        queue += [by_name[base] for base in decl.bases if base in by_name]
    return found


def _assignments(body: cst.BaseSuite) -> list[tuple[str, cst.BaseExpression]]:
    """`name = value` statements directly in a class body."""
    found = []
    for statement in body.body if isinstance(body, cst.IndentedBlock) else ():
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    found.append((small.targets[0].target.value, small.value))
                elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value is not None:
                    found.append((small.target.value, small.value))
    return found


def _fields(cls: cst.ClassDef, user_aliases: frozenset[str]) -> tuple[ColumnDecl, ...]:
    columns: list[ColumnDecl] = []
    for name, value in _assignments(cls.body):
        field_type = dotted_name(value.func) if isinstance(value, cst.Call) else None
        if field_type is None or not (field_type.endswith(("Field", "Key"))):
            continue
        unique = keyword_arg(value, "unique") if isinstance(value, cst.Call) else None
        primary = keyword_arg(value, "primary_key") if isinstance(value, cst.Call) else None
        kind = field_type.rsplit(".", 1)[-1]
        references = _related_model(value, user_aliases) if isinstance(value, cst.Call) and kind in {"ForeignKey", "OneToOneField"} else None
        related_name = keyword_arg(value, "related_name") if isinstance(value, cst.Call) else None
        columns.append(
            ColumnDecl(
                name=name,
                unique=_is_true(unique) or _is_true(primary) or kind == "OneToOneField",
                non_negative=kind in POSITIVE_FIELDS,
                references=references,
                related_name=text_value(related_name) if related_name is not None else None,
                one_to_one=kind == "OneToOneField",
            )
        )
    return tuple(columns)


def _related_model(call: cst.Call, user_aliases: frozenset[str]) -> str | None:
    """The model a foreign key points to: `ForeignKey(Account, ...)`, `"app.Account"`, `"self"`, or the
    project's user model (`settings.AUTH_USER_MODEL`, directly or through a module constant)."""
    target = next((a.value for a in call.args if a.keyword is None), None) or keyword_arg(call, "to")
    if isinstance(target, (cst.SimpleString, cst.ConcatenatedString)):
        text = text_value(target)
        return text.rsplit(".", 1)[-1] if text else None
    name = dotted_name(target) if target is not None else None
    if name is None:
        return None
    if name.endswith("AUTH_USER_MODEL") or name in user_aliases:
        return AUTH_USER_MODEL
    return name.rsplit(".", 1)[-1]


def _user_model_aliases(module: cst.Module) -> frozenset[str]:
    """Module constants naming the user model: `User = settings.AUTH_USER_MODEL`, `User = get_user_model()`."""
    found = set()
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    value = small.value.func if isinstance(small.value, cst.Call) else small.value
                    if (dotted_name(value) or "").rsplit(".", 1)[-1] in {"AUTH_USER_MODEL", "get_user_model"}:
                        found.add(small.targets[0].target.value)
    return frozenset(found)


@dataclass(frozen=True)
class _Meta:
    table: str | None = None
    unique_sets: tuple[tuple[str, ...], ...] = ()
    non_negative: tuple[str, ...] = ()


def _meta(cls: cst.ClassDef) -> _Meta:
    """`class Meta`: db_table, unique_together, UniqueConstraint and CheckConstraint(col__gte=0)."""
    meta = next((s for s in cls.body.body if isinstance(s, cst.ClassDef) and s.name.value == "Meta"), None)
    if meta is None:
        return _Meta()
    table: str | None = None
    unique_sets: list[tuple[str, ...]] = []
    non_negative: list[str] = []
    for name, value in _assignments(meta.body):
        if name == "db_table" and isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
            table = value.evaluated_value
        elif name == "unique_together":
            unique_sets += _unique_together(value)
        elif name == "constraints" and isinstance(value, (cst.List, cst.Tuple)):
            for element in value.elements:
                constraint = element.value
                if not isinstance(constraint, cst.Call):
                    continue
                kind = (dotted_name(constraint.func) or "").rsplit(".", 1)[-1]
                if kind == "UniqueConstraint":
                    fields = _string_list(keyword_arg(constraint, "fields") or cst.List([]))
                    if fields and keyword_arg(constraint, "condition") is None:
                        unique_sets.append(tuple(fields))
                elif kind == "CheckConstraint":
                    non_negative += _non_negative_checks(keyword_arg(constraint, "check") or keyword_arg(constraint, "condition"))
    return _Meta(table, tuple(unique_sets), tuple(non_negative))


def _unique_together(value: cst.BaseExpression) -> list[tuple[str, ...]]:
    if not isinstance(value, (cst.List, cst.Tuple)):
        return []
    flat = _string_list(value)
    if flat:
        return [tuple(flat)]
    sets = [_string_list(e.value) for e in value.elements]
    return [tuple(s) for s in sets if s]


def _non_negative_checks(check: cst.BaseExpression | None) -> list[str]:
    """`Q(balance__gte=0)` (also `__gt=0`) as a non-negative column."""
    if not isinstance(check, cst.Call):
        return []
    found = []
    for arg in check.args:
        if arg.keyword is None:
            found += _non_negative_checks(arg.value)
            continue
        column, _, lookup = arg.keyword.value.partition("__")
        if lookup in {"gte", "gt"} and isinstance(arg.value, cst.Integer) and int(arg.value.value) == 0:
            found.append(column)
    return found


def _string_list(node: cst.BaseExpression) -> list[str] | None:
    """The field names of a literal `update_fields=[...]`; None when not literal."""
    if not isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return None
    names: list[str] = []
    for element in node.elements:
        if not isinstance(element.value, cst.SimpleString) or not isinstance(element.value.evaluated_value, str):
            return None
        names.append(element.value.evaluated_value)
    return names


def _is_true(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"
