"""TX105 non-idempotent-decrement: a decrement that a retried request applies twice."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.index import ProjectIndex, normalise_column
from txlint.core.ir import Dependency, Insert, RowOrigin, Unit, ValueKind, Write
from txlint.core.queries import decrements, holds_lock, in_same_transaction, same_row, state_guards, transitions, writes_row_of
from txlint.core.rule import Report, Rule, RuleContext, RuleDoc


class NonIdempotentDecrement(Rule):
    code = "TX105"
    name = "non-idempotent-decrement"
    severity = Severity.WARNING
    summary = "An in-database decrement of a money-like column that a retry of the same request applies again."
    doc = RuleDoc(
        what_it_does=(
            "Finds `SET balance = balance - x` (`F(\"balance\") - x`, `Account.balance - x`) on a money-like "
            "column when nothing in the same transaction makes a second run of the same request a no-op: "
            "no idempotency key inserted under a unique constraint, no state or version condition in the "
            "UPDATE's WHERE, no `ON CONFLICT DO NOTHING` insert gating it."
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
        known_problems="An idempotency check made by the caller, in another function, is not seen.",
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
            yield Report(op.span, f"decrement of {columns} is applied again when the request is retried")


def _idempotency_key(insert: Insert, index: ProjectIndex) -> bool:
    """An insert the database refuses the second time, failing the transaction: it makes it run once.
    One it skips (`ON CONFLICT DO NOTHING`) or a get-or-create that finds the row goes on without
    an error: those count only when their outcome gates the decrement (`_gated`)."""
    if insert.on_conflict or insert.checked_first:
        return False
    return bool(insert.columns) and index.is_unique(insert.table, insert.columns)


def _gated(unit: Unit, position: int, decrement: Write, context: RuleContext) -> bool:
    """Clarification 9: the decrement runs only when a status transition earlier in the same
    transaction matched its row, or an idempotency key was inserted (a test of that UPDATE's or
    INSERT's row count decides it, or the statement needs the row its CTE inserted), or under a test of
    a flag of a row locked in that transaction which the transaction also sets: a retry finds the
    status moved on, or the flag set, and does not get this far."""
    for condition in decrement.conditions:
        if any(_transition_before(unit, index, position, decrement, context) for index in condition.results):
            return True
        if any(_locked_flag_set(unit, dependency, decrement) for dependency in condition.depends_on):
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


def _locked_flag_set(unit: Unit, dependency: Dependency, decrement: Write) -> bool:
    """The test reads a column of a row read under an exclusive lock held where the decrement runs,
    and the same transaction writes that column of that row with a value of its own (`paid = True`)."""
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
        if same and any(normalise_column(a.column) == column and a.value.kind is ValueKind.INDEPENDENT for a in op.assignments):
            return True
    return False
