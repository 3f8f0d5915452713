"""TX109 lock-outside-transaction: a row lock taken in autocommit, released at once."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity, Span
from txlint.core.ir import Read, Unit
from txlint.core.queries import outside_transactions, runs_in_request_transaction
from txlint.core.rule import RelatedSpan, Report, Rule, RuleContext, RuleDoc


class LockOutsideTransaction(Rule):
    code = "TX109"
    name = "lock-outside-transaction"
    severity = Severity.ERROR
    triggers = (Read,)  # at run time: judged when a trace sees one
    summary = "A row lock is requested outside any transaction, so it is released as soon as the statement ends."
    doc = RuleDoc(
        what_it_does=(
            "Finds a locking read (`select_for_update()`, `with_for_update()`, `SELECT ... FOR UPDATE`) "
            "that runs in autocommit: on a connection switched to autocommit (a DB-API connection's "
            "`autocommit = True`, a SQLAlchemy engine or connection with `isolation_level=\"AUTOCOMMIT\"`, "
            "whose `begin()` begins nothing), or before/after the transaction block of the same "
            "function that holds the writes."
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
            "A function with no transaction block of its own is reported when it is an entry point "
            "(a view, a task, a management command, a route) or when every project call of it, followed "
            "up to three callers, runs outside a transaction; when its callers are unknown it is assumed "
            "to run inside one, and is not reported. The same holds for a connection of a driver that "
            "commits every statement outside a transaction block (asyncpg, `databases`) when it is passed "
            "in or kept outside the function; one the function opens itself or borrows from a pool is "
            "in autocommit, and a lock taken on it outside `transaction()` is reported there."
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
        # SQLAlchemy: the engine's connections are in autocommit, so `begin()` begins nothing (clarification 11).
        (
            "from sqlalchemy import create_engine, text\n"
            "engine = create_engine('postgresql://app@db/shop', isolation_level='AUTOCOMMIT')\n"
            "def hold(job_id):\n"
            "    with engine.begin() as conn:\n"
            "        conn.execute(text('SELECT id FROM jobs WHERE id = :id FOR UPDATE'), {'id': job_id})  # error\n"
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
        # Near miss: an engine in its default isolation level: `begin()` begins a transaction.
        (
            "from sqlalchemy import create_engine, text\n"
            "engine = create_engine('postgresql://app@db/shop', isolation_level='REPEATABLE READ')\n"
            "def hold(job_id):\n"
            "    with engine.begin() as conn:\n"
            "        conn.execute(text('SELECT id FROM jobs WHERE id = :id FOR UPDATE'), {'id': job_id})\n"
        ),
    ]

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        for op in unit.ops:
            if not (isinstance(op, Read) and op.lock is not None and op.evaluated) or op.advisory:
                continue  # session-level advisory locks are meant for autocommit; which kind it is is not known
            if op.autocommit:
                yield Report.about(op, f"row lock on `{op.table}` taken in autocommit mode: it is released when the statement ends")
            elif op.tx is None and unit.transactions:
                begin = unit.transactions[0].span
                yield Report(
                    op.span,
                    f"row lock on `{op.table}` taken outside the function's transaction: it protects nothing",
                    (RelatedSpan(begin, "the transaction is here"),),
                )
            elif op.tx is None and op.through and not any(site.in_transaction for site in context.index.call_sites_of(op.through)):
                continue  # the helper is wrong for every caller: reported there, once (clarification 25)
            elif op.tx is None and unit.entry and not runs_in_request_transaction(unit.entry, context):
                yield Report(op.span, f"row lock on `{op.table}` taken outside any transaction in `{unit.name}`, which nothing calls in one: it protects nothing")
            elif op.tx is None and (sites := outside_transactions(unit, context)) is not None:
                yield Report(
                    op.span,
                    f"row lock on `{op.table}` taken outside any transaction, and none of the project's calls of `{unit.name}` is in one: it protects nothing",
                    tuple(RelatedSpan(Span.point(s.line, s.column), f"`{s.caller}` calls it outside a transaction", path=s.path) for s in sites[:3]),
                )
