"""TX104 unbalanced-transaction: a transaction committed on some paths and left open on others."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.ir import Commit, Discard, DiscardCause, Exit, Unit
from txlint.core.rule import RelatedSpan, Report, Rule, RuleContext, RuleDoc


class UnbalancedTransaction(Rule):
    code = "TX104"
    name = "unbalanced-transaction"
    severity = Severity.ERROR
    triggers = (Discard,)  # at run time: judged when a trace sees one
    summary = "A transaction the function ends by hand is committed on some paths and left open on others."
    doc = RuleDoc(
        what_it_does=(
            "Follows every path out of a function that commits or rolls back a transaction it controls "
            "by hand (`session.begin()`, `trans = conn.begin()`, a SQLAlchemy 2.0 connection after its "
            "first statement, `set_autocommit(False)`, a DB-API connection after its first write, "
            "`BEGIN`). A path that leaves after a write or a row lock with neither `commit()` nor "
            "`rollback()` — the missing `else`, an early `return`, an `except` that "
            "swallows the error — is reported where it leaves, with the first uncommitted write or lock."
        ),
        why_is_this_bad=(
            "On that path the transaction stays open: row locks are held until the connection happens to "
            "be reused or closed, the connection returns to the pool dirty, and the writes are committed "
            "by whoever commits next — or silently dropped."
        ),
        example=(
            "def settle(conn, payout_id):\n"
            "    cur = conn.cursor()\n"
            "    cur.execute(\"SELECT state FROM payouts WHERE id = %s FOR UPDATE\", (payout_id,))\n"
            "    (state,) = cur.fetchone()\n"
            "    if state == \"pending\":\n"
            "        cur.execute(\"UPDATE payouts SET state = 'settled' WHERE id = %s\", (payout_id,))\n"
            "        conn.commit()\n"
        ),
        use_instead=(
            "def settle(conn, payout_id):\n"
            "    with conn:  # commits, or rolls back on an exception\n"
            "        with conn.cursor() as cur:\n"
            "            cur.execute(\"SELECT state FROM payouts WHERE id = %s FOR UPDATE\", (payout_id,))\n"
            "            (state,) = cur.fetchone()\n"
            "            if state == \"pending\":\n"
            "                cur.execute(\"UPDATE payouts SET state = 'settled' WHERE id = %s\", (payout_id,))\n"
        ),
        known_problems=(
            "A framework that commits the session after each request or task (Indico's request "
            "handlers, `pyramid_tm`) is not seen: a function that commits part of its work and leaves "
            "the rest to that framework is reported. "
            "Exceptions raised by the database calls themselves are not paths here: an error that "
            "propagates to the caller is the caller's to handle. A receiver of unknown type that is "
            "awaited and sent SQL (most often an application's own async wrapper, whose caller opens "
            "and ends the transaction) is taken to be in its caller's transaction: a commit on one "
            "path only is not reported for it. "
            "A flag saying whether anything was "
            "written is followed when it is set to a literal (`changed = True`) or counted "
            "(`n += 1`); one computed otherwise (`changed = changed or x`) is not, and the path that "
            "wrote nothing is then reported. A path that leaves a loop early is reported at the "
            "`if` it skipped on an earlier round, which may be one place for two exits."
        ),
    )
    INVALID = [
        (
            "def settle(conn, payout_id):\n"
            "    cur = conn.cursor()\n"
            "    cur.execute('SELECT state FROM payouts WHERE id = %s FOR UPDATE', (payout_id,))\n"
            "    (state,) = cur.fetchone()\n"
            "    if state == 'pending':  # error\n"
            "        cur.execute(\"UPDATE payouts SET state = 'settled' WHERE id = %s\", (payout_id,))\n"
            "        conn.commit()\n"
        ),
        (
            "from sqlalchemy.orm import Session\n"
            "def confirm(session: Session, booking_id):\n"
            "    booking = session.get(Booking, booking_id, with_for_update=True)\n"
            "    if booking.state != 'held':\n"
            "        return  # error\n"
            "    booking.state = 'confirmed'\n"
            "    session.commit()\n"
        ),
        (
            "import logging\n"
            "def pay(conn, order_id):\n"
            "    cur = conn.cursor()\n"
            "    try:\n"
            "        cur.execute(\"UPDATE orders SET status = 'paid' WHERE id = %s\", (order_id,))\n"
            "        conn.commit()\n"
            "    except Exception:  # error\n"
            "        logging.exception('payment failed')\n"
        ),
        (
            "from sqlalchemy import text\n"
            "from sqlalchemy.engine import Connection\n"
            "def hold(conn: Connection, order_id, ready):\n"
            "    trans = conn.begin()\n"
            "    conn.execute(text(\"UPDATE orders SET status = 'held' WHERE id = :id\"), {'id': order_id})\n"
            "    if ready:  # error\n"
            "        trans.commit()\n"
        ),
    ]
    VALID = [
        # Near miss: the other branch rolls back.
        (
            "def settle(conn, payout_id):\n"
            "    cur = conn.cursor()\n"
            "    cur.execute('SELECT state FROM payouts WHERE id = %s FOR UPDATE', (payout_id,))\n"
            "    (state,) = cur.fetchone()\n"
            "    if state == 'pending':\n"
            "        cur.execute(\"UPDATE payouts SET state = 'settled' WHERE id = %s\", (payout_id,))\n"
            "        conn.commit()\n"
            "    else:\n"
            "        conn.rollback()\n"
        ),
        # Near miss: the early exit raises; the error propagates to the caller.
        (
            "def debit(conn, account_id, amount):\n"
            "    cur = conn.cursor()\n"
            "    cur.execute('SELECT balance FROM accounts WHERE id = %s FOR UPDATE', (account_id,))\n"
            "    (balance,) = cur.fetchone()\n"
            "    if balance < amount:\n"
            "        raise ValueError('insufficient funds')\n"
            "    cur.execute('UPDATE accounts SET balance = balance - %s WHERE id = %s', (amount, account_id))\n"
            "    conn.commit()\n"
        ),
        # Near miss: no commit anywhere: the caller owns the transaction.
        (
            "def add_line(session, order, line):\n"
            "    session.add(line)\n"
            "    if order.total > 100:\n"
            "        return\n"
            "    session.flush()\n"
        ),
        # Near miss: the early return happens before any write or lock.
        (
            "from sqlalchemy.orm import Session\n"
            "def rename(session: Session, event_id, name):\n"
            "    event = session.get(Event, event_id)\n"
            "    if event is None:\n"
            "        return\n"
            "    event.name = name\n"
            "    session.commit()\n"
        ),
        # Near miss: a rollback only to recover from a duplicate, on a session the caller commits.
        (
            "from sqlalchemy.exc import IntegrityError\n"
            "from sqlalchemy.orm import Session\n"
            "def add_member(session: Session, member):\n"
            "    session.add(member)\n"
            "    try:\n"
            "        session.flush()\n"
            "    except IntegrityError:\n"
            "        session.rollback()\n"
            "        return None\n"
            "    return member\n"
        ),
        # Near miss: SQLAlchemy's transaction rolled back when the work fails.
        (
            "from sqlalchemy import text\n"
            "from sqlalchemy.engine import Connection\n"
            "def hold(conn: Connection, order_id):\n"
            "    trans = conn.begin()\n"
            "    try:\n"
            "        conn.execute(text(\"UPDATE orders SET status = 'held' WHERE id = :id\"), {'id': order_id})\n"
            "        trans.commit()\n"
            "    except Exception:\n"
            "        trans.rollback()\n"
            "        raise\n"
        ),
        # Near miss: the block ends the transaction itself.
        (
            "def settle(conn, payout_id):\n"
            "    with conn.transaction():\n"
            "        cur = conn.cursor()\n"
            "        cur.execute('SELECT state FROM payouts WHERE id = %s FOR UPDATE', (payout_id,))\n"
            "        if cur.fetchone()[0] != 'pending':\n"
            "            return\n"
            "        cur.execute(\"UPDATE payouts SET state = 'settled' WHERE id = %s\", (payout_id,))\n"
        ),
        # Near miss: it commits only if something changed; the path that changed nothing has nothing to end.
        (
            "from sqlalchemy import update\n"
            "from sqlalchemy.orm import Session\n"
            "def rename_all(session: Session, ids, name):\n"
            "    changed = False\n"
            "    for item_id in ids:\n"
            "        session.execute(update(Item).where(Item.id == item_id).values(name=name))\n"
            "        changed = True\n"
            "    if changed:\n"
            "        session.commit()\n"
        ),
    ]

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        yield from _discarded(unit)
        # Ownership (clarification 7): the function itself commits on some path. A rollback alone
        # is most often error recovery on a session the caller owns and commits.
        if not any(isinstance(op, Commit) for op in unit.ops):
            return
        for op in unit.ops:
            if isinstance(op, Exit) and op.open_since is not None and not op.hands_over:
                where = op.site or op.span
                yield Report(
                    where,
                    "the transaction is committed on another path but left open here (neither commit nor rollback)",
                    (RelatedSpan(op.open_since, "uncommitted work since here"),),
                )


DISCARDED = {
    DiscardCause.RELEASED: "the connection is handed back with its transaction open: its uncommitted writes are rolled back",
    DiscardCause.CLOSED: "the session is closed without commit or rollback: its uncommitted writes are rolled back",
}


def _discarded(unit: Unit) -> Iterable[Report]:
    """What a trace sees: a transaction that wrote was ended by its connection's release or its
    session's close, which rolled the writes back; the code never committed or rolled back."""
    for op in unit.ops:
        if not isinstance(op, Discard):
            continue
        first = unit.ops[op.first_write] if op.first_write is not None else None
        related = (RelatedSpan.about(first, f"first uncommitted write ({op.writes} in all)"),) if first is not None else ()
        yield Report.about(op, DISCARDED[op.cause], related)
