"""TX110 unevaluated-lock: a locking query that is built but never run."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.ir import Read, Unit
from txlint.core.rule import Report, Rule, RuleContext, RuleDoc


class UnevaluatedLock(Rule):
    code = "TX110"
    name = "unevaluated-lock"
    severity = Severity.ERROR
    summary = "A locking query is built but never evaluated, so no SQL runs and no row is locked."
    doc = RuleDoc(
        what_it_does=(
            "Finds a locking query (`select_for_update()`, `with_for_update()`) that is assigned or "
            "written as a statement and then never iterated, indexed, counted, fetched or otherwise "
            "executed in the function."
        ),
        why_is_this_bad=(
            "Query objects are lazy. No SELECT ... FOR UPDATE is sent, no row is locked, and the writes "
            "that follow run unprotected, while the code reads as if they were serialised."
        ),
        example=(
            "with transaction.atomic():\n"
            "    locked = Product.objects.select_for_update().filter(pk__in=ids)\n"
            "    Product.objects.filter(pk__in=ids).update(title=\"reserved\")\n"
        ),
        use_instead=(
            "with transaction.atomic():\n"
            "    locked = list(Product.objects.select_for_update().filter(pk__in=ids))\n"
            "    Product.objects.filter(pk__in=ids).update(title=\"reserved\")\n"
        ),
        fix_safety=(
            'Safe (`--fix`): a locking query built as a statement of its own is evaluated where it stands (`list(Model.objects.select_for_update().filter(...))`), which is what the code meant; a query assigned to a name is left alone.'
        ),
    )
    INVALID = [
        (
            "from django.db import transaction\n"
            "def reserve(ids):\n"
            "    with transaction.atomic():\n"
            "        locked = Product.objects.select_for_update().filter(pk__in=ids)  # error\n"
            "        Product.objects.filter(pk__in=ids).update(title='reserved')\n"
        ),
        (
            "from django.db import transaction\n"
            "def reserve(ids):\n"
            "    with transaction.atomic():\n"
            "        Product.objects.select_for_update().filter(pk__in=ids)  # error\n"
            "        Product.objects.filter(pk__in=ids).update(title='reserved')\n"
        ),
    ]
    VALID = [
        # Near miss: evaluated with list().
        (
            "from django.db import transaction\n"
            "def reserve(ids):\n"
            "    with transaction.atomic():\n"
            "        locked = list(Product.objects.select_for_update().filter(pk__in=ids))\n"
        ),
        # Near miss: iterated later.
        (
            "from django.db import transaction\n"
            "def reserve(ids):\n"
            "    with transaction.atomic():\n"
            "        locked = Product.objects.select_for_update().filter(pk__in=ids)\n"
            "        for product in locked:\n"
            "            product.touch()\n"
        ),
        # Near miss: handed to the caller, who evaluates it.
        (
            "def locked_products(ids):\n"
            "    return Product.objects.select_for_update().filter(pk__in=ids)\n"
        ),
    ]

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        for op in unit.ops:
            if isinstance(op, Read) and op.lock is not None and not op.evaluated:
                yield Report(op.span, f"locking query on `{op.table}` is never evaluated: no row is locked")
