"""Questions about IR facts that several rules ask, answered once.

Library-agnostic: these look only at `txlint.core.ir` values and the config's
naming conventions (version fields, money columns), never at source code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from txlint.core.config import Config
from txlint.core.index import ProjectIndex, normalise_column
from txlint.core.ir import Assignment, CacheKind, CacheOp, Delta, Guard, LockMode, Op, Read, RowOrigin, RowRef, Unit, Value, ValueKind, Write
from txlint.core.summaries import CallSite, Passed

if TYPE_CHECKING:
    from txlint.core.rule import RuleContext

# Columns that hold a state of a state machine: a guard on them is a state CAS.
STATE_WORDS = frozenset({"status", "state", "stage", "phase"})


def words(name: str) -> list[str]:
    """The words of a snake_case or camelCase name: `availableSeats` → ["available", "seats"]."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [w for w in spaced.lower().split("_") if w]


def is_state_column(column: str) -> bool:
    return any(word in STATE_WORDS for word in words(column))


def is_version_column(column: str, config: Config, declared: str | None = None) -> bool:
    normal = column.lower()
    return normal == (declared or "").lower() or normal in {v.lower() for v in config.version_fields}


def is_money_column(column: str, config: Config) -> bool:
    """A money-like column: one of the configured words appears as a whole word in its name."""
    money = {m.lower() for m in config.money_columns}
    return column.lower() in money or any(word in money for word in words(column))


def same_row(a: RowRef, b: RowRef) -> bool:
    """Two references to one in-memory row: the same read, or the same parameter."""
    if a.origin is not b.origin:
        return False
    return a.read == b.read if a.origin is RowOrigin.READ else a.name == b.name


def written_columns(write: Write) -> set[str]:
    return {normalise_column(a.column) for a in write.assignments}


def cas_guards(write: Write, config: Config, version_column: str | None = None) -> list[Guard]:
    """The WHERE guards that make an UPDATE a compare-and-swap.

    A guard on a column the UPDATE writes (old value, status, lower bound), on a
    version column, or on a state column. Key columns and unrelated conditions
    (`is_active = true`) are not.
    """
    written = written_columns(write)
    return [
        g
        for g in write.guards
        if normalise_column(g.column) in written or is_version_column(g.column, config, version_column) or is_state_column(g.column)
    ]


# The last word of a column named as a date or time, for a column the schema does not declare.
TEMPORAL_WORDS = frozenset({"at", "date", "time", "timestamp", "datetime", "deadline", "until", "expiry", "expires"})


def not_a_cas(write: Write, guard: Guard, index: ProjectIndex) -> bool:
    """A guard that compares a written column without making the UPDATE a compare-and-swap worth
    checking or versioning (clarification 20): a date or time column; a foreign key set to NULL (a
    detach); the written column compared with the very value written (`SET low = v WHERE low > v`,
    keeping a minimum or a maximum)."""
    column = normalise_column(guard.column)
    written = {normalise_column(a.column): a for a in write.assignments}
    assignment = written.get(column)
    if assignment is None:
        return False
    if is_temporal(write.table, guard.column, index):
        return True
    if assignment.value.expression == "None" and (is_foreign_key(write.table, guard.column, index) or _undeclared_key(write.table, guard.column, index)):
        return True
    expression = assignment.value.expression
    return guard.op in {">", ">=", "<", "<="} and expression is not None and guard.value.expression == expression


_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def is_row_value(value: Value) -> bool:
    """The value is a row itself (a model instance: `first`, `order.user`), not data computed from
    one: a column written with it or compared with it is a reference to that row."""
    if value.kind is not ValueKind.DERIVED or value.delta is not None or value.expression is None or not _DOTTED.fullmatch(value.expression):
        return False
    whole = [d for d in value.depends_on if d.column is None]
    keys = [d for d in value.depends_on if d.column is not None]
    return bool(whole) and all(value.expression == f"{d.row.name}.{d.column}" for d in keys)


def is_temporal(table: str, column: str, index: ProjectIndex) -> bool:
    """A date or time column: declared so, or (undeclared) named so (`expires_at`, `valid_until`)."""
    declared = index.column_decl(table, column)
    if declared is not None:
        return declared.temporal
    parts = words(column)
    return (len(parts) > 1 and parts[-1] in TEMPORAL_WORDS) or (len(parts) == 1 and parts[0] in TEMPORAL_WORDS - {"at"})


def _undeclared_key(table: str, column: str, index: ProjectIndex) -> bool:
    """`group_id` of a table whose schema does not declare it: named as a reference to another row."""
    return column.lower().endswith("_id") and index.column_decl(table, column) is None


def is_foreign_key(table: str, column: str, index: ProjectIndex) -> bool:
    """`account` or `account_id` of a model whose `account` is a foreign key or one-to-one field."""
    for name in dict.fromkeys((column, column.removesuffix("_id"))):
        relation = index.relation_of(table, name)
        if relation is not None and relation.kind == "forward" and relation.column is None:
            return True
    return False


def holds_lock(read: Read, op: Op, *, shared_counts: bool) -> bool:
    """The read's row lock is held by the transaction `op` runs in.

    Both outside any visible transaction counts as held: the caller's transaction
    is then the one that matters, and TX109 judges whether it exists. A lock taken
    in autocommit is held by no transaction: it ended with its statement
    (clarification 5: TX109, and TX101 when the row is written back).
    """
    if read.lock is None or (read.lock is LockMode.SHARE and not shared_counts) or read.autocommit:
        return False
    return read.tx == op.tx


KEY_ALIASES = frozenset({"pk", "id"})


def _key(column: str) -> str:
    normal = normalise_column(column)
    return "pk" if normal in KEY_ALIASES else normal


def writes_row_of(read: Read, read_index: int, write: Write) -> bool:
    """Whether `write` (an UPDATE by WHERE, not an instance save) targets the rows `read` loaded.

    Same table, and every equality guard of the read is matched by the write:
    the same column compared with the same expression (`id = account_id` in
    both), or with a value taken from the row the read produced (`pk=acct.pk`).
    A read with no equality guard (a scan: `WHERE balance > 0`) is written back
    row by row when the write compares a column with that column of a row the
    read produced (`WHERE id = row[0]` for `SELECT id, ...`).
    """
    if read.table != write.table:
        return False
    read_keys = {(_key(g.column), g.value.expression) for g in read.guards if g.op == "="}
    if not read_keys:
        return any(
            guard.op == "="
            and any(d.row.origin is RowOrigin.READ and d.row.read == read_index and d.column is not None and _key(d.column) == _key(guard.column) for d in guard.value.depends_on)
            for guard in write.guards
        )
    matched = set()
    for guard in write.guards:
        if guard.op != "=":
            continue
        from_row = any(d.row.origin is RowOrigin.READ and d.row.read == read_index for d in guard.value.depends_on)
        for column, expression in read_keys:
            if _key(guard.column) == column and (guard.value.expression == expression or from_row):
                matched.add((column, expression))
    return matched == read_keys


def other_rows(read: Read, read_index: int, write: Write) -> bool:
    """Whether an UPDATE by WHERE surely targets other rows than `read` loaded: both compare one key
    column, the UPDATE with a row created here (which the read cannot have loaded) or with a value
    taken from another row than the read's (`basket = old_basket` read, `basket = new_basket`
    written). Values of unknown origin (parameters) prove nothing."""
    read_keys = {_key(g.column): {d.row for d in g.value.depends_on} for g in read.guards if g.op == "="}
    for guard in write.guards:
        key = _key(guard.column)
        found = {d.row for d in guard.value.depends_on}
        if guard.op != "=" or key not in read_keys or not found:
            continue
        if any(row.origin is RowOrigin.READ and row.read == read_index for row in found):
            continue
        expected = read_keys[key]
        if all(row.origin is RowOrigin.CREATED for row in found) or (expected and not expected & found):
            return True
    return False


def decrements(write: Write, config: Config) -> list[tuple[Assignment, Delta]]:
    """The in-database decrements of money-like columns a write performs (`SET c = c - x`)."""
    found = []
    for assignment in write.assignments:
        delta = assignment.value.delta
        if (
            assignment.value.kind is ValueKind.IN_DATABASE
            and delta is not None
            and delta.sign == "-"
            and normalise_column(delta.column) == normalise_column(assignment.column)
            and is_money_column(assignment.column, config)
        ):
            found.append((assignment, delta))
    return found


def state_guards(write: Write, config: Config, version_column: str | None = None) -> list[Guard]:
    """Guards that make a repeated UPDATE a no-op: a state or version condition (not a lower bound)."""
    return [g for g in write.guards if is_state_column(g.column) or is_version_column(g.column, config, version_column)]


def transitions(write: Write, config: Config, version_column: str | None = None) -> bool:
    """The UPDATE cannot match the same row twice: its WHERE tests a column it sets to a value
    computed outside the database (a status moved on, a flag set, a timestamp set once:
    `filter(state="issued").update(state="redeemed")`), or a version column. A lower bound on a
    column it decrements (`balance >= x`) matches again and is no transition."""
    assigned = {normalise_column(a.column): a.value.kind for a in write.assignments}
    for guard in write.guards:
        column = normalise_column(guard.column)
        if is_version_column(guard.column, config, version_column):
            return True
        if guard.op in {"=", "!=", "is null", "is not null", "in"} and assigned.get(column) is ValueKind.INDEPENDENT:
            return True
    return False


def in_same_transaction(a: Op, b: Op) -> bool:
    return a.tx is not None and a.tx == b.tx


# -- cache and distributed locks (TX2xx) ----------------------------------------------------------


def cache_ops(unit: Unit) -> list[tuple[int, CacheOp]]:
    """The unit's cache commands with their op indices, in order."""
    return [(i, op) for i, op in enumerate(unit.ops) if isinstance(op, CacheOp)]


def takes_lock(op: CacheOp) -> bool:
    """A command that takes a lock or a dedup key: set-if-absent, a lock object's acquire, or an
    increment whose own result decides a branch by comparison with 1 (the caller that reached 1
    first wins). A decrement takes nothing, and an `assert` on a result decides nothing."""
    if op.kind is CacheKind.ACQUIRE:
        return True
    return op.kind is CacheKind.INCR and not op.decrement and op.decides and "1" in op.compared_with


def same_key(a: CacheOp, b: CacheOp) -> bool:
    """Two commands on one key: the same key expression or the same variable (unknown keys match nothing)."""
    return a.key is not None and a.key == b.key


def atomic_together(a: CacheOp, b: CacheOp) -> bool:
    """Both queued in one MULTI/EXEC transaction: they run together or not at all."""
    return a.atomic_group is not None and a.atomic_group == b.atomic_group


def expiries_after(unit: Unit, index: int, take: CacheOp) -> list[CacheOp]:
    """The expiries given later, by separate commands, to the key `take` wrote."""
    return [op for i, op in cache_ops(unit) if i > index and op.kind is CacheKind.EXPIRE and same_key(op, take)]


def never_expires(unit: Unit, index: int, take: CacheOp) -> bool:
    """The key was taken without an expiry and none is given to it later in the unit."""
    return take.ttl is False and not expiries_after(unit, index, take)


def result_tested_by(unit: Unit, op: Op) -> list[tuple[int, CacheOp]]:
    """The cache commands whose results the branch conditions guarding `op` test."""
    found: dict[int, CacheOp] = {}
    for condition in op.conditions:
        for dep in condition.depends_on:
            index = dep.row.read
            if dep.row.origin is RowOrigin.READ and index is not None and index < len(unit.ops):
                tested = unit.ops[index]
                if isinstance(tested, CacheOp):
                    found[index] = tested
    return sorted(found.items(), key=lambda item: item[0])


def optimistic(op: CacheOp) -> bool:
    """Queued in a MULTI/EXEC whose key is WATCHed: EXEC fails if someone changed it since the check."""
    return op.atomic_group is not None and op.watched


def lock_like(unit: Unit, index: int, take: CacheOp) -> bool:
    """A take that is used as a lock or dedup guard: a lock object, its result decides or is returned
    to a caller that decides on it (a try-acquire helper, clarification 22), or the key is
    deleted/released later (a bare `setnx` whose result is thrown away just initialises a value)."""
    if take.lock_object or take.decides or take.returned:
        return True
    return any(
        i > index and op.kind in {CacheKind.DELETE, CacheKind.RELEASE} and same_key(op, take) for i, op in cache_ops(unit)
    )


def callers_of(unit: Unit, context: RuleContext) -> list[CallSite]:
    """The project's recorded call sites of `unit` (by its qualified name, and as `Class.method`
    for the calls on rows of its class), each once."""
    keys = [unit.qualified] if unit.qualified else []
    if unit.owner is not None:
        keys.append(f"{unit.owner}.{unit.name}")
    found: dict[tuple[str, int, int], CallSite] = {}
    for key in keys:
        for site in context.index.call_sites_of(key):
            found.setdefault((site.path, site.line, site.column), site)
    return list(found.values())


def callers_passing(unit: Unit, param: str, context: RuleContext) -> list[tuple[CallSite, Passed]]:
    """The project's call sites of `unit` that hand a row to its parameter `param` (`self` for the
    row a method is called on), with what they hand over (clarification 16)."""
    return [(site, state) for site in callers_of(unit, context) if (state := site.passes(unit.params, param)) is not None]


_CLAIMING_WRITES = {CacheKind.SET, CacheKind.INCR, CacheKind.ACQUIRE, CacheKind.CAS, CacheKind.GET_OR_SET}


def checked_then_set(unit: Unit) -> Iterator[tuple[int, CacheOp, int, CacheOp]]:
    """A cache key used as a mutex by reading it and then writing it (TX205): `(index, write,
    check index, check)` for each claiming write and the check that decides it.

    A write of computed data is a cache fill, not a claim; one under an atomic claim already lets
    one request through at a time; the claim a check decides is the first write of its key after
    it; a write after the guarded work records an outcome and claims nothing."""
    for index, write in cache_ops(unit):
        if write.kind not in {CacheKind.SET, CacheKind.INCR} or optimistic(write):
            continue
        if (write.kind is CacheKind.SET and not write.flag_value) or write.under_claim:
            continue
        for read_index, check in result_tested_by(unit, write):
            if not (read_index < index and check.kind is CacheKind.GET and same_key(check, write) and check.decides and not check.result_used):
                continue
            if any(read_index < i < index and op.kind in _CLAIMING_WRITES and same_key(op, write) for i, op in cache_ops(unit)):
                continue
            if write.kind is CacheKind.SET and write.last_work is not None and write.last_work > read_index:
                continue
            yield index, write, read_index, check
            break


def outside_transactions(unit: Unit, context: RuleContext, depth: int = 3) -> list[CallSite] | None:
    """The call sites of `unit` when none of them runs in a transaction, directly or through its own
    callers (an entry point has none around it); None when one does, or when there is no site to
    tell, or the chain is deeper than `depth` (clarification 16: a helper whose callers are unknown
    stays silent)."""
    sites = callers_of(unit, context)
    if not sites or depth == 0:
        return None
    for site in sites:
        if site.in_transaction:
            return None
        if site.caller_entry and not runs_in_request_transaction(site.caller_entry, context):
            continue
        caller = Unit(site.caller.rsplit(".", 1)[-1], unit.span, qualified=site.caller)
        if outside_transactions(caller, context, depth - 1) is None:
            return None
    return sites


def runs_in_request_transaction(entry: str, context: RuleContext) -> bool:
    """A Django view of a project that sets ATOMIC_REQUESTS runs in the request's transaction."""
    return entry == "view" and (context.config.atomic_requests or context.index.setting("ATOMIC_REQUESTS") == "True")
