"""One statement as the trace analyser handles it: control statements, reads, writes.

A read is remembered (the window a later write looks back at); a write is
judged when it may complete a pattern (an UPDATE of a table read without a
lock, a decrement) and noted for what the commit and a close will ask about it.
"""

from __future__ import annotations

from collections.abc import Iterator

from txlint.core.ftypes import Finding
from txlint.core.ir import Read, Write
from txlint.core.queries import cas_guards, decrements, transitions
from txlint.runtime import request_count
from txlint.runtime.redact import params_text
from txlint.runtime.stack import Site
from txlint.runtime.trace.judgement import Judgement
from txlint.runtime.trace.records import (
    LOCKS,
    MAX_BATCH,
    ConnectionState,
    Plan,
    Traced,
    Where,
    subtracts,
    with_bound_amounts,
)
from txlint.runtime.trace.values import bound_value
from txlint.sql import facts as sqlfacts


class Statements(Judgement):
    """The trace analyser's handling of one statement (mixed into `TraceAnalyser`)."""

    _tx_ids: Iterator[int]
    _handles: Iterator[int]
    # Row counts are never known (a statement log): a status transition may have matched its row,
    # and gates the decrements after it, as it would if it had (clarification 24: when unsure, silent).
    counts_unknown = False

    def _open(self, state: ConnectionState, isolation: str | None = None, lock: str | None = None) -> None:
        raise NotImplementedError

    def _statement(
        self,
        state: ConnectionState,
        plan: Plan,
        sets: list[object],
        rowcount: int | None,
        lock: str | None,
        autocommit: bool,
        where: Where,
    ) -> list[Finding]:
        statement = plan.statement
        kind = statement.kind
        if kind in {"begin", "commit", "rollback", "set", "lock_table"}:
            return self._control(state, statement, where)
        if kind == "select" and statement.advisory_lock and state.tx_open:
            state.advisory = True
        if kind not in {"select", "update", "insert", "delete"} or statement.table is None:
            return []
        if kind == "select":
            # A read's line is always looked up: a later write may make it the "read here" of a finding.
            return self._read(state, plan, sets[0], lock, autocommit, self._locate(where))
        if len(sets) == 1:
            return self._write(state, statement, sets[0], rowcount, autocommit, where)
        findings: list[Finding] = []
        for params in sets[: MAX_BATCH if kind == "update" else 1]:
            findings += self._write(state, statement, params, None, autocommit, where)
        return findings

    def _control(self, state: ConnectionState, statement: sqlfacts.Statement, where: Where) -> list[Finding]:
        kind = statement.kind
        if kind == "begin":
            self._open(state, statement.isolation, statement.lock)
        elif kind == "commit":
            findings = self._at_commit(state, where) if state.tx_open else []
            state.end_transaction()
            return findings
        elif kind == "rollback":
            state.end_transaction()
        elif kind == "set":
            if statement.isolation:
                state.isolation = statement.isolation.lower()
            if statement.autocommit is not None:
                state.autocommit = statement.autocommit
        elif kind == "lock_table" and statement.lock == "exclusive" and state.tx_open:
            state.table_locks.update(t.lower() for t in statement.lock_tables)
        return []

    def _read(self, state: ConnectionState, plan: Plan, params: object, lock: str | None, autocommit: bool, site: Site) -> list[Finding]:
        tx = next(self._tx_ids) if autocommit else state.tx_id
        bound: dict[sqlfacts.PlaceholderKey, object] | None = None
        if plan.read_keys:
            bound = {}
            for key in plan.read_keys:
                bound[key] = bound_value(params, key)
        traced = Traced(next(self._handles), plan.statement, site, tx, autocommit, bound, lock)
        request = request_count.current()
        if request:
            traced.request = request
        if self.show_values:
            traced.params = params_text(params)
        state.window.append(traced)
        state.last_read = traced
        if plan.statement.lock is None and lock not in LOCKS:
            return []
        if not autocommit:
            state.locked_reads.append(traced)
            return []
        read = traced.op
        return self._judge(read, [read], {traced.handle: traced}) if isinstance(read, Read) else []

    def _placed(self, traced: Traced, where: Where) -> Traced:
        """The statement with its application line looked up. The stack walk is the dearest step of
        a statement (one frame object per library frame), so a write pays for it only when a
        finding points at it now or may later: not an INSERT in the middle of a transaction."""
        if traced.site is None:
            traced.site = self._locate(where)
        return traced

    def _write(self, state: ConnectionState, statement: sqlfacts.Statement, params: object, rowcount: int | None, autocommit: bool, where: Where) -> list[Finding]:
        tx = next(self._tx_ids) if autocommit else state.tx_id
        bound = {key: bound_value(params, key) for key in statement.placeholders}
        site = where if type(where) is Site else None
        traced = Traced(next(self._handles), statement, site, tx, autocommit, bound, rowcount=rowcount)
        if self.show_values:
            traced.params = params_text(params)
        findings: list[Finding] = []
        if statement.kind == "update" and (subtracts(statement) or (not self._locked_for(state, tx, statement.table or "") and self._unlocked_reads(state, statement.table or "", tx))):
            op = traced.op
            if isinstance(op, Write):
                traced.op = with_bound_amounts(op, statement, params)
                findings = self._judge_write(state, traced, statement, params, autocommit, where)
        if not autocommit:
            self._note_write(state, traced, where)
        # Not added to the window: later statements look back at reads only.
        return findings

    def _note_write(self, state: ConnectionState, traced: Traced, where: Where) -> None:
        """Remember what the commit (TX105, TX108) and a close (TX104) will ask about this write."""
        state.writes += 1
        if state.first_write is None:
            state.first_write = self._placed(traced, where)
        for earlier in state.cas_zero:
            if earlier.followed_by is None:
                earlier.followed_by = self._placed(traced, where)
        statement = traced.statement
        if statement.kind == "update":
            if traced.rowcount == 0 and statement.predicates:
                op = traced.op
                cas = isinstance(op, Write) and cas_guards(op, self.config, self._context.index.version_column(op.table))
                if cas and len(state.cas_zero) < MAX_BATCH:
                    state.cas_zero.append(self._placed(traced, where))
            if subtracts(statement) and len(state.decrements) < MAX_BATCH:
                op = traced.op
                if isinstance(op, Write) and decrements(op, self.config):
                    state.decrements.append(self._placed(traced, where))
            elif (traced.rowcount or (traced.rowcount is None and self.counts_unknown)) and statement.predicates and len(state.transitions) < MAX_BATCH:
                op = traced.op
                if isinstance(op, Write) and transitions(op, self.config, self._context.index.version_column(op.table)):
                    state.transitions.append(traced)  # a gate for the decrements after it (clarification 9)
        elif statement.kind == "insert" and len(state.inserts) < MAX_BATCH:
            state.inserts.append(traced)
