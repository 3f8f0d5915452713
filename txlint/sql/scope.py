"""The tables one query block reads from, under the names its own clauses call them.

A query block is a SELECT, or the outer level of an UPDATE, DELETE or INSERT.
Its sources are the items of its own FROM and JOINs (and an UPDATE's or
DELETE's target, a DELETE's USING); a subquery or CTE is a block of its own,
whose aliases do not leak out. So in

    SELECT a.balance FROM accounts a
    WHERE a.id = %s AND a.owner IN (SELECT a.owner FROM audit a) FOR UPDATE OF a

the outer `a` is `accounts`, and the lock and the outer predicates are on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp


@dataclass(frozen=True)
class Scope:
    """Names a block's clauses may qualify a column with: an alias or table name, mapped to the real
    table, or to None for a derived table (a subquery in FROM) or a CTE."""

    sources: dict[str, str | None]

    def resolve(self, name: str) -> str:
        """The real table `name` stands for here; a name this block does not define is kept as written."""
        return self.sources.get(name) or name

    def table_of(self, item: exp.Expr | None) -> str | None:
        """The real table a FROM item or DML target names (None for subqueries and CTE names)."""
        if isinstance(item, exp.Schema):
            item = item.this
        if isinstance(item, exp.Table) and item.name:
            return self.sources.get(item.alias_or_name)
        return None


def from_items(block: exp.Expr) -> list[exp.Expr]:
    """The FROM and JOIN items of a block, in order: an UPDATE's or DELETE's target first, a
    DELETE's USING last; joins sqlglot hangs under a table (`UPDATE a JOIN b`) after that table."""
    items: list[exp.Expr] = []
    if isinstance(block, (exp.Update, exp.Delete)) and isinstance(block.this, exp.Expr):
        items.append(block.this)
    from_ = block.args.get("from_")
    if isinstance(from_, exp.From) and isinstance(from_.this, exp.Expr):
        items.append(from_.this)
    items += [join.this for join in block.args.get("joins") or () if isinstance(join, exp.Join)]
    items += [item for item in block.args.get("using") or () if isinstance(item, exp.Expr)]
    expanded: list[exp.Expr] = []
    for item in items:
        expanded.append(item)
        if isinstance(item, exp.Table):
            expanded += [join.this for join in item.args.get("joins") or () if isinstance(join, exp.Join)]
    return expanded


def scope_of(block: exp.Expr, ctes: frozenset[str]) -> Scope:
    """The scope of one block; `ctes` are the names WITH clauses define (they are not tables)."""
    sources: dict[str, str | None] = {}
    for item in from_items(block):
        if isinstance(item, exp.Schema):
            item = item.this
        if isinstance(item, exp.Table) and item.name:
            real = None if item.name in ctes else item.name
            sources.setdefault(item.alias_or_name, real)
            if item.alias:
                sources.setdefault(item.name, real)  # `accounts.id` still names accounts a
        elif item.alias_or_name:
            sources.setdefault(item.alias_or_name, None)  # a derived table
    return Scope(sources)
