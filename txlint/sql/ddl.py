"""What DDL declares about tables: unique keys, non-negative columns, column names.

Reads `CREATE TABLE` (column and table constraints), `ALTER TABLE ... ADD
[CONSTRAINT] UNIQUE/PRIMARY KEY/CHECK`, `ALTER TABLE ... ADD COLUMN` and
`CREATE UNIQUE INDEX`; facts about one table from several statements are
merged.
"""

from __future__ import annotations

import dataclasses

from sqlglot import exp

from txlint.sql.facts import TableSchema
from txlint.sql.predicates import conjuncts, dedupe, literal, unwrap

_UNSIGNED_TYPES = frozenset(
    {"UTINYINT", "USMALLINT", "UMEDIUMINT", "UINT", "UBIGINT", "UINT128", "UINT256", "UDECIMAL", "UDOUBLE"}
)


@dataclasses.dataclass
class _TableFacts:
    columns: list[str] = dataclasses.field(default_factory=list)
    unique: list[tuple[str, ...]] = dataclasses.field(default_factory=list)
    non_negative: list[str] = dataclasses.field(default_factory=list)


class SchemaBuilder:
    """Collects DDL facts per table across the statements of a text."""

    def __init__(self) -> None:
        self.tables: dict[str, _TableFacts] = {}

    def schemas(self) -> tuple[TableSchema, ...]:
        return tuple(
            TableSchema(
                name,
                unique_columns=tuple(dict.fromkeys(facts.unique)),
                non_negative=dedupe(facts.non_negative),
                columns=dedupe(facts.columns),
            )
            for name, facts in self.tables.items()
        )

    def _facts(self, name: str) -> _TableFacts:
        return self.tables.setdefault(name, _TableFacts())

    def add(self, tree: exp.Expr) -> None:
        if isinstance(tree, exp.Create):
            self._create(tree)
        elif isinstance(tree, exp.Alter) and isinstance(tree.this, exp.Table) and tree.this.name:
            facts = self._facts(tree.this.name)
            for action in tree.args.get("actions") or ():
                items = action.expressions if isinstance(action, exp.AddConstraint) else [action]
                for item in items:
                    self._schema_item(facts, item)

    def _create(self, create: exp.Create) -> None:
        target = create.this
        kind = str(create.args.get("kind") or "").upper()
        if kind == "TABLE" and isinstance(target, exp.Schema) and isinstance(target.this, exp.Table):
            facts = self._facts(target.this.name)
            for item in target.expressions:
                self._schema_item(facts, item)
        elif kind == "INDEX" and create.args.get("unique") and isinstance(target, exp.Index):
            table = target.args.get("table")
            params = target.args.get("params")
            if isinstance(table, exp.Table) and table.name and isinstance(params, exp.IndexParameters):
                columns = [_columns_of(column) for column in params.args.get("columns") or ()]
                if columns and all(len(names) == 1 for names in columns):
                    self._facts(table.name).unique.append(tuple(names[0] for names in columns))

    def _schema_item(self, facts: _TableFacts, item: exp.Expr) -> None:
        """A column definition or a table constraint inside CREATE TABLE / ALTER TABLE ... ADD."""
        if isinstance(item, exp.ColumnDef):
            self._column(facts, item)
        elif isinstance(item, exp.Constraint):
            for inner in item.expressions:
                self._schema_item(facts, inner)
        elif isinstance(item, (exp.PrimaryKey, exp.UniqueColumnConstraint)):
            columns = _constraint_columns(item)
            if columns:
                facts.unique.append(columns)
        elif isinstance(item, exp.CheckColumnConstraint):
            facts.non_negative.extend(_non_negative(item.this))

    def _column(self, facts: _TableFacts, column: exp.ColumnDef) -> None:
        name = column.name
        if not name:
            return
        facts.columns.append(name)
        kind = column.args.get("kind")
        if isinstance(kind, exp.DataType) and kind.this.name in _UNSIGNED_TYPES:
            facts.non_negative.append(name)
        for constraint in column.args.get("constraints") or ():
            what = constraint.args.get("kind") if isinstance(constraint, exp.ColumnConstraint) else constraint
            if isinstance(what, (exp.PrimaryKeyColumnConstraint, exp.UniqueColumnConstraint)):
                facts.unique.append((name,))
            elif isinstance(what, exp.CheckColumnConstraint):
                facts.non_negative.extend(_non_negative(what.this))


def _constraint_columns(item: exp.Expr) -> tuple[str, ...]:
    """The columns of `PRIMARY KEY (a, b)` / `UNIQUE (a, b)` / MySQL `UNIQUE KEY name (a, b)`."""
    holder = item.this if isinstance(item, exp.UniqueColumnConstraint) else item
    parts = holder.expressions if isinstance(holder, exp.Expr) else []
    names: list[str] = []
    for part in parts:
        found = _columns_of(part)
        if len(found) != 1:
            return ()
        names.append(found[0])
    return tuple(names)


def _columns_of(node: exp.Expr) -> tuple[str, ...]:
    """Column names an index or key item uses: `a`, `a DESC`, `lower(a)` all give `a`."""
    if isinstance(node, exp.Identifier):
        return (node.name,)
    return dedupe(column.name for column in node.find_all(exp.Column) if column.name)


def _non_negative(condition: exp.Expr | None) -> list[str]:
    """Columns a CHECK condition bounds below by a literal >= 0 (`c >= 0`, `c > 0`, `0 <= c`, `c BETWEEN 0 AND n`)."""
    if not isinstance(condition, exp.Expr):
        return []
    names: list[str] = []
    for conjunct in conjuncts(condition):
        column: exp.Expr | None = None
        bound: float | str | bool | None = None
        if isinstance(conjunct, (exp.GTE, exp.GT)):
            column, bound = unwrap(conjunct.this), literal(unwrap(conjunct.expression))
        elif isinstance(conjunct, (exp.LTE, exp.LT)):
            column, bound = unwrap(conjunct.expression), literal(unwrap(conjunct.this))
        elif isinstance(conjunct, exp.Between):
            column, bound = unwrap(conjunct.this), literal(unwrap(conjunct.args["low"]))
        if isinstance(column, exp.Column) and isinstance(bound, float) and bound >= 0:
            names.append(column.name)
    return names
