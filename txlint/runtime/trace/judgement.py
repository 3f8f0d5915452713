"""How the trace analyser judges a write and a transaction's end: by the static rules, on small units of IR."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import replace

from txlint.core.config import Config
from txlint.core.ftypes import Finding, Related, Span
from txlint.core.index import normalise_column
from txlint.core.ir import Dependency, LockMode, Read, RowOrigin, RowRef, Unit, ValueKind, Write
from txlint.core.queries import is_money_column, is_state_column, writes_row_of
from txlint.core.rule import Report, Rule, RuleContext
from txlint.runtime.redact import mask_literals
from txlint.runtime.stack import Site
from txlint.runtime.trace.records import (
    PROTECTIVE_ISOLATION,
    ConnectionState,
    Snapshot,
    Traced,
    Where,
    shorter,
    site_of,
)
from txlint.runtime.trace.values import MISSING, bound_value, canonical, is_number, key_column
from txlint.sql import facts as sqlfacts


class Judgement:
    """The trace analyser's judgement of writes, commits and closes (mixed into `TraceAnalyser`)."""

    config: Config
    dialect: str
    enabled: frozenset[str]
    show_values: bool
    _rules: dict[str, Rule]
    _classes: dict[str, type[Rule]]
    _context: RuleContext
    _states: OrderedDict[Hashable, ConnectionState]
    _known: Callable[[str, str, int], bool] | None
    _sites: Callable[[], Site]

    def _locate(self, where: Where) -> Site:
        raise NotImplementedError

    def _placed(self, traced: Traced, where: Where) -> Traced:
        raise NotImplementedError

    def knows_table(self, table: str) -> bool:
        raise NotImplementedError

    # -- TX101 and friends: an UPDATE ---------------------------------------------------------
    def _judge_write(self, state: ConnectionState, traced: Traced, statement: sqlfacts.Statement, params: object, autocommit: bool, where: Where) -> list[Finding]:
        write: Write = traced.op
        reads = self._unlocked_reads(state, write.table, write.tx if write.tx is not None else -1)
        reads = [t for t in reads if isinstance(t.op, Read)]
        locks = [t for t in state.locked_reads if t.tx == write.tx and t not in reads]
        context = [*locks, *reads]
        position = {t.handle: i for i, t in enumerate(context)}
        linked = self._link(state, write, statement, params, reads, position)
        codes = self._relevant(write, linked, bool(locks), autocommit)
        if not codes:
            return []
        judged = Traced(traced.handle, statement, self._placed(traced, where).site, traced.tx, traced.autocommit, rowcount=traced.rowcount, params=traced.params, _op=linked)
        return self._judge(codes, [*context, judged], judged)

    @staticmethod
    def _unlocked_reads(state: ConnectionState, table: str, tx: int) -> list[Traced]:
        """The latest reads of `table` that a write in transaction `tx` may have computed from: those
        whose rows the transaction holds an exclusive lock on are out."""
        reads = [t for t in state.window if t.statement.kind == "select" and t.statement.table == table]
        return [t for t in reads if not (t.tx == tx and t.locks() == "exclusive")][-16:]

    def wants_old_values(self, conn: Hashable, table: str) -> bool:
        """Whether loaded values of `table`'s rows could matter to this connection's next write
        (a source may skip the work of collecting them otherwise)."""
        state = self._states.get(conn)
        if state is None:
            return False
        tx = state.tx_id if state.tx_open else -1
        return bool(self._unlocked_reads(state, table, tx))

    def _relevant(self, write: Write, linked: Write, locks: bool, autocommit: bool) -> list[str]:
        """The rules that can fire on this write: the others are not run (most writes need none)."""
        codes = []
        derived = any(a.value.kind is ValueKind.DERIVED for a in linked.assignments)
        if derived:
            codes.append("TX101")
        if locks and (derived or write.table.lower() in {t.lower() for t in self.config.core_tables}):
            codes.append("TX103")
        if any(g.value.kind is ValueKind.DERIVED for g in linked.guards):
            codes.append("TX107")
        if any(a.value.delta is not None and a.value.delta.sign == "-" for a in write.assignments):
            codes += ["TX106", "TX105"] if autocommit else ["TX106"]
        return codes

    def _link(
        self, state: ConnectionState, write: Write, statement: sqlfacts.Statement, params: object, reads: list[Traced], position: dict[int, int]
    ) -> Write:
        """The write with the values it is inferred to have computed from earlier reads marked DERIVED."""
        if not reads:
            return write
        assignments = list(write.assignments)
        for i, (fact, assignment) in enumerate(zip(statement.sets, write.assignments, strict=False)):
            if assignment.value.kind is not ValueKind.INDEPENDENT or fact.operand.kind != "placeholder" or fact.operand.placeholder is None:
                continue
            new = bound_value(params, fact.operand.placeholder)
            if not is_number(new):
                continue
            source = self._read_of(state, write, assignment.column, reads)
            if source is None:
                continue
            old = self._value_read(state, source, write, assignment.column)
            depends = is_money_column(assignment.column, self.config) if old is MISSING else is_number(old) and old != new
            if depends:
                dependency = Dependency(RowRef(RowOrigin.READ, position[source.handle], ""), assignment.column)
                assignments[i] = replace(assignment, value=replace(assignment.value, kind=ValueKind.DERIVED, depends_on=frozenset({dependency})))
        guards = list(write.guards)
        written = {normalise_column(a.column) for a in write.assignments}
        facts = [g for g in statement.predicates if g.table is None or g.table == statement.table]
        for i, (condition, guard) in enumerate(zip(facts, write.guards, strict=False)):
            if guard.op != "=" or normalise_column(guard.column) not in written or is_state_column(guard.column):
                continue
            if guard.value.kind is not ValueKind.INDEPENDENT or condition.operand.kind != "placeholder" or condition.operand.placeholder is None:
                continue
            source = self._read_of(state, write, guard.column, reads, protected_counts=False)
            if source is None:
                continue
            old = self._value_read(state, source, write, guard.column)
            if old is MISSING or canonical(old) == guard.value.expression:
                dependency = Dependency(RowRef(RowOrigin.READ, position[source.handle], ""), guard.column)
                guards[i] = replace(guard, value=replace(guard.value, kind=ValueKind.DERIVED, depends_on=frozenset({dependency})))
        return replace(write, assignments=tuple(assignments), guards=tuple(guards))

    def _read_of(self, state: ConnectionState, write: Write, column: str, reads: list[Traced], *, protected_counts: bool = True) -> Traced | None:
        """The latest read of `column` of the row `write` changes; None when there is none or the
        transaction protects that row otherwise."""
        wanted = normalise_column(column)
        for traced in reversed(reads):
            read: Read = traced.op
            if "*" not in read.columns and wanted not in {normalise_column(c) for c in read.columns}:
                continue
            if not writes_row_of(read, 0, write):
                continue
            if protected_counts and (self._protected(state, traced, write) or (read.lock is LockMode.EXCLUSIVE and read.tx == write.tx)):
                return None  # the row is locked by this transaction: nothing to link
            return traced
        return None

    @staticmethod
    def _locked_for(state: ConnectionState, tx: int, table: str) -> bool:
        """The transaction holds a lock that keeps every other writer off `table` (SQLite's
        `BEGIN IMMEDIATE`, `LOCK TABLE`, an advisory lock): no write of it is linked to a read."""
        return state.tx_open and tx == state.tx_id and (state.begin_lock or state.advisory or table.lower() in state.table_locks)

    def _protected(self, state: ConnectionState, read: Traced, write: Write) -> bool:
        """The transaction of `write` keeps others off the row by something else than `read`'s own lock."""
        if not state.tx_open or write.tx != state.tx_id:
            return False
        if state.advisory or state.begin_lock or write.table.lower() in state.table_locks:
            return True
        if self.dialect == "postgres" and state.isolation in PROTECTIVE_ISOLATION and read.tx == write.tx:
            return True
        return any(
            t.op.lock is LockMode.EXCLUSIVE and t.tx == write.tx and writes_row_of(t.op, 0, write) for t in state.locked_reads
        )

    def _value_read(self, state: ConnectionState, read: Traced, write: Write, column: str) -> object:
        wanted = normalise_column(column)
        if read.values is not None and wanted in read.values:
            return read.values[wanted]
        rows = state.observed.get(write.table)
        if rows:
            keys = {(key_column(g.column), g.value.expression) for g in write.guards if g.op == "="}
            for identity, values in reversed(rows):
                if identity <= keys and wanted in values:
                    return values[wanted]
        return MISSING

    # -- transaction end ---------------------------------------------------------------------
    def _at_commit(self, state: ConnectionState, where: Where) -> list[Finding]:
        findings: list[Finding] = []
        if "TX105" in self.enabled and state.decrements:
            inserts = state.inserts
            # An insert into a table whose constraints are unknown may be the idempotency key.
            if not any(not i.op.on_conflict and not self.knows_table(i.op.table) for i in inserts):
                findings += self._judge(("TX105",), [*inserts, *state.decrements], None)
        if "TX108" in self.enabled:
            here: Site | None = None
            for cas in state.cas_zero:
                if cas.followed_by is None:
                    continue
                here = here or self._locate(where)
                unchecked = Traced(cas.handle, cas.statement, cas.site, cas.tx, params=cas.params, _op=replace(cas.op, result_checked=False))
                extra = [
                    Related(site_of(cas.followed_by).display_path(), site_of(cas.followed_by).line, 1, f"the transaction went on to write here: {self._shown(cas.followed_by)}"),
                    Related(here.display_path(), here.line, 1, "and committed here"),
                ]
                found = self._judge(("TX108",), [unchecked], unchecked, extra)
                findings += [
                    replace(f, message=f"{f.message.split(':')[0]} matched no row, and the transaction still went on to write and commit")
                    for f in found
                ]
        return findings

    def _unbalanced(self, snapshot: Snapshot, site: Site | None, message: str) -> list[Finding]:
        if "TX104" not in self.enabled:
            return []
        here = site or self._sites()
        write = snapshot.first_write
        related = (Related(site_of(write).display_path(), site_of(write).line, 1, f"first uncommitted write ({snapshot.writes} in all): {self._shown(write)}"),)
        return [self._make(self._classes["TX104"], message, here, related)]

    # -- rules → findings --------------------------------------------------------------------
    def _shown(self, traced: Traced) -> str:
        """A statement as a finding shows it: placeholders, literals masked; with its bound
        values only when the user asked for them (`show_values`)."""
        if not self.show_values:
            return shorter(mask_literals(traced.statement.text, self.dialect))
        shown = shorter(traced.statement.text)
        return f"{shown} -- values: {traced.params}" if traced.params is not None else shown

    def _judge(self, codes: Iterable[str], traced: list[Traced], focus: Traced | None, extra: Iterable[Related] = ()) -> list[Finding]:
        """Run the rules on a small unit made of `traced`; keep the reports that involve `focus`."""
        rules = [self._rules[code] for code in codes if code in self._rules]
        if not rules:
            return []
        by_handle = {t.handle: t for t in traced}
        unit = Unit("<runtime>", Span.point(traced[-1].handle), ops=[t.op for t in traced])
        findings: list[Finding] = []
        for rule in rules:
            for report in rule.check(unit, self._context):
                if focus is not None and focus.handle not in {report.span.line, *(r.span.line for r in report.related)}:
                    continue
                finding = self._from_report(rule, report, by_handle, focus, extra)
                if finding is not None:
                    findings.append(finding)
        return findings

    def _from_report(self, rule: Rule, report: Report, by_handle: dict[int, Traced], focus: Traced | None, extra: Iterable[Related]) -> Finding | None:
        primary = by_handle.get(report.span.line) or focus or next(iter(by_handle.values()))
        where = site_of(primary)
        if self._known is not None and self._known(rule.code, where.display_path(), where.line):
            return None
        related = [Related(where.display_path(), where.line, 1, f"SQL: {self._shown(primary)}")]
        for r in report.related:
            other = by_handle.get(r.span.line)
            if other is not None:
                there = site_of(other)
                related.append(Related(there.display_path(), there.line, 1, f"{r.message}: {self._shown(other)}"))
        related += extra
        return self._make(type(rule), report.message, where, tuple(related))

    @staticmethod
    def _make(rule: type[Rule], message: str, site: Site, related: tuple[Related, ...]) -> Finding:
        path = site.display_path()
        fingerprint = hashlib.sha256(f"{rule.code}\0{site.path}\0{site.line}".encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return Finding(rule.code, rule.name, rule.severity, message, path, site.line, 1, site.line, 1, related, fingerprint=fingerprint)
