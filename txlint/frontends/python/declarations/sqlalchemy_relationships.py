"""Pass 1, SQLAlchemy: a mapped class's relationships and the tables its foreign keys reference.

`forum = relationship("Forum")`, `db.relationship(Forum, backref="topics")`,
`forum: Mapped["Forum"] = relationship(back_populates="topics")`, `posts:
Mapped[list["Post"]] = relationship(lazy="dynamic")`, `DynamicMapped["Post"]`,
SQLModel's `team: Team | None = Relationship(...)`, and a `@declared_attr` method
returning one. What it holds (one row, a collection) is read off the annotation,
`uselist=`, `lazy="dynamic"`, `secondary=` or `remote_side=` when they say it; else
the project index decides from the foreign keys (`core.relationships`), which are
read here too: `ForeignKey("forums.id")`, `ForeignKey(Forum.id)`, SQLModel's
`Field(foreign_key="team.id")`.
"""

from __future__ import annotations

import ast

from txlint.core.relationships import DYNAMIC, RelationshipDecl
from txlint.frontends.python.declarations.syntax import keyword, last_part, positional, text

RELATIONSHIP_CALLS = {"relationship", "Relationship", "relation"}  # `relation`: SQLAlchemy's old alias
COLLECTIONS = {"list", "List", "set", "Set", "Sequence", "Collection", "AbstractSet", "MutableSequence", "MutableSet"}
COLLECTION_WRAPPERS = {"DynamicMapped": DYNAMIC, "WriteOnlyMapped": "write_only"}  # 2.0's collections that are not loaded
WRAPPERS = {"Mapped", "Optional", "ClassVar"}
# `lazy=True` is "select", `lazy=False` "joined", `lazy=None` "noload" (SQLAlchemy's spellings of old).
LAZY_CONSTANTS: dict[object, str] = {True: "select", False: "joined", None: "noload"}


def relationships(cls: ast.ClassDef) -> tuple[RelationshipDecl, ...]:
    """The relationships a class body declares, in order (an attribute whose class is unknown is left out)."""
    found = []
    for statement in cls.body:
        declared = _declaration(statement)
        if declared is None:
            continue
        name, annotation, call = declared
        relation = _relationship(name, annotation, call)
        if relation is not None:
            found.append(relation)
    return tuple(found)


def foreign_tables(cls: ast.ClassDef) -> tuple[str, ...]:
    """The tables (or, for `ForeignKey(Forum.id)`, the classes) the class's columns point to."""
    found: list[str] = []
    for statement in cls.body:
        value = statement.value if isinstance(statement, (ast.Assign, ast.AnnAssign)) else None
        if not isinstance(value, ast.Call) or last_part(value.func) in RELATIONSHIP_CALLS:
            continue
        for node in ast.walk(value):
            if not isinstance(node, ast.Call):
                continue
            target = positional(node)[0] if last_part(node.func) == "ForeignKey" and positional(node) else keyword(node, "foreign_key")
            referenced = _referenced(target) if target is not None else None
            if referenced:
                found.append(referenced)
    return tuple(dict.fromkeys(found))


def _referenced(target: ast.expr) -> str | None:
    """`"schema.forums.id"` -> `forums`; `Forum.id` -> `Forum`."""
    value = text(target)
    if value is not None:
        parts = value.split(".")
        return parts[-2] if len(parts) >= 2 else None
    if isinstance(target, ast.Attribute):
        return last_part(target.value) or None
    return None


def _declaration(statement: ast.stmt) -> tuple[str, ast.expr | None, ast.Call] | None:
    """(name, annotation, relationship call) of `name = relationship(...)`, `name: T = relationship(...)`
    or a `@declared_attr` method `def name(cls) -> Mapped[T]: return relationship(...)`."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
        name, annotation, value = statement.targets[0].id, None, statement.value
    elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        name, annotation, value = statement.target.id, statement.annotation, statement.value  # type: ignore[assignment]
    elif isinstance(statement, ast.FunctionDef) and any(last_part(d) == "declared_attr" for d in statement.decorator_list):
        returned = [s.value for s in ast.walk(statement) if isinstance(s, ast.Return) and s.value is not None]
        name, annotation, value = statement.name, statement.returns, returned[0] if len(returned) == 1 else None  # type: ignore[assignment]
    else:
        return None
    if not (isinstance(value, ast.Call) and last_part(value.func) in RELATIONSHIP_CALLS):
        return None
    return name, annotation, value


def _relationship(name: str, annotation: ast.expr | None, call: ast.Call) -> RelationshipDecl | None:
    options = _options(call)
    args = positional(call)
    target = _class_named(args[0]) if args else None
    many, wrapped = _annotated(annotation) if annotation is not None else (None, None)
    if target is None and wrapped is not None:
        target = wrapped
    if not target:
        return None
    loading = _loading(options.get("lazy"))
    if annotation is not None and (wrapper := last_part(annotation.value if isinstance(annotation, ast.Subscript) else annotation)) in COLLECTION_WRAPPERS:
        many, loading = True, COLLECTION_WRAPPERS[wrapper]
    uselist = options.get("uselist")
    if isinstance(uselist, ast.Constant) and isinstance(uselist.value, bool):
        many = uselist.value
    elif loading == DYNAMIC or "collection_class" in options:
        many = True
    elif many is None and "remote_side" in options:
        many = False  # the self-referential many-to-one (`parent = relationship("Node", remote_side=[id])`)
    backref, backref_many, backref_loading = _backref(options.get("backref"))
    return RelationshipDecl(
        name, target, many, loading, secondary="secondary" in options, backref=backref, backref_many=backref_many, backref_loading=backref_loading
    )


def _options(call: ast.Call) -> dict[str, ast.expr]:
    """The keywords of `relationship(...)`, with SQLModel's `sa_relationship_kwargs={...}` spread in."""
    found = {k.arg: k.value for k in call.keywords if k.arg is not None}
    extra = found.pop("sa_relationship_kwargs", None)
    if isinstance(extra, ast.Dict):
        for key, value in zip(extra.keys, extra.values, strict=True):
            if (word := text(key)) is not None:
                found.setdefault(word, value)
    return found


def _loading(value: ast.expr | None) -> str:
    if value is None:
        return "select"
    if isinstance(value, ast.Constant) and (isinstance(value.value, str) or value.value in LAZY_CONSTANTS):
        return value.value if isinstance(value.value, str) else LAZY_CONSTANTS[value.value]
    return ""  # not a literal: how it loads is unknown


def _backref(value: ast.expr | None) -> tuple[str | None, bool | None, str]:
    """`backref="topics"` or `backref=backref("topics", uselist=False, lazy="dynamic")`."""
    if value is None:
        return None, None, "select"
    if (name := text(value)) is not None:
        return name, None, "select"
    if isinstance(value, ast.Call) and last_part(value.func) == "backref" and positional(value) and (name := text(positional(value)[0])) is not None:
        uselist = keyword(value, "uselist")
        loading = _loading(keyword(value, "lazy"))
        many = uselist.value if isinstance(uselist, ast.Constant) and isinstance(uselist.value, bool) else True if loading == DYNAMIC else None
        return name, many, loading
    return None, None, "select"


def _class_named(node: ast.expr) -> str | None:
    """The class a relationship's first argument names: `"Forum"`, `"models.Forum"`, `Forum`,
    `lambda: Forum`."""
    if isinstance(node, ast.Lambda):
        node = node.body
    value = text(node)
    if value is not None:
        simple = value.rsplit(".", 1)[-1]
        return simple if simple.isidentifier() else None
    return last_part(node) or None


def _annotated(annotation: ast.expr) -> tuple[bool | None, str | None]:
    """What an annotation says of a relationship: a collection or one row, and the class: `Mapped["Forum"]`,
    `Mapped[Forum | None]`, `Mapped[Optional["Forum"]]`, `Mapped[list["Post"]]`, `"list[Post]"`."""
    value = text(annotation)
    if value is not None:
        try:
            annotation = ast.parse(value, mode="eval").body
        except SyntaxError:
            return None, None
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        sides = [s for s in (annotation.left, annotation.right) if not (isinstance(s, ast.Constant) and s.value is None)]
        return _annotated(sides[0]) if len(sides) == 1 else (None, None)
    if isinstance(annotation, ast.Subscript):
        outer = last_part(annotation.value)
        if outer in WRAPPERS or outer in COLLECTION_WRAPPERS:
            many, name = _annotated(annotation.slice)
            return (True if outer in COLLECTION_WRAPPERS else many), name
        if outer in COLLECTIONS:
            return True, _annotated(annotation.slice)[1]
        if outer == "Union" and isinstance(annotation.slice, ast.Tuple):
            sides = [s for s in annotation.slice.elts if not (isinstance(s, ast.Constant) and s.value is None)]
            return _annotated(sides[0]) if len(sides) == 1 else (None, None)
        return None, None
    name = last_part(annotation)
    return (False, name) if name else (None, None)
