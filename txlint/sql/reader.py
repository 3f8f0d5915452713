"""The facts of one parsed statement: what it reads, writes, locks and inserts.

`StatementReader` reads the outer block of a statement (see `scope`): its
table, its predicates, its lock clause and, by kind, its select list, SET
items or inserted values. Tables mentioned anywhere (subqueries, CTEs,
joins) are listed in `Statement.tables`, in text order.
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from txlint.sql.facts import Change, LockStrength, LockWait, PlaceholderKey, SetItem, Statement
from txlint.sql.predicates import ClauseReader, dedupe, unwrap
from txlint.sql.scope import Scope, from_items, scope_of

_ADVISORY_LOCKS = frozenset(
    {"pg_advisory_xact_lock", "pg_advisory_lock", "pg_try_advisory_xact_lock", "pg_try_advisory_lock", "get_lock"}
)


class StatementReader:
    """Reads the facts of one parsed statement."""

    def __init__(self, root: exp.Expr, keys: dict[str, PlaceholderKey]) -> None:
        while isinstance(root, (exp.Subquery, exp.Paren)) and isinstance(root.this, exp.Expr):
            root = root.this
        self.root = root
        ctes: set[str] = set()
        tables: list[exp.Table] = []
        # `FOR UPDATE OF a` holds table nodes that name an alias, not a table.
        for node in root.dfs(prune=lambda n: isinstance(n, exp.Lock)):
            if isinstance(node, exp.CTE):
                ctes.add(node.alias_or_name)
            elif isinstance(node, exp.Table) and node.name:
                tables.append(node)
        self.ctes = frozenset(ctes)
        # Tree order is not text order (a WITH is attached after the query it prefixes); the
        # identifiers carry their source offsets.
        tables.sort(key=_source_offset)
        self.tables = dedupe(table.name for table in tables if table.name not in self.ctes)
        self.scope = scope_of(root, self.ctes)
        self.clauses = ClauseReader(keys, self.scope)

    def statement(self) -> Statement:
        found = self._statement()
        inserts = _cte_inserts(self.root)
        if not inserts or found.kind not in {"update", "delete", "insert", "select"}:
            return found
        facts = tuple(StatementReader(insert, self.clauses.keys).statement() for _, insert in inserts)
        needed = _needed_ctes(self.root)
        gated = tuple(position for position, (name, _) in enumerate(inserts) if name in needed)
        return replace(found, cte_inserts=facts, gated_by=gated)

    def _statement(self) -> Statement:
        root = self.root
        if isinstance(root, exp.Select):
            return self._select(root)
        if isinstance(root, exp.Query):  # UNION / INTERSECT / EXCEPT
            return Statement("select", tables=self.tables)
        if isinstance(root, exp.Update):
            return self._update(root)
        if isinstance(root, exp.Insert):
            return self._insert(root)
        if isinstance(root, exp.Delete):
            predicates, opaque = self.clauses.where(root)
            return Statement(
                "delete",
                table=self.scope.table_of(root.this),
                tables=self.tables,
                returning=bool(root.args.get("returning")),
                predicates=predicates,
                where_opaque=opaque,
            )
        return _other(root, self.tables)

    def _from_tables(self, block: exp.Expr, scope: Scope) -> tuple[str, ...]:
        return dedupe(name for item in from_items(block) if (name := scope.table_of(item)))

    # ---- select

    def _select(self, select: exp.Select) -> Statement:
        items = [item.unalias() for item in select.expressions]
        source, clauses, scope = select, self.clauses, self.scope
        if len(items) == 1 and isinstance(items[0], exp.Exists) and not select.args.get("from_"):
            inner = unwrap(items[0].this)
            while isinstance(inner, exp.Subquery):
                inner = inner.this
            if isinstance(inner, exp.Select):
                # `SELECT EXISTS (SELECT 1 FROM t WHERE k = %s)` checks rows of t, in the inner block.
                source, scope = inner, scope_of(inner, self.ctes)
                clauses = self.clauses.within(scope)
        from_tables = self._from_tables(source, scope)
        lock, lock_tables, lock_wait = self._lock(select)
        advisory = [func for item in items for func in _advisory_calls(item)]
        predicates, opaque = clauses.where(source)
        return Statement(
            "select",
            table=from_tables[0] if from_tables else None,
            tables=self.tables,
            columns=_select_columns(items),
            lock=lock,
            lock_tables=lock_tables,
            lock_wait=lock_wait,
            aggregate=any(_is_aggregate(item) for item in items),
            advisory_lock=bool(advisory),
            advisory_keys=tuple(self.clauses.operand(arg) for func in advisory for arg in func.expressions),
            predicates=predicates,
            where_opaque=opaque,
        )

    def _lock(self, select: exp.Select) -> tuple[LockStrength | None, tuple[str, ...], LockWait | None]:
        """The outer block's locking clauses only: a lock in a subquery locks rows this query does not return."""
        locks = [lock for lock in select.args.get("locks") or () if isinstance(lock, exp.Lock)]
        if not locks:
            return None, (), None
        strength: LockStrength = "exclusive" if any(lock.args.get("update") for lock in locks) else "share"
        named: list[str] = []
        every_from_table = False
        wait: LockWait | None = None
        for lock in locks:
            targets = [self.scope.resolve(target.name) for target in lock.expressions if target.name]
            named.extend(targets)
            every_from_table = every_from_table or not targets
            setting = lock.args.get("wait")
            if setting is True:
                wait = "nowait"
            elif setting is False:
                wait = "skip locked"
            elif isinstance(setting, exp.Expr):
                wait = "wait"
        tables = named + list(self._from_tables(select, self.scope) if every_from_table else ())
        return strength, dedupe(tables), wait

    # ---- update, insert

    def _update(self, update: exp.Update) -> Statement:
        sets = tuple(item for eq in update.expressions if (item := self._set_item(eq)) is not None)
        predicates, opaque = self.clauses.where(update)
        return Statement(
            "update",
            table=self.scope.table_of(update.this),
            tables=self.tables,
            sets=sets,
            returning=bool(update.args.get("returning")),
            predicates=predicates,
            where_opaque=opaque,
        )

    def _insert(self, insert: exp.Insert) -> Statement:
        target = insert.this
        columns: tuple[str, ...] = ()
        if isinstance(target, exp.Schema):
            columns = tuple(column.name for column in target.expressions if column.name)
        conflict = insert.args.get("conflict")
        action = conflict.args.get("action") if isinstance(conflict, exp.OnConflict) else None
        action_text = action.name.upper() if isinstance(action, exp.Expr) else ""
        alternative = str(insert.args.get("alternative") or "").upper()
        nothing = bool(insert.args.get("ignore")) or alternative == "IGNORE" or action_text == "DO NOTHING"
        upsert = alternative == "REPLACE" or (
            isinstance(conflict, exp.OnConflict) and (bool(conflict.args.get("duplicate")) or "UPDATE" in action_text)
        )
        conflict_columns: tuple[str, ...] = ()
        conflict_sets: tuple[SetItem, ...] = ()
        if isinstance(conflict, exp.OnConflict):
            keys = conflict.args.get("conflict_keys") or ()
            conflict_columns = dedupe(col.name for key in keys for col in key.find_all(exp.Column) if col.name)
            conflict_sets = tuple(item for eq in conflict.expressions if (item := self._set_item(eq)) is not None)
        table = target.this if isinstance(target, exp.Schema) else target
        return Statement(
            "insert",
            table=table.name if isinstance(table, exp.Table) and table.name and table.name not in self.ctes else None,
            tables=self.tables,
            columns=columns,
            sets=self._insert_values(insert, columns),
            on_conflict_nothing=nothing,
            upsert=upsert and not nothing,
            conflict_columns=conflict_columns,
            conflict_sets=conflict_sets,
            returning=bool(insert.args.get("returning")),
        )

    def _insert_values(self, insert: exp.Insert, columns: tuple[str, ...]) -> tuple[SetItem, ...]:
        """`column = value` pairs of a single-row `VALUES`; several rows or a SELECT give none."""
        values = insert.args.get("expression")
        if not isinstance(values, exp.Values) or len(values.expressions) != 1 or not columns:
            return ()
        row = values.expressions[0]
        cells = row.expressions if isinstance(row, exp.Tuple) else [row]
        if len(cells) != len(columns):
            return ()
        return tuple(SetItem(column, self.clauses.operand(cell)) for column, cell in zip(columns, cells, strict=True))

    def _set_item(self, node: exp.Expr) -> SetItem | None:
        if not isinstance(node, exp.EQ) or not isinstance(node.this, exp.Column):
            return None
        column = node.this.name
        value = node.expression
        return SetItem(column, self.clauses.operand(value), self._change(column, value))

    def _change(self, column: str, value: exp.Expr) -> Change | None:
        """`c - x`, `c + x`, `x + c` (also `COALESCE(c, 0) - x`) on the assigned column itself."""
        value = unwrap(value)
        if isinstance(value, exp.Sub) and _is_own_column(value.this, column):
            return Change(column, "-", self.clauses.operand(value.expression))
        if isinstance(value, exp.Add):
            if _is_own_column(value.this, column):
                return Change(column, "+", self.clauses.operand(value.expression))
            if _is_own_column(value.expression, column):
                return Change(column, "+", self.clauses.operand(value.this))
        return None


def _cte_inserts(root: exp.Expr) -> list[tuple[str, exp.Insert]]:
    """The data-modifying CTEs of the statement's own WITH that insert: (name, INSERT)."""
    with_ = root.args.get("with_")
    if not isinstance(with_, exp.With):
        return []
    return [(cte.alias_or_name, cte.this) for cte in with_.expressions if isinstance(cte, exp.CTE) and isinstance(cte.this, exp.Insert)]


def _needed_ctes(root: exp.Expr) -> set[str]:
    """The CTE names without whose rows the outer statement changes nothing: joined in its FROM (or
    an inner JOIN), or read by an AND-ed conjunct of its WHERE that is false when they are empty
    (`EXISTS (SELECT 1 FROM ins)`, `id IN (SELECT ... FROM ins)`, `id = (SELECT ... FROM ins)`)."""
    needed: set[str] = set()
    from_ = root.args.get("from_")
    if isinstance(from_, exp.From) and isinstance(from_.this, exp.Table):
        needed.add(from_.this.name)
    for join in root.args.get("joins") or ():
        if isinstance(join, exp.Join) and isinstance(join.this, exp.Table) and not join.side:
            needed.add(join.this.name)
    where = root.args.get("where")
    if isinstance(where, exp.Where):
        for conjunct in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
            conjunct = unwrap(conjunct)
            query = None
            if isinstance(conjunct, exp.Exists):
                query = conjunct.this
            elif isinstance(conjunct, exp.In):
                query = conjunct.args.get("query")
            elif isinstance(conjunct, exp.EQ) and isinstance(unwrap(conjunct.expression), exp.Subquery):
                query = conjunct.expression
            if isinstance(query, exp.Expr):
                needed.update(table.name for table in query.find_all(exp.Table) if table.name)
    return needed


def _other(root: exp.Expr, tables: tuple[str, ...]) -> Statement:
    """Transaction control sqlglot parsed after all, SET, and everything txlint does not analyse."""
    if isinstance(root, exp.Transaction):
        return Statement("begin")
    if isinstance(root, exp.Commit):
        return Statement("commit")
    if isinstance(root, exp.Rollback):
        savepoint = root.args.get("savepoint")
        if savepoint is not None:
            return Statement("savepoint", savepoint=savepoint.name, savepoint_action="rollback_to")
        return Statement("rollback")
    if isinstance(root, exp.Set):
        return Statement("set")
    return Statement("other", tables=() if isinstance(root, exp.Command) else tables)


def _is_own_column(node: exp.Expr, column: str) -> bool:
    node = unwrap(node)
    if isinstance(node, exp.Coalesce):
        node = unwrap(node.this)
    # `excluded.c` / `VALUES(c)` in an upsert is the proposed row, not the stored value.
    return isinstance(node, exp.Column) and node.name == column and node.table.lower() != "excluded"


def _select_columns(items: list[exp.Expr]) -> tuple[str, ...]:
    names: list[str] = []
    for item in items:
        if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
            names.append("*")
            continue
        for node in item.dfs(prune=lambda n: isinstance(n, exp.Query)):
            if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star) and node.name:
                names.append(node.name)
    return dedupe(names)


def _is_aggregate(item: exp.Expr) -> bool:
    return any(isinstance(node, (exp.AggFunc, exp.Exists)) for node in item.dfs(prune=lambda n: isinstance(n, exp.Query)))


def _advisory_calls(item: exp.Expr) -> list[exp.Anonymous]:
    return [
        node
        for node in item.dfs(prune=lambda n: isinstance(n, exp.Query))
        if isinstance(node, exp.Anonymous) and node.name.lower() in _ADVISORY_LOCKS
    ]


def _source_offset(table: exp.Table) -> int:
    start = table.this.meta.get("start") if isinstance(table.this, exp.Expr) else None
    return start if isinstance(start, int) else 0
