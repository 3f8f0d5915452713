"""TX106 unguarded-decrement: a decrement with no lower bound drives the balance negative."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.index import normalise_column
from txlint.core.ir import Delta, Guard, Op, Unit, Write
from txlint.core.queries import decrements
from txlint.core.rule import Report, Rule, RuleContext, RuleDoc


class UnguardedDecrement(Rule):
    code = "TX106"
    name = "unguarded-decrement"
    severity = Severity.WARNING
    triggers = (Write,)  # at run time: judged when a trace sees one
    summary = "An in-database decrement of a money-like column without a lower-bound guard or constraint."
    doc = RuleDoc(
        what_it_does=(
            "Finds `SET stock = stock - x` on a money-like column whose WHERE has no `stock >= x` "
            "(`stock__gte=x`) and whose column has no non-negative constraint (a CHECK, a Django "
            "`Positive*Field`, or the config's `non-negative-columns`)."
        ),
        why_is_this_bad=(
            "Each request's decrement is atomic, but nothing stops the tenth concurrent buyer of the last "
            "item: stock goes to -9 and the shop oversells."
        ),
        example="Product.objects.filter(pk=pk).update(stock=F(\"stock\") - qty)\n",
        use_instead=(
            "if not Product.objects.filter(pk=pk, stock__gte=qty).update(stock=F(\"stock\") - qty):\n"
            "    raise OutOfStock(pk)\n"
        ),
        known_problems=(
            "Only a bound in the decrement's own WHERE, a constraint or the config count. A bound checked "
            "in code on the row locked in the same transaction (`SELECT balance INTO v ... FOR UPDATE; "
            "IF v >= amount THEN UPDATE ... SET balance = balance - amount`, seen in stored procedures) "
            "is reported, and so is a decrement followed by a check of the new value that rolls back "
            "(`IF (SELECT balance ...) < 0 THEN ROLLBACK`). "
            "`c != 0` (`exclude(c=0)`) is taken as a bound for a decrement by exactly one, which stops at "
            "zero; a column that is already negative is not kept from going further."
        ),
        fix_safety=(
            "Unsafe (`--unsafe-fixes`): the decrement gets its lower bound where the code writes its update — Django's `filter(..., stock__gte=qty)`, SQLAlchemy's `.where(Model.stock >= qty)` before `.values(...)` (a statement built in a local first too) — and its row count decides: an update run as a statement of its own becomes `if not ...update(...): raise ValueError(...)` (`if (...).rowcount == 0:` for SQLAlchemy), a result kept in a local that the function never reads gets that test after it. A request that went on with a negative balance now raises: choose the exception your callers expect. SQL strings get no fix."
        ),
    )
    INVALID = [
        "from django.db.models import F\ndef sell(pk, qty):\n    Product.objects.filter(pk=pk).update(stock=F('stock') - qty)  # error\n",
        "BEGIN;\nUPDATE wallets SET balance = balance - 10.00 WHERE id = 7;  -- error\nCOMMIT;\n",
    ]
    VALID = [
        # Near miss: the lower bound in the WHERE.
        "from django.db.models import F\ndef sell(pk, qty):\n    return Product.objects.filter(pk=pk, stock__gte=qty).update(stock=F('stock') - qty)\n",
        # Near miss: a non-negative column in the schema.
        (
            "from django.db import models\n"
            "from django.db.models import F\n"
            "class Product(models.Model):\n"
            "    stock = models.PositiveIntegerField()\n"
            "def sell(pk):\n"
            "    return Product.objects.filter(pk=pk).update(stock=F('stock') - 1)\n"
        ),
        # Near miss: `> 0` guards a decrement by exactly 1.
        "BEGIN;\nUPDATE events SET seats = seats - 1 WHERE id = 7 AND seats > 0;\nCOMMIT;\n",
    ]

    @classmethod
    def triggered_by(cls, op: Op) -> bool:
        """A write that subtracts from a column in the database."""
        return isinstance(op, Write) and any(a.value.delta is not None and a.value.delta.sign == "-" for a in op.assignments)

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        index = context.index
        configured = {c.lower() for c in context.config.non_negative_columns}
        for op in unit.ops:
            if not isinstance(op, Write):
                continue
            for assignment, delta in decrements(op, context.config):
                column = assignment.column
                if f"{op.table}.{column}".lower() in configured or column.lower() in configured:
                    continue
                if index.is_non_negative(op.table, column) or any(_bounds(g, delta) for g in op.guards):
                    continue
                yield Report.about(op, f"`{op.table}.{column}` is decremented with no lower bound: it can go negative")


def _bounds(guard: Guard, delta: Delta) -> bool:
    """`c >= x` bounds any decrement; `c > 0`, and `c != 0` (`exclude(c=0)`: a counter stepping
    down by one stops at zero), only a decrement by exactly 1."""
    if normalise_column(guard.column) != normalise_column(delta.column):
        return False
    if guard.op == ">=":
        return True
    if guard.op == ">":
        return guard.value.expression not in {"0", "0.0"} or delta.literal_amount == 1
    if guard.op == "!=":
        return guard.value.expression in {"0", "0.0"} and delta.literal_amount == 1
    return False
