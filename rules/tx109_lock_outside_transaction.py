"""TX109 lock-outside-transaction: a row lock taken in autocommit, released at once."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.ir import Read, Unit
from txlint.core.rule import RelatedSpan, Report, Rule, RuleContext, RuleDoc


class LockOutsideTransaction(Rule):
    code = "TX109"
    name = "lock-outside-transaction"
    severity = Severity.ERROR
    summary = "A row lock is requested outside any transaction, so it is released as soon as the statement ends."
    doc = RuleDoc(
        what_it_does=(
            "Finds a locking read (`select_for_update()`, `with_for_update()`, `SELECT ... FOR UPDATE`) "
            "that runs in autocommit: on a connection switched to autocommit, or before/after the "
            "transaction block of the same function that holds the writes."
        ),
        why_is_this_bad=(
            "In autocommit every statement is its own transaction: the lock is released when the "
            "SELECT ends and protects nothing that follows. Django raises for it at run time on real "
            "databases; other libraries silently do nothing."
        ),
        example=(
            "def freeze(account_id):\n"
            "    acct = Account.objects.select_for_update().get(pk=account_id)\n"
            "    with transaction.atomic():\n"
            "        Account.objects.filter(pk=acct.pk).update(nickname=\"frozen\")\n"
        ),
        use_instead=(
            "def freeze(account_id):\n"
            "    with transaction.atomic():\n"
            "        acct = Account.objects.select_for_update().get(pk=account_id)\n"
            "        Account.objects.filter(pk=acct.pk).update(nickname=\"frozen\")\n"
        ),
        known_problems=(
            "A function with no transaction block of its own is assumed to run inside its caller's "
            "transaction, and is not reported."
        ),
    )
    INVALID = [
        (
            "from django.db import transaction\n"
            "def freeze(account_id):\n"
            "    acct = Account.objects.select_for_update().get(pk=account_id)  # error\n"
            "    with transaction.atomic():\n"
            "        Account.objects.filter(pk=acct.pk).update(nickname='frozen')\n"
        ),
        (
            "from django.db import transaction\n"
            "def freeze(account_id):\n"
            "    with transaction.atomic(using='replica'):\n"
            "        acct = Account.objects.select_for_update().get(pk=account_id)  # error\n"
            "        acct.nickname = 'frozen'\n"
        ),
    ]
    VALID = [
        # Near miss: the same lock inside the block.
        (
            "from django.db import transaction\n"
            "def freeze(account_id):\n"
            "    with transaction.atomic():\n"
            "        acct = Account.objects.select_for_update().get(pk=account_id)\n"
            "        Account.objects.filter(pk=acct.pk).update(nickname='frozen')\n"
        ),
        # Near miss: no transaction in this function: the caller's transaction holds the lock.
        (
            "def lock_account(account_id):\n"
            "    return Account.objects.select_for_update().get(pk=account_id)\n"
        ),
        # Near miss: atomic(using=...) on the alias the query uses.
        (
            "from django.db import transaction\n"
            "def freeze(account_id):\n"
            "    with transaction.atomic(using='ledger'):\n"
            "        acct = Account.objects.using('ledger').select_for_update().get(pk=account_id)\n"
        ),
    ]

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        for op in unit.ops:
            if not (isinstance(op, Read) and op.lock is not None and op.evaluated) or op.advisory:
                continue  # session-level advisory locks are meant for autocommit; which kind it is is not known
            if op.autocommit:
                yield Report(op.span, f"row lock on `{op.table}` taken in autocommit mode: it is released when the statement ends")
            elif op.tx is None and unit.transactions:
                begin = unit.transactions[0].span
                yield Report(
                    op.span,
                    f"row lock on `{op.table}` taken outside the function's transaction: it protects nothing",
                    (RelatedSpan(begin, "the transaction is here"),),
                )
