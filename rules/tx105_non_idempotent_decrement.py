"""TX105 non-idempotent-decrement: a decrement that a retried request applies twice."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.index import ProjectIndex
from txlint.core.ir import Insert, Unit, Write
from txlint.core.queries import decrements, in_same_transaction, state_guards
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
        known_problems=(
            "An idempotency check made by the caller, in another function, is not seen. An insert that "
            "skips a duplicate (`ON CONFLICT DO NOTHING`, `INSERT IGNORE`, SQLAlchemy's "
            "`on_conflict_do_nothing()`/`on_duplicate_key_update()`) anywhere in the transaction counts "
            "as the idempotency key, whether or not its outcome (the row it returns, its row count) is "
            "checked before the decrement: a retry then skips the insert and still decrements."
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
        for op in unit.ops:
            if not isinstance(op, Write):
                continue
            found = decrements(op, context.config)
            if not found or state_guards(op, context.config, index.version_column(op.table)):
                continue
            if any(isinstance(other, Insert) and in_same_transaction(other, op) and _idempotency_key(other, index) for other in unit.ops):
                continue
            columns = ", ".join(f"`{op.table}.{a.column}`" for a, _ in found)
            yield Report(op.span, f"decrement of {columns} is applied again when the request is retried")


def _idempotency_key(insert: Insert, index: ProjectIndex) -> bool:
    """An insert the database refuses (or skips) the second time: it makes the transaction run once."""
    return insert.on_conflict or (bool(insert.columns) and index.is_unique(insert.table, insert.columns))
