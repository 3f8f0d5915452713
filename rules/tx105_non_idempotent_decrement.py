"""TX105 non-idempotent-decrement: a decrement that a retried request applies twice."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.index import ProjectIndex, normalise_column
from txlint.core.ir import Commit, Condition, Dependency, Insert, RowOrigin, RowRef, Unit, ValueKind, Write
from txlint.core.queries import decrements, holds_lock, in_same_transaction, same_row, state_guards, transitions, writes_row_of
from txlint.core.rule import Report, Rule, RuleContext, RuleDoc


class NonIdempotentDecrement(Rule):
    code = "TX105"
    name = "non-idempotent-decrement"
    severity = Severity.WARNING
    triggers = (Commit,)  # at run time: judged when a trace sees one
    summary = "An in-database decrement of a money-like column that a retry of the same request applies again."
    doc = RuleDoc(
        what_it_does=(
            "Finds `SET balance = balance - x` (`F(\"balance\") - x`, `Account.balance - x`) on a money-like "
            "column when nothing in the same transaction makes a second run of the same request a no-op: "
            "no idempotency key inserted under a unique constraint (anywhere in the transaction), no state or "
            "version condition in the UPDATE's WHERE, and nothing earlier in the transaction whose outcome "
            "gates it (clarification 9): a status transition (`filter(state=\"issued\").update(state=\"redeemed\")`, "
            "`UPDATE ... SET state = 'redeemed' WHERE ... AND state = 'issued'`) whose row count a test reads "
            "before the decrement (`if n != 1: raise`, `if cur.rowcount == 0: return`, `result.rowcount`), an "
            "`ON CONFLICT DO NOTHING` insert or a `get_or_create` whose outcome is tested the same way "
            "(`if not created: return`), a data-modifying CTE whose inserted row the UPDATE needs "
            "(`WITH ins AS (INSERT ... ON CONFLICT DO NOTHING RETURNING id) UPDATE ... AND EXISTS (SELECT 1 FROM ins)`), "
            "or a flag of a row locked in the transaction that is tested and set by it (`if order.paid: return; "
            "order.paid = True; order.save()`). A skipped insert or a found row that nothing tests does not "
            "stop a retry."
        ),
        why_is_this_bad=(
            "Clients retry on timeouts and queues redeliver messages. The decrement itself is atomic, but "
            "running it twice charges twice."
        ),
        example="Account.objects.filter(pk=pk).update(balance=F(\"balance\") - amount)\n",
        use_instead=(
            "with transaction.atomic():\n"
            "    Payment.objects.create(request_id=request_id, account_id=pk, amount=amount)  # unique request_id\n"
            "    Account.objects.filter(pk=pk, balance__gte=amount).update(balance=F(\"balance\") - amount)\n"
        ),
        known_problems=(
            "An idempotency check made by the caller, in another function, is not seen. A gate read from "
            "`RETURNING` rows (`cur.fetchone() is None` after `INSERT ... ON CONFLICT DO NOTHING RETURNING id`) "
            "is not followed; test `cur.rowcount` instead, or suppress the finding. The runtime analyser "
            "does not see data-modifying CTEs as gates. A plain insert in the same transaction into a "
            "table no schema of the project declares (no model, no DDL; at run time, no table the "
            "analyser was taught) may be the idempotency key: without evidence, the decrement is not "
            "reported."
        ),
    )
    INVALID = [
        (
            "from django.db.models import F\n"
            "def charge(pk, amount):\n"
            "    if not Account.objects.filter(pk=pk, balance__gte=amount).update(balance=F('balance') - amount):  # error\n"
            "        raise ValueError\n"
        ),
        "BEGIN;\nUPDATE wallets SET balance = balance - 10 WHERE id = 7 AND balance >= 10;  -- error\nCOMMIT;\n",
        (
            "from django.db.models import F\n"
            "from django.db.models.functions import Coalesce\n"
            "def consume(pk, qty):\n"
            "    Stock.objects.filter(pk=pk).update(quantity=Coalesce(F('quantity'), 0) - qty)  # error\n"
        ),
        # A skipped insert nobody looks at: the retry charges again.
        (
            "BEGIN;\n"
            "INSERT INTO payments (request_id) VALUES ('r-1') ON CONFLICT DO NOTHING;\n"
            "UPDATE wallets SET balance = balance - 10 WHERE id = 7;  -- error\n"
            "COMMIT;\n"
        ),
        # The transition's row count is never read.
        (
            "from django.db import transaction\n"
            "from django.db.models import F\n"
            "def redeem(voucher_id, pk, amount):\n"
            "    with transaction.atomic():\n"
            "        Voucher.objects.filter(pk=voucher_id, state='issued').update(state='redeemed')\n"
            "        Account.objects.filter(pk=pk).update(balance=F('balance') - amount)  # error\n"
        ),
    ]
    VALID = [
        # Near miss: an idempotency key under a unique constraint in the same transaction.
        (
            "from django.db import models, transaction\n"
            "from django.db.models import F\n"
            "class Payment(models.Model):\n"
            "    key = models.CharField(max_length=64, unique=True)\n"
            "def charge(pk, amount, key):\n"
            "    with transaction.atomic():\n"
            "        Payment.objects.create(key=key)\n"
            "        Account.objects.filter(pk=pk, balance__gte=amount).update(balance=F('balance') - amount)\n"
        ),
        # Near miss: a status transition in the same statement.
        (
            "from django.db.models import F\n"
            "def settle(pk, amount):\n"
            "    return Account.objects.filter(pk=pk, status='open').update(balance=F('balance') - amount)\n"
        ),
        # Near miss: a status transition earlier in the transaction whose row count decides.
        (
            "from django.db import transaction\n"
            "from django.db.models import F\n"
            "def redeem(voucher_id, pk, amount):\n"
            "    with transaction.atomic():\n"
            "        if Voucher.objects.filter(pk=voucher_id, state='issued').update(state='redeemed') != 1:\n"
            "            raise ValueError('already redeemed')\n"
            "        Account.objects.filter(pk=pk).update(balance=F('balance') - amount)\n"
        ),
        # Near miss: a locked row's flag checked, then set in the same transaction.
        (
            "from django.db import transaction\n"
            "from django.db.models import F\n"
            "def pay(order_id):\n"
            "    with transaction.atomic():\n"
            "        order = Order.objects.select_for_update().get(pk=order_id)\n"
            "        if order.paid:\n"
            "            return\n"
            "        order.paid = True\n"
            "        order.save(update_fields=['paid'])\n"
            "        Account.objects.filter(pk=order.account_id).update(balance=F('balance') - order.total)\n"
        ),
        # Near miss: a data-modifying CTE: the decrement needs the idempotency key's new row.
        (
            "BEGIN;\n"
            "WITH ins AS (INSERT INTO payments (request_id) VALUES ('r-1') ON CONFLICT DO NOTHING RETURNING id)\n"
            "UPDATE wallets SET balance = balance - 10 WHERE id = 7 AND EXISTS (SELECT 1 FROM ins);\n"
            "COMMIT;\n"
        ),
        # Near miss: an increment, and a column that is not money-like.
        (
            "from django.db.models import F\n"
            "def seen(pk):\n"
            "    Product.objects.filter(pk=pk).update(views=F('views') - 1)\n"
            "    Account.objects.filter(pk=pk).update(balance=F('balance') + 1)\n"
        ),
    ]

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        index = context.index
        for position, op in enumerate(unit.ops):
            if not isinstance(op, Write):
                continue
            found = decrements(op, context.config)
            if not found or state_guards(op, context.config, index.version_column(op.table)):
                continue
            if any(isinstance(other, Insert) and in_same_transaction(other, op) and _idempotency_key(other, index) for other in unit.ops):
                continue
            if _gated(unit, position, op, context):
                continue
            columns = ", ".join(f"`{op.table}.{a.column}`" for a, _ in found)
            yield Report.about(op, f"decrement of {columns} is applied again when the request is retried")


def _idempotency_key(insert: Insert, index: ProjectIndex) -> bool:
    """An insert the database refuses the second time, failing the transaction: it makes it run once.
    One it skips (`ON CONFLICT DO NOTHING`) or a get-or-create that finds the row goes on without
    an error: when the code is seen to read whether it inserted, that counts only where it gates
    the decrement (`_gated`); where nothing can tell (a runtime trace), it is given the benefit of
    the doubt."""
    unique = bool(insert.columns) and index.is_unique(insert.table, insert.columns)
    if insert.on_conflict or insert.checked_first:
        return insert.outcome_read is None and (insert.on_conflict or unique)
    # A plain insert into a table no schema of the project declares may well be the key: its
    # constraints are unknown, and without evidence the decrement is not reported.
    return unique or not index.knows_table(insert.table)


def _gated(unit: Unit, position: int, decrement: Write, context: RuleContext) -> bool:
    """Clarification 9: the decrement runs only when a status transition earlier in the same
    transaction matched its row, or an idempotency key was inserted (a test of that UPDATE's or
    INSERT's row count decides it, or the statement needs the row its CTE inserted), or under a test of
    a flag of a row locked in that transaction which the transaction also sets: a retry finds the
    status moved on, or the flag set, and does not get this far."""
    for condition in decrement.conditions:
        if any(_transition_before(unit, index, position, decrement, context) for index in condition.results):
            return True
        if any(_locked_flag_set(unit, dependency, condition, decrement) for dependency in condition.depends_on):
            return True
    return False


def _transition_before(unit: Unit, index: int, position: int, decrement: Write, context: RuleContext) -> bool:
    """Op `index`, before the decrement and in its transaction, changes something only once: a
    status transition, or an insert the database skips (or refuses) the second time."""
    if not 0 <= index < position:
        return False
    earlier = unit.ops[index]
    if earlier.tx != decrement.tx:
        return False
    if isinstance(earlier, Insert):
        return earlier.on_conflict or earlier.checked_first or _idempotency_key(earlier, context.index)
    return isinstance(earlier, Write) and transitions(earlier, context.config, context.index.version_column(earlier.table))


def _locked_flag_set(unit: Unit, dependency: Dependency, condition: Condition, decrement: Write) -> bool:
    """The test reads a column of a row read under an exclusive lock held where the decrement runs,
    and the same transaction writes that column of that row with a value of its own (`paid = True`)
    that the test would not let through again (`if order.status != "pending": return` then
    `status = "paid"`, not `status = "pending"`)."""
    ref = dependency.row
    if ref.origin is not RowOrigin.READ or ref.read is None or dependency.column is None or not 0 <= ref.read < len(unit.ops):
        return False
    read = unit.read_at(ref.read)
    if read is None or not holds_lock(read, decrement, shared_counts=False):
        return False
    column = normalise_column(dependency.column)
    for op in unit.ops:
        if not (isinstance(op, Write) and op.tx == decrement.tx):
            continue
        same = (op.row is not None and same_row(op.row, ref)) or (op.row is None and writes_row_of(read, ref.read, op))
        if same and any(
            normalise_column(a.column) == column and a.value.kind is ValueKind.INDEPENDENT and _moves_on(condition, ref, column, a.value.expression)
            for a in op.assignments
        ):
            return True
    return False


def _moves_on(condition: Condition, ref: RowRef, column: str, written: str | None) -> bool:
    """The value written makes the test come out the other way, as far as its comparisons of the
    column tell (a bare truth test is taken to be a flag being set)."""
    for comparison in condition.comparisons:
        if not (same_row(comparison.row, ref) and normalise_column(comparison.column) == column) or condition.holds is None:
            continue
        if comparison.op not in ("=", "!="):
            continue  # an order comparison tells nothing of a flag being set
        same = _literal(written) == _literal(comparison.expression)
        passes_while_equal = (comparison.op == "=") == condition.holds
        return not same if passes_while_equal else same
    return True


def _literal(text: str | None) -> str | None:
    return text.replace('"', "'") if text is not None else None
