"""How the trace analyser judges a write and a transaction's end: by the static rules, on small units of IR."""

from __future__ import annotations

import linecache
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from txlint.core.config import Config
from txlint.core.fingerprint import fingerprint_of, project_path
from txlint.core.ftypes import Finding, Related, Span
from txlint.core.index import normalise_column
from txlint.core.ir import Commit, Condition, Dependency, Discard, DiscardCause, LockMode, Matched, Op, Read, RowOrigin, RowRef, Unit, ValueKind, Write
from txlint.core.queries import is_money_column, is_state_column, writes_row_of
from txlint.core.rule import Report, Rule, RuleContext
from txlint.project.one_off import is_one_off, is_one_off_in
from txlint.runtime import request_count
from txlint.runtime.redact import mask_literals
from txlint.runtime.source_facts import SourceFacts
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

# Where an op of a trace happened: a statement (its SQL is shown), or an event's application line.
Place = Traced | Site
E = TypeVar("E", bound=Op)


class Judgement:
    """The trace analyser's judgement of writes, commits and closes (mixed into `TraceAnalyser`)."""

    # The text of a finding's line, for its fingerprint (the line's text, not its number, so that a
    # baseline survives edits that move it; only findings not reported before are built, so this
    # runs once per finding): the application's source line. A statement log gives the statement's
    # text instead (reading the log through linecache would hold all of it in memory).
    line_text: Callable[[str, int], str] = staticmethod(linecache.getline)

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
    _handles: Iterator[int]
    _root: Path | None
    _source: SourceFacts | None
    _test_files: dict[str, bool]
    # Whether a value written is linked only to the reads of its own transaction (TX101): a statement
    # log's connection is a pool's, serving one request after another, and shows no request's bounds
    # (clarification 24). A compare-and-swap's guard is still linked to the read before it (TX107).
    reads_of_the_transaction_only: bool = False

    def _locate(self, where: Where) -> Site:
        raise NotImplementedError

    def _placed(self, traced: Traced, where: Where) -> Traced:
        raise NotImplementedError

    def knows_table(self, table: str) -> bool:
        raise NotImplementedError

    # -- TX101 and friends: an UPDATE ---------------------------------------------------------
    def _judge_write(self, state: ConnectionState, traced: Traced, statement: sqlfacts.Statement, params: object, autocommit: bool, where: Where) -> list[Finding]:
        """An UPDATE that may complete a pattern: the rules its write triggers judge it with the
        reads and locks of its transaction; in autocommit the statement is its own transaction, so
        the rules its commit triggers judge it too."""
        write: Write = traced.op
        placed = self._placed(traced, where)
        reads = self._unlocked_reads(state, write.table, write.tx if write.tx is not None else -1)
        if not self._in_tests(placed.site):  # a test's own read is no request's (clarification 23)
            reads = [t for t in reads if not self._in_tests(t.site)]
        reads = [t for t in reads if isinstance(t.op, Read)]
        locks = [t for t in state.locked_reads if t.tx == write.tx and t not in reads]
        context = [*locks, *reads]
        position = {t.handle: i for i, t in enumerate(context)}
        read_ops = {t.handle: _as_read_of(t, write) for t in reads}
        linked, assigned = self._link(state, write, statement, params, reads, position, site_of(placed), read_ops)
        site, sent = (Site(site_of(placed).path, assigned), site_of(placed)) if assigned is not None else (placed.site, None)
        judged = Traced(traced.handle, statement, site, traced.tx, traced.autocommit, rowcount=traced.rowcount, params=traced.params, sent=sent, _op=linked)
        places: dict[int, Place] = {t.handle: t for t in (*context, judged)}
        ops = [read_ops.get(t.handle, t.op) for t in (*context, judged)]
        findings = self._judge(linked, ops, places)
        if autocommit:
            end = self._event(Commit, site_of(placed), places, tx=write.tx)
            findings += self._judge(end, [linked, end], places)
        return findings

    def _unlocked_reads(self, state: ConnectionState, table: str, tx: int) -> list[Traced]:
        """The latest reads of `table` that a write in transaction `tx` may have computed from: not
        those whose rows the transaction holds an exclusive lock on, nor those of an earlier request
        of this thread."""
        request = request_count.current()
        reads = [t for t in state.window if t.statement.kind == "select" and t.statement.table == table and t.request == request]
        return [t for t in reads if not (t.tx == tx and t.locks() == "exclusive")][-16:]

    def _in_tests(self, site: Site | None) -> bool:
        """Whether an application line lies in a test file (or a migration: a one-off of the
        project). A read a test makes itself is not the read behind a write the application sends:
        no request of a user runs the test's code."""
        if site is None:
            return False
        verdict = self._test_files.get(site.path)
        if verdict is None:
            verdict = self._test_files[site.path] = is_one_off_in(site.path, str(self._root)) if self._root is not None else is_one_off(site.path)
        return verdict

    def wants_old_values(self, conn: Hashable, table: str) -> bool:
        """Whether loaded values of `table`'s rows could matter to this connection's next write
        (a source may skip the work of collecting them otherwise)."""
        state = self._states.get(conn)
        if state is None:
            return False
        tx = state.tx_id if state.tx_open else -1
        return bool(self._unlocked_reads(state, table, tx))

    def _link(
        self,
        state: ConnectionState,
        write: Write,
        statement: sqlfacts.Statement,
        params: object,
        reads: list[Traced],
        position: dict[int, int],
        site: Site,
        read_ops: Mapping[int, Read],
    ) -> tuple[Write, int | None]:
        """The write with the values it is inferred to have computed from earlier reads marked
        DERIVED, and the line the first of them was assigned at when the source shows another line
        than the one that sent it (a flush, a `save()`).

        The source decides where it says (clarification 17: the function that sent the write
        computes the value from database values, or assigns an input or a constant); where it does
        not, the values do (a known old number that changed; an unknown one of a money column)."""
        if not reads:
            return write, None
        candidates = self._candidates(state, write, reads, read_ops)
        if not candidates:
            return write, None
        assignments = list(write.assignments)
        assigned: int | None = None
        for i, (fact, assignment) in enumerate(zip(statement.sets, write.assignments, strict=False)):
            if assignment.value.kind is not ValueKind.INDEPENDENT or fact.operand.kind != "placeholder" or fact.operand.placeholder is None:
                continue
            source = self._read_of(candidates, assignment.column)
            if source is None or (self.reads_of_the_transaction_only and source.tx != write.tx):
                continue
            said = self._source.written(site.path, site.line, assignment.column) if self._source is not None else None
            if said is not None and said.derived is not None:
                depends = said.derived
            else:
                new = bound_value(params, fact.operand.placeholder)
                if not is_number(new):
                    continue
                old = self._value_read(state, source, write, assignment.column)
                depends = is_money_column(assignment.column, self.config) if old is MISSING else is_number(old) and old != new
            if depends:
                if assigned is None and said is not None:
                    assigned = said.line
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
            source = self._read_of(candidates, guard.column, protected_counts=False)
            if source is None:
                continue
            old = self._value_read(state, source, write, guard.column)
            if old is MISSING or canonical(old) == guard.value.expression:
                dependency = Dependency(RowRef(RowOrigin.READ, position[source.handle], ""), guard.column)
                guards[i] = replace(guard, value=replace(guard.value, kind=ValueKind.DERIVED, depends_on=frozenset({dependency})))
        return replace(write, assignments=tuple(assignments), guards=tuple(guards)), assigned

    def _candidates(self, state: ConnectionState, write: Write, reads: list[Traced], read_ops: Mapping[int, Read]) -> list[_Candidate]:
        """The reads of the row `write` changes, latest first, each with the columns it read (None:
        all) and whether the transaction protects the row otherwise. Worked out once per write: an
        ORM's full save sets thirty columns, each asking the same questions of the same reads."""
        found = []
        for traced in reversed(reads):
            read = read_ops.get(traced.handle, traced.op)
            if not writes_row_of(read, 0, write):
                continue
            columns = None if "*" in read.columns else frozenset(normalise_column(c) for c in read.columns)
            protected = self._protected(state, traced, write) or (read.lock is LockMode.EXCLUSIVE and read.tx == write.tx)
            found.append(_Candidate(traced, columns, protected))
        return found

    @staticmethod
    def _read_of(candidates: list[_Candidate], column: str, *, protected_counts: bool = True) -> Traced | None:
        """The latest read of `column` of the row written; None when there is none or the
        transaction protects that row otherwise."""
        wanted = normalise_column(column)
        for candidate in candidates:
            if candidate.columns is not None and wanted not in candidate.columns:
                continue
            if protected_counts and candidate.protected:
                return None  # the row is locked by this transaction: nothing to link
            return candidate.traced
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
            t.op.lock is LockMode.EXCLUSIVE and t.tx == write.tx and writes_row_of(_as_read_of(t, write), 0, write) for t in state.locked_reads
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
        """The transaction commits: the rules a commit triggers judge what it did that they ask
        about (its decrements and inserts, its compare-and-swaps that matched no row and what it
        wrote after them), in the order it did it. Inserts are asked about only beside a decrement
        (as the key that may make its retry idempotent): a transaction with neither a decrement nor
        a compare-and-swap that matched nothing, the common one, costs nothing here."""
        if not state.decrements and not state.cas_zero:
            return []
        noted: dict[int, Traced] = {t.handle: t for t in (*state.inserts, *state.decrements)}
        if state.decrements:
            noted.update((t.handle, t) for t in state.transitions)
        for cas in state.cas_zero:
            if cas.followed_by is not None:
                noted[cas.handle] = cas
                noted[cas.followed_by.handle] = cas.followed_by
        if not noted:
            return []
        places: dict[int, Place] = dict(noted)
        decrements, transitions, lost = ({t.handle for t in bag} for bag in (state.decrements, state.transitions, state.cas_zero))
        ops: list[Op] = []
        gates: list[int] = []  # the positions of the transitions so far
        for handle in sorted(noted):
            op = noted[handle].op
            if op is None:
                continue
            if gates and handle in decrements:
                op = _gated_by(op, gates)
            position = len(ops)
            ops.append(op)
            if handle in transitions:
                gates.append(position)
            if handle in lost:
                ops.append(self._event(Matched, site_of(noted[handle]), places, tx=state.tx_id, write=position, rows=0))
        end = self._event(Commit, self._locate(where), places, tx=state.tx_id)
        return self._judge(end, [*ops, end], places)

    def _unbalanced(self, snapshot: Snapshot, site: Site | None, cause: DiscardCause) -> list[Finding]:
        """A transaction that wrote was ended by a release or a close, which threw its writes away."""
        first = snapshot.first_write
        places: dict[int, Place] = {first.handle: first}
        written = first.op if isinstance(first.op, Op) else Write(Span.point(first.handle), first.tx, first.statement.table or "", ident=first.handle)
        discard = self._event(Discard, site or self._sites(), places, tx=first.tx, cause=cause, first_write=0, writes=snapshot.writes)
        return self._judge(discard, [written, discard], places)

    def _event(self, kind: type[E], site: Site, places: dict[int, Place], *, tx: int | None, **fields: Any) -> E:
        """A runtime-only op (a commit, a discard, a row count), at the application line it happened at."""
        handle = next(self._handles)
        places[handle] = site
        return kind(Span.point(handle), tx, ident=handle, **fields)

    # -- rules → findings --------------------------------------------------------------------
    def _shown(self, traced: Traced) -> str:
        """A statement as a finding shows it: placeholders, literals masked; with its bound
        values only when the user asked for them (`show_values`)."""
        if not self.show_values:
            return shorter(mask_literals(traced.statement.text, self.dialect))
        shown = shorter(traced.statement.text)
        return f"{shown} -- values: {traced.params}" if traced.params is not None else shown

    def _judge(self, trigger: Op, ops: list[Op], places: Mapping[int, Place]) -> list[Finding]:
        """Run the rules `trigger` can complete (their `triggers`) on the unit `ops`, which ends with
        what led to it. Kept: the reports that involve the trigger, or, when the trigger is the end
        of a transaction, every report (its end completes every pattern in it)."""
        rules = [rule for rule in self._rules.values() if rule.triggered_by(trigger)]
        if not rules:
            return []
        unit = Unit("<runtime>", trigger.span, ops=ops)
        ends = isinstance(trigger, Commit)
        findings: list[Finding] = []
        for rule in rules:
            for report in rule.check(unit, self._context):
                named = {report.subject.ident if report.subject is not None else 0, *(r.subject.ident for r in report.related if r.subject is not None)}
                if not ends and trigger.ident not in named:
                    continue
                finding = self._from_report(rule, report, places, trigger)
                if finding is not None:
                    findings.append(finding)
        return findings

    def _from_report(self, rule: Rule, report: Report, places: Mapping[int, Place], trigger: Op) -> Finding | None:
        subject = report.subject if report.subject is not None else trigger
        primary = places.get(subject.ident) or places[trigger.ident]
        where = _site(primary)
        if self._known is not None and self._known(rule.code, where.display_path(), where.line):
            return None
        related = []
        if isinstance(primary, Traced):  # its SQL, at the line that sent it when the finding is at the assignment
            sent = primary.sent or where
            label = "sent to the database here" if primary.sent is not None else "SQL"
            related.append(Related(sent.display_path(), sent.line, 1, f"{label}: {self._shown(primary)}"))
        for r in report.related:
            other = places.get(r.subject.ident) if r.subject is not None else None
            if other is not None:
                there = _site(other)
                text = f"{r.message}: {self._shown(other)}" if isinstance(other, Traced) else r.message
                related.append(Related(there.display_path(), there.line, 1, text))
        return self._make(type(rule), report.message, where, tuple(related))

    def _make(self, rule: type[Rule], message: str, site: Site, related: tuple[Related, ...]) -> Finding:
        path = site.display_path()
        fingerprint = fingerprint_of(rule.code, project_path(site.path, self._root), "", self.line_text(site.path, site.line))
        return Finding(rule.code, rule.name, rule.severity, message, path, site.line, 1, site.line, 1, related, fingerprint=fingerprint)




@dataclass(frozen=True, slots=True)
class _Candidate:
    """A read of the row a write changes, as `_link` asks about it."""

    traced: Traced
    columns: frozenset[str] | None  # None: every column (`SELECT *`)
    protected: bool


def _as_read_of(traced: Traced, write: Write) -> Read:
    """A read as the rules see it: one that returned the row `write` names by other keys is the read
    of that row (its WHERE the write's key), so that `writes_row_of` pairs them as they are."""
    read: Read = traced.op
    if writes_row_of(read, 0, write) or not _returned_row_of(traced, write):
        return read
    return replace(read, guards=tuple(g for g in write.guards if g.op == "="))


def _returned_row_of(read: Traced, write: Write) -> bool:
    """The read returned the row the write names by other keys: `SELECT ... WHERE code = %s` returned
    the row whose id is 2, and `UPDATE ... WHERE id = 2` writes it (an ORM loads by one key and
    saves by the primary key). Every equality of the write's WHERE must hold of the returned row."""
    values = read.values
    if not values or read.statement.table != write.table:
        return False
    keys = [(normalise_column(g.column), g.value.expression) for g in write.guards if g.op == "=" and g.value.kind is ValueKind.INDEPENDENT]
    if not keys or len(keys) != sum(1 for g in write.guards if g.op == "="):
        return False
    return all(column in values and canonical(values[column]) == expression for column, expression in keys)


def _gated_by(op: Op, transitions: list[int]) -> Op:
    """A decrement that ran after status transitions of its transaction matched their rows: a
    retry finds the status moved on, matches no row and, its count checked, goes no further (a count
    left unchecked is TX108's, which the trace sees when that happens). As a trace sees it, the
    decrement runs under a test of those row counts (clarification 9)."""
    gate = Condition(op.span, frozenset(), holds=True, results=frozenset(transitions))
    return replace(op, conditions=(gate, *op.conditions))


def _site(place: Place) -> Site:
    return site_of(place) if isinstance(place, Traced) else place
