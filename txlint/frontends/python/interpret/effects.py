"""What library calls do beyond their value: transactions, unsaved rows, row counts, held locks.

Recognisers call these through `context.Context` when they recognise
`conn.begin()`, `session.commit()`, `obj.refresh_from_db()`, `cur.rowcount`,
`r.set(key, token, nx=True)`; the interpreter itself when a `with` block
opens or leaves a transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import libcst as cst

from txlint.core.ir import (
    Assignment,
    Begin,
    Commit,
    Dependency,
    Guard,
    Insert,
    Op,
    Read,
    ReadKind,
    Rollback,
    RowOrigin,
    RowRef,
    Transaction,
    ValueKind,
    Write,
)
from txlint.core.ir import (
    Value as IRValue,
)
from txlint.frontends.python.interpret.core import InterpreterCore
from txlint.frontends.python.interpret.paths import ended, holding, opened, released
from txlint.frontends.python.interpret.state import RowChanges, TxFrame, TxKind
from txlint.frontends.python.interpret.values import Query, Record, Row, Rows


class Effects(InterpreterCore):
    """Transactions, unsaved rows, row counts and held locks, on the current state."""

    def _emitted(self, index: int, op: Op) -> None:
        if isinstance(op, Read):
            self._fresh_rows(index)
        if isinstance(op, (Commit, Rollback)):
            self.state.paths = ended(self.state.paths)
        elif self._opens_work(op):
            self.state.paths = opened(self.state.paths, index)

    def _fresh_rows(self, read: int) -> None:
        """A read that runs (again, in a loop) loads new instances: changes made to the ones it loaded
        before are theirs."""
        stale = [ref for ref in self.state.rows if ref.origin is RowOrigin.READ and ref.read == read]
        for ref in stale:
            del self.state.rows[ref]

    def _opens_work(self, op: Op) -> bool:
        """A write or lock inside a transaction the code opened by hand (not a block that ends itself)."""
        frames = self.state.transactions
        if not frames or frames[0].kind is TxKind.BLOCK:
            return False
        return isinstance(op, (Write, Insert)) or (isinstance(op, Read) and op.lock is not None and op.evaluated)

    # -- transactions --------------------------------------------------------------------------
    def open_transaction(self, node: cst.CSTNode, database: str | None, kind: TxKind, flushes: bool = False) -> None:
        """A transaction opens at `node` (nested in one on the same database: a savepoint of it)."""
        frames = self.state.transactions
        outer = next((f.id for f in frames if f.database == database), None)
        if outer is None:
            outer = self.transactions.get(id(node))
            if outer is None:
                outer = self.transactions[id(node)] = len(self.unit.transactions)
                self.unit.transactions.append(Transaction(outer, self.span(node)))
        self.state.transactions = (*frames, TxFrame(outer, database, kind, id(node), flushes))

    def leave_transaction(self, opener: cst.CSTNode, exception: bool) -> None:
        """The block opened at `opener` ends: it commits (flushing a session's changes), or rolls back
        when an exception leaves it. Only the outermost block ends the transaction itself. A block
        that closes a session (`with Session(engine) as s:`) rolls back what an exception left
        uncommitted; left normally, what it did not commit stays the function's to answer for."""
        frame = self.frame_of(opener)
        if frame is None:
            in_block = bool(self.state.transactions) and self.state.transactions[0].kind is TxKind.BLOCK
            if exception and id(opener) in self.closing and not in_block and any(p.open_since is not None for p in self.state.paths):
                self.forget_all_pending()
                self.emit(Rollback(self.span(opener), self.tx))
                self.end_manual()
            return
        outermost = self.state.transactions[0] is frame
        if exception:
            if frame.flushes:
                self.forget_all_pending()
            if outermost:
                self.emit(Rollback(self.span(opener), frame.id))
        else:
            if frame.flushes:
                self.flush_rows(opener)
            if outermost:
                self.emit(Commit(self.span(opener), frame.id))
        self.state.transactions = tuple(f for f in self.state.transactions if f is not frame)

    def begin_manual(self, node: cst.CSTNode, database: str | None = None) -> None:
        """A transaction the code opens by hand and must end (`set_autocommit(False)`, `conn.begin()`)."""
        if not self.state.transactions:
            self.open_transaction(node, database, TxKind.MANUAL)
        self.emit(Begin(self.span(node), self.tx))

    def end_manual(self) -> None:
        """Autocommit again: the hand-opened transaction is over."""
        self.state.transactions = tuple(f for f in self.state.transactions if f.kind is TxKind.BLOCK)

    def autobegin(self, node: cst.CSTNode) -> None:
        """A session's first statement opens a transaction that lasts until commit/rollback."""
        if not self.state.transactions:
            self.open_transaction(node, None, TxKind.AUTO)

    # -- queries -------------------------------------------------------------------------------
    def evaluate_query(self, query: Query, node: cst.CSTNode, row_var: str | None = None, kind: ReadKind = ReadKind.ROWS) -> int:
        """Run a lazy query here: emit its `Read`, return the op index. Related rows it joins are
        read by the same statement, each locked only when the lock covers it (`lock_of`)."""
        span, tx = self.span(node), self.tx_for(query.using)
        index = self.emit(
            Read(
                span=span,
                tx=tx,
                table=query.table,
                lock=query.lock if query.lock_of is None or "" in query.lock_of else None,
                row_var=row_var,
                key=tuple(g.column for g in query.guards),
                guards=query.guards,
                kind=kind,
                lock_requires_transaction=query.lock_requires_transaction,
            )
        )
        reads = {"": index}
        for path, table in query.joined if kind is ReadKind.ROWS else ():
            parent, _, attribute = path.rpartition("__")
            if parent not in reads:
                continue
            lock = query.lock if query.lock_of is None or path in query.lock_of else None
            reads[path] = self.emit(Read(span, tx, table, lock=lock, lock_requires_transaction=query.lock_requires_transaction))
            self.joined[(reads[parent], attribute)] = (reads[path], table)
        return index

    def joined_read(self, read: int, attribute: str) -> tuple[int, str] | None:
        return self.joined.get((read, attribute))

    def row_from_read(self, read: int, table: str, name: str = "") -> Row:
        return Row(RowRef(RowOrigin.READ, read, name), table)

    def element_of(self, rows: Rows, name: str = "") -> Row | Record:
        """One of a collection of rows: an instance, or a cursor's tuple of the read's columns."""
        if rows.records is not None:
            return Record(RowRef(RowOrigin.READ, rows.read, name), rows.records)
        return self.row_from_read(rows.read, rows.table, name)

    # -- rows changed in memory ----------------------------------------------------------------
    def take_pending(self, ref: RowRef, columns: Sequence[str] | None) -> tuple[Assignment, ...]:
        """The unsaved changes of a row (only `columns` when given), now saved."""
        changes = self.state.rows.get(ref)
        if changes is None:
            return ()
        fields = dict(changes.fields)
        names = [n for n, f in fields.items() if f.pending] if columns is None else list(dict.fromkeys(columns))
        taken = []
        for name in names:
            field = fields.get(name)
            if field is not None and field.pending is not None:
                taken.append(field.pending)
                fields[name] = replace(field, pending=None)
        self.state.rows[ref] = RowChanges(changes.table, fields)
        return tuple(taken)

    def pending_columns(self, ref: RowRef) -> list[str]:
        changes = self.state.rows.get(ref)
        return [name for name, field in changes.fields.items() if field.pending is not None] if changes is not None else []

    def pending_value(self, ref: RowRef, column: str) -> str | None:
        changes = self.state.rows.get(ref)
        field = changes.fields.get(column) if changes is not None else None
        return field.pending.value.expression if field is not None and field.pending is not None else None

    def changed_rows(self, table: str | None, read: int | None = None) -> list[RowRef]:
        return [
            ref
            for ref, changes in self.state.rows.items()
            if changes.table == table and any(f.pending for f in changes.fields.values()) and (read is None or (ref.origin is RowOrigin.READ and ref.read == read))
        ]

    def type_row(self, ref: RowRef, table: str) -> None:
        changes = self.state.rows.get(ref)
        if changes is not None:
            self.state.rows[ref] = RowChanges(table, changes.fields)

    def forget_pending(self, ref: RowRef) -> None:
        """The row is loaded again (`refresh_from_db()`, a rollback expiring it): its changes are gone."""
        self.state.rows.pop(ref, None)

    def forget_all_pending(self) -> None:
        """A rollback: every unsaved change is discarded."""
        for ref in [r for r, changes in self.state.rows.items() if any(f.pending for f in changes.fields.values())]:
            self.state.rows.pop(ref)

    def pending_tables(self) -> set[str]:
        return {changes.table for changes in self.state.rows.values() if changes.table is not None and any(f.pending for f in changes.fields.values())}

    def flush_rows(self, node: cst.CSTNode) -> None:
        """A unit-of-work flush: every row changed in memory is written back (its changed columns only)."""
        for ref, changes in list(self.state.rows.items()):
            if changes.table is None or self._fetched_record(ref):
                continue
            assignments = self.take_pending(ref, None)
            if not assignments:
                continue
            version = self.file.index.version_column(changes.table)
            guards = (Guard(version, "=", IRValue(ValueKind.DERIVED, frozenset({Dependency(ref, version)}))),) if version else ()
            self.emit(
                Write(self.span(node), self.tx, changes.table, assignments, row=ref, guards=guards, result_checked=True if version else None)
            )

    def _fetched_record(self, ref: RowRef) -> bool:
        """A row read by SQL (its columns listed): a record no session tracks, written only by an UPDATE."""
        read = self.table.ops[ref.read] if ref.origin is RowOrigin.READ and ref.read is not None and ref.read < len(self.table.ops) else None
        return isinstance(read, Read) and bool(read.columns)

    # -- row counts ----------------------------------------------------------------------------
    def track_result(self, key: str, index: int) -> None:
        """A write's row count is available under `key` (a cursor) until the next statement there."""
        self.lost_results |= self.state.results.get(key, frozenset())
        self.state.results[key] = frozenset({index})

    def mark_checked(self, key: str) -> frozenset[int]:
        """The row count under `key` is read: the writes it is the count of."""
        found = self.state.results.pop(key, frozenset())
        self.checked |= found
        return found

    # -- held locks: cache/distributed locks, which an exception does not release ---------------
    def hold(self, index: int) -> None:
        """Op `index` took a lock: every path holds it from here on. A branch that tests the op's
        result (`if not r.set(k, v, nx=True): return`) holds it only where the result is truthy."""
        self.holdable.add(index)
        self.state.paths = holding(self.state.paths, index, True)

    def let_go(self, indices: Iterable[int]) -> None:
        """The locks taken by these ops are released here, on every path."""
        freed = [i for i in indices if i in self.holdable]
        self.let_go_in_step.update(freed)
        self.state.paths = released(self.state.paths, freed)
