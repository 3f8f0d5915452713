"""TX108 unchecked-cas: a conditional UPDATE whose affected-row count is never looked at."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.index import ProjectIndex, normalise_column
from txlint.core.ir import Commit, Guard, Insert, Matched, Unit, Write
from txlint.core.queries import cas_guards, not_a_cas, written_columns
from txlint.core.rule import RelatedSpan, Report, Rule, RuleContext, RuleDoc


class UncheckedCas(Rule):
    code = "TX108"
    name = "unchecked-cas"
    severity = Severity.ERROR
    triggers = (Commit,)  # at run time: judged when a trace sees one
    summary = "A conditional (compare-and-swap) UPDATE whose affected-row count is never checked."
    doc = RuleDoc(
        what_it_does=(
            "Finds an UPDATE guarded on a version, a state, the old value or a lower bound of the "
            "column it writes — a compare-and-swap — whose result (the number of rows it changed) "
            "is thrown away or never read."
        ),
        why_is_this_bad=(
            "When it loses the race it silently changes nothing, and the code goes on as if it had "
            "won: it ships the order, sends the money, sends the e-mail."
        ),
        example=(
            "def mark_paid(order_id):\n"
            "    Order.objects.filter(pk=order_id, status=\"pending\").update(status=\"paid\")\n"
            "    ship(order_id)\n"
        ),
        use_instead=(
            "def mark_paid(order_id):\n"
            "    if not Order.objects.filter(pk=order_id, status=\"pending\").update(status=\"paid\"):\n"
            "        return False\n"
            "    ship(order_id)\n"
            "    return True\n"
        ),
        known_problems=(
            "A guard that keeps a minimum or maximum is recognised when the WHERE compares the written "
            "column with the very expression written (`low__gt=v` with `low=v`, `SET low = %s WHERE low > %s` "
            "given the same variable twice); a keeper written otherwise (`Least(F('low'), v)`) is still a CAS. "
            "A unique state column compared with a constant and not written, when nothing else names the "
            "row, is read as the row's key (`filter(import_state=\"New\").update(stamp=now)`), not as a "
            "guard; a state column that is unique only through a constraint the project cannot see is "
            "still a guard. `exclude(c=v)` is the guard `c != v` only when it has one keyword filter. "
            "A manager assigned under another name than `objects` (`pending = TicketManager()`) is "
            "followed only in a function that names some other database operation: the prefilter "
            "reads text, and `Ticket.pending.unassigned().update(...)` alone names none."
        ),
    )
    INVALID = [
        (
            "def mark_paid(order_id):\n"
            "    Order.objects.filter(pk=order_id, status='pending').update(status='paid')  # error\n"
            "    ship(order_id)\n"
        ),
        (
            "def bump(doc_id, version, body):\n"
            "    changed = Doc.objects.filter(pk=doc_id, version=version).update(body=body, version=version + 1)  # error\n"
            "    notify(doc_id)\n"
        ),
    ]
    VALID = [
        # Near miss: the same update with its result checked.
        (
            "def mark_paid(order_id):\n"
            "    if not Order.objects.filter(pk=order_id, status='pending').update(status='paid'):\n"
            "        return False\n"
            "    return True\n"
        ),
        # Near miss: an unconditional update by key is not a CAS.
        (
            "def rename(order_id, name):\n"
            "    Order.objects.filter(pk=order_id).update(name=name)\n"
        ),
        # Near miss: a condition on a column that is neither written nor a version/state column.
        (
            "def touch(user_id, now):\n"
            "    User.objects.filter(pk=user_id, is_active=True).update(last_seen=now)\n"
        ),
        # Near miss: a sweep over many rows (detach before delete) is not a one-row CAS.
        (
            "def detach(discount):\n"
            "    CartPosition.objects.filter(discount=discount).update(discount=None)\n"
            "    discount.delete()\n"
        ),
        # Near miss: an assert on the row count is a check (clarification 21).
        (
            "def mark_paid(order_id):\n"
            "    assert Order.objects.filter(pk=order_id, status='pending').update(status='paid') == 1\n"
            "    ship(order_id)\n"
        ),
        # Near miss: keeping a minimum compares the column with the value written, not a state it
        # read (clarification 20): losing means another request kept a lower one.
        (
            "def record_low(stat_id, price):\n"
            "    Stat.objects.filter(pk=stat_id, low__gt=price).update(low=price)\n"
        ),
        # The row count is returned to the caller, who decides.
        (
            "def claim(job_id):\n"
            "    return Job.objects.filter(pk=job_id, state='queued').update(state='running')\n"
        ),
    ]

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        index = context.index
        for op in unit.ops:
            if isinstance(op, Write) and op.result_checked is False and _one_row(op, index):
                columns = _guarded_columns(op, context)
                if columns:
                    yield Report.about(op, f"conditional update on {columns}: its affected-row count is never checked")
        yield from _failed_and_committed(unit, context)


def _guarded_columns(write: Write, context: RuleContext) -> str:
    """The columns a one-row update compares with what it expects (its CAS), for a message; "" when none."""
    guards = [g for g in cas_guards(write, context.config) if not not_a_cas(write, g, context.index) and not _the_key(write, g, context.index)]
    return ", ".join(f"`{write.table}.{g.column}`" for g in guards)


def _failed_and_committed(unit: Unit, context: RuleContext) -> Iterable[Report]:
    """What a trace sees: a compare-and-swap matched no row (it lost), and its transaction went on
    to write and then committed, as if it had won. A check of the row count would have stopped it."""
    for position, op in enumerate(unit.ops):
        if not isinstance(op, Matched) or op.rows != 0:
            continue
        cas = unit.ops[op.write]
        if not isinstance(cas, Write) or not _one_row(cas, context.index):
            continue
        columns = _guarded_columns(cas, context)
        later = unit.ops[position + 1 :]
        wrote = next((o for o in later if isinstance(o, (Write, Insert))), None)
        commit = next((o for o in later if isinstance(o, Commit)), None)
        if columns and wrote is not None and commit is not None:
            yield Report.about(
                cas,
                f"conditional update on {columns} matched no row, and the transaction still went on to write and commit",
                (RelatedSpan.about(wrote, "the transaction went on to write here"), RelatedSpan.about(commit, "and committed here")),
            )


def _the_key(write: Write, guard: Guard, index: ProjectIndex) -> bool:
    """A state column that is unique, compared with a value and not written, when nothing else
    names the row: it is how the row is found (`filter(import_state="New").update(stamp=now)` on a
    table with one row per state), not a guard the update could lose; no transition is made."""
    column = normalise_column(guard.column)
    if guard.op != "=" or column in written_columns(write) or not index.is_unique(write.table, [guard.column]):
        return False
    return not any(
        other is not guard and other.op == "=" and (normalise_column(other.column) in {"pk", "id"} or index.is_unique(write.table, [other.column]))
        for other in write.guards
    )


def _one_row(write: Write, index: ProjectIndex) -> bool:
    """A compare-and-swap targets one row (by primary key or a unique column); a sweep over many
    rows (`filter(discount=d).update(discount=None)`) may rightly match none."""
    return any(
        g.op == "=" and (normalise_column(g.column) in {"pk", "id"} or index.is_unique(write.table, [g.column]))
        for g in write.guards
    )
