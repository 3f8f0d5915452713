"""TX101 lost-update: a row read without a lock, changed in Python, written back."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from txlint.core.ftypes import Severity, Span
from txlint.core.index import normalise_column
from txlint.core.ir import Assignment, Dependency, LockMode, Op, Read, RowOrigin, RowRef, Unit, ValueKind, Write, in_order
from txlint.core.queries import callers_passing, cas_guards, holds_lock, same_row, writes_row_of
from txlint.core.rule import RelatedSpan, Report, Rule, RuleContext, RuleDoc
from txlint.core.summaries import Passed

_PLAIN_ACCESS = re.compile(r"[A-Za-z_][\w.]*(\[[\w\"']+\])*")


class LostUpdate(Rule):
    code = "TX101"
    name = "lost-update"
    severity = Severity.ERROR
    triggers = (Write,)  # at run time: judged when a trace sees one
    summary = "A value read without a row lock is changed in application code and written back to the same row."
    doc = RuleDoc(
        what_it_does=(
            "Finds a row that is read from the database without a row lock, has a column recomputed "
            "from what was read (`acct.balance -= amount`), and is written back, with no "
            "compare-and-swap guard on the write. A method or function that receives the instance "
            "(`self`, a parameter) and does the same is reported too: every caller would have to lock it."
        ),
        why_is_this_bad=(
            "Two concurrent requests both read 100, both compute their own result and both write it: "
            "one deduction disappears. Tests that run one request at a time never show it."
        ),
        example=(
            "def withdraw(account_id, amount):\n"
            "    with transaction.atomic():\n"
            "        acct = Account.objects.get(pk=account_id)\n"
            "        acct.balance -= amount\n"
            "        acct.save()\n"
        ),
        use_instead=(
            "def withdraw(account_id, amount):\n"
            "    with transaction.atomic():\n"
            "        acct = Account.objects.select_for_update().get(pk=account_id)\n"
            "        acct.balance -= amount\n"
            "        acct.save()\n"
            "\n"
            "# or let the database compute it (see TX105/TX106 for the guards it needs):\n"
            "Account.objects.filter(pk=account_id, balance__gte=amount).update(balance=F(\"balance\") - amount)\n"
        ),
        known_problems=(
            "Only the function itself is analysed: an instance locked by a caller and passed in is "
            "still reported, because this function cannot show that every caller locks it. An "
            "`executemany()` whose rows are computed from rows read earlier is not matched to the rows "
            "it writes (its parameters name no single row), and is not reported. "
            "A value "
            "that is the input or the field's own value (`obj.f = data.get('f', obj.f)`) is recognised "
            "in the assignment itself; kept in a variable first, it is read as recomputed from the "
            "field. SQLAlchemy's autoflush is followed: a change is written where the code flushes or "
            "commits (or the block that commits ends), or where the session next runs a statement "
            "(a select, an ORM update, a legacy Query's results; not a load by primary key, which the "
            "identity map may answer). A file with a `no_autoflush` block, or a project that sets "
            "`autoflush=False` anywhere, is read without it. A function that changes an instance and "
            "leaves the flush to its caller is not reported. "
            "A SQLAlchemy related object (`topic.forum`, `forum.topics`) is read as a lazy load takes it, "
            "in a statement of its own without a lock, even when the session already holds that row "
            "locked (the identity map then hands it over without SQL); rows a locking statement reads "
            "itself (`joinedload`, `contains_eager`, `lazy=\"joined\"`) count as locked, though PostgreSQL "
            "refuses FOR UPDATE on the nullable side of the outer joins SQLAlchemy uses for them. "
            "Relationships loaded `lazy=\"raise\"`/`\"noload\"`, and those whose declaration and foreign keys "
            "do not tell one row from a collection, are not followed. A parameter of unknown type is taken "
            "for an instance when the columns it changes are declared together by exactly one model (or by "
            "the one it is named after): another object with such a field, flushed with the session, "
            "would be taken for one. "
            "A foreign key given back the row it was read to point at, or a row made from that row (the "
            "instance a form saves), is a reference, not a value recomputed, and is not reported; the "
            "row is recognised only when the value still depends on it as a whole (through calls), not "
            "when it was taken apart into columns. "
            "A field named by `getattr`/`setattr` is followed when the name is a string constant or a "
            "parameter of the function (`{field}` in messages); a name computed in the function is not."
        ),
        fix_safety=(
            "Unsafe (`--unsafe-fixes`): the read that loads the row is made to lock it — Django's `.select_for_update()` on the manager (`Model.objects.select_for_update().get(...)`, `get_object_or_404(Model.objects.select_for_update(), ...)`), only inside `transaction.atomic()`, which Django requires; SQLAlchemy's `session.get(Model, id, with_for_update=True)`, `Model.query.with_for_update()` and `select(...).with_for_update()`. It takes a lock the code did not take before: other transactions now wait for this one, and a read of several rows locks them all."
        ),
    )
    INVALID = [
        (
            "from django.db import transaction\n"
            "def withdraw(account_id, amount):\n"
            "    with transaction.atomic():\n"
            "        acct = Account.objects.get(pk=account_id)\n"
            "        acct.balance -= amount\n"
            "        acct.save()  # error\n"
        ),
        (
            "def add_points(user_id, points):\n"
            "    profile = Profile.objects.filter(user_id=user_id).first()\n"
            "    profile.points = profile.points + points\n"
            "    profile.save(update_fields=['points'])  # error\n"
        ),
        (
            "from django.db import transaction\n"
            "from django.shortcuts import get_object_or_404\n"
            "def withdraw(account_id, amount):\n"
            "    acct = get_object_or_404(Account, pk=account_id)\n"
            "    with transaction.atomic():\n"
            "        acct.refresh_from_db()\n"
            "        acct.balance = acct.balance - amount\n"
            "        acct.save()  # error\n"
        ),
        (
            "def use_voucher(voucher):\n"
            "    voucher.used += 1\n"
            "    voucher.save(update_fields=['used'])  # error\n"
        ),
        # A SQLAlchemy related object: loaded on first access, without a lock.
        (
            "from flask_sqlalchemy import SQLAlchemy\n"
            "db = SQLAlchemy()\n"
            "class Forum(db.Model):\n"
            "    id = db.Column(db.Integer, primary_key=True)\n"
            "    topic_count = db.Column(db.Integer)\n"
            "class Topic(db.Model):\n"
            "    id = db.Column(db.Integer, primary_key=True)\n"
            "    forum_id = db.Column(db.Integer, db.ForeignKey('forum.id'))\n"
            "    forum = db.relationship('Forum', backref='topics')\n"
            "def add_topic(topic_id):\n"
            "    topic = db.session.get(Topic, topic_id, with_for_update=True)\n"
            "    topic.forum.topic_count += 1\n"
            "    db.session.commit()  # error\n"
        ),
    ]
    VALID = [
        # The near miss: the same code with the row locked inside the transaction.
        (
            "from django.db import transaction\n"
            "def withdraw(account_id, amount):\n"
            "    with transaction.atomic():\n"
            "        acct = Account.objects.select_for_update().get(pk=account_id)\n"
            "        acct.balance -= amount\n"
            "        acct.save()\n"
        ),
        # The related row is read by the locking statement itself (FOR UPDATE locks every table it reads).
        (
            "from flask_sqlalchemy import SQLAlchemy\n"
            "from sqlalchemy import select\n"
            "from sqlalchemy.orm import joinedload\n"
            "db = SQLAlchemy()\n"
            "class Forum(db.Model):\n"
            "    id = db.Column(db.Integer, primary_key=True)\n"
            "    topic_count = db.Column(db.Integer)\n"
            "class Topic(db.Model):\n"
            "    id = db.Column(db.Integer, primary_key=True)\n"
            "    forum_id = db.Column(db.Integer, db.ForeignKey('forum.id'))\n"
            "    forum = db.relationship('Forum')\n"
            "def add_topic(topic_id):\n"
            "    stmt = select(Topic).options(joinedload(Topic.forum)).where(Topic.id == topic_id).with_for_update()\n"
            "    topic = db.session.execute(stmt).scalar_one()\n"
            "    topic.forum.topic_count += 1\n"
            "    db.session.commit()\n"
        ),
        # The written value does not depend on anything read.
        (
            "def rename(account_id, nickname):\n"
            "    acct = Account.objects.get(pk=account_id)\n"
            "    acct.nickname = nickname\n"
            "    acct.save(update_fields=['nickname'])\n"
        ),
        # Created here, never read.
        (
            "def open_account(owner):\n"
            "    acct = Account(owner=owner, balance=0)\n"
            "    acct.balance += 10\n"
            "    acct.save()\n"
        ),
        # The database computes the new value.
        (
            "from django.db.models import F\n"
            "def withdraw(account_id, amount):\n"
            "    Account.objects.filter(pk=account_id).update(balance=F('balance') - amount)\n"
        ),
        # Locked rows of an evaluated locking queryset.
        (
            "from django.db import transaction\n"
            "def reserve(ids):\n"
            "    with transaction.atomic():\n"
            "        for product in Product.objects.select_for_update().filter(pk__in=ids):\n"
            "            product.stock -= 1\n"
            "            product.save(update_fields=['stock'])\n"
        ),
        # Near misses found in real shops: a class constant read through `self`, a value from
        # another field, an aggregate of child rows, a field assigned earlier in the function.
        (
            "from django.db import models\n"
            "class Basket(models.Model):\n"
            "    FROZEN = 'Frozen'\n"
            "    status = models.CharField(max_length=16)\n"
            "    votes = models.IntegerField()\n"
            "    def freeze(self):\n"
            "        self.status = self.FROZEN\n"
            "        self.save()\n"
            "    def recount(self):\n"
            "        self.votes = self.vote_set.count()\n"
            "        self.save()\n"
            "    def shout(self, text):\n"
            "        self.status = text\n"
            "        self.status += '!'\n"
            "        self.save()\n"
        ),
        (
            "import json\n"
            "def record(payment, client):\n"
            "    payment.info = json.dumps(client.refund(payment.amount))\n"
            "    payment.save(update_fields=['info'])\n"
            "def clone(event_id):\n"
            "    event = Event.objects.get(pk=event_id)\n"
            "    event.pk = None\n"
            "    event.copies = event.copies + 1\n"
            "    event.save(force_insert=True)\n"
        ),
        # Near miss: an instance passed in, its field clamped (not accumulated) by its owner.
        (
            "def cap(payment: Payment, limit):\n"
            "    payment.amount = min(payment.amount, limit)\n"
            "    payment.save(update_fields=['amount'])\n"
        ),
        # An untyped parameter whose save() proves nothing about being a model row.
        (
            "def bump(counter):\n"
            "    counter.value += 1\n"
            "    counter.save()\n"
        ),
        # Near miss: the input, or the value the field has (a PATCH keeping what it is not given).
        (
            "def patch(account_id, data):\n"
            "    acct = Account.objects.get(pk=account_id)\n"
            "    acct.balance = data.get('balance', acct.balance)\n"
            "    acct.save()\n"
        ),
    ]

    @classmethod
    def triggered_by(cls, op: Op) -> bool:
        """A write whose value the trace linked to a value read (only then can it be a lost update)."""
        return isinstance(op, Write) and any(a.value.kind is ValueKind.DERIVED for a in op.assignments)

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        for op in unit.ops:
            if not isinstance(op, Write) or _is_cas(op, context):
                continue
            report = _lost_update(unit, op, context) if op.row is not None else _lost_update_by_key(unit, op)
            if report is not None:
                yield report


def _lost_update_by_key(unit: Unit, write: Write) -> Report | None:
    """`SELECT c ... WHERE id = k` then `UPDATE ... SET c = f(c) WHERE id = k` (SQL, or an ORM update by key)."""
    for assignment in write.assignments:
        if assignment.value.kind is not ValueKind.DERIVED or _copied(assignment):
            continue
        for dep in in_order(assignment.value.depends_on):
            if dep.column is None or normalise_column(dep.column) != normalise_column(assignment.column) or _reference_through(unit, dep, assignment.value.depends_on):
                continue
            read = unit.read_at(dep.row.read) if dep.row.origin is RowOrigin.READ else None
            if read is None or dep.row.read is None or not writes_row_of(read, dep.row.read, write):
                continue
            if holds_lock(read, write, shared_counts=False) or (read.lock is not None and read.tx is None and read.lock_requires_transaction):
                return None
            return Report.about(
                write,
                f"`{write.table}.{assignment.column}` is computed from a value read without a row lock and written back",
                (RelatedSpan.about(read, "read here without a row lock" if read.lock is None else _lock_problem(read)),),
            )
    return None


def _copied(assignment: Assignment) -> bool:
    """`SET c = row.c` (`row[2]`): the column's value handed back as it is, not recomputed. Whatever
    the value is by then (a method of the row may have set it), this writer computed nothing from
    the old one."""
    value = assignment.value
    expression = value.expression
    if value.delta is not None or expression is None or len(value.depends_on) != 1:
        return False
    return _PLAIN_ACCESS.fullmatch(expression.replace(" ", "")) is not None


def _from_itself(assignment: Assignment, is_row: Callable[[RowRef], bool], unit: Unit) -> bool:
    """`f = g(f)`: the new value of a column is computed from that same column of the row. A foreign
    key given the row it was read to point at, or a row made from that row (the instance a form
    saves), is a reference written back, not a value recomputed (clarification 17)."""
    if assignment.value.kind is not ValueKind.DERIVED:
        return False
    column = normalise_column(assignment.column)
    deps = assignment.value.depends_on
    return any(
        is_row(d.row) and d.column is not None and normalise_column(d.column) == column and not _reference_through(unit, d, deps)
        for d in deps
    )


def _reference_through(unit: Unit, key: Dependency, deps: frozenset[Dependency]) -> bool:
    """The value depends on column `key` only as the key a related row was loaded through, and on
    that row as a whole (`email = event.email` ... `event.email = email`)."""
    for dep in deps:
        if dep.column is None and dep.row.origin is RowOrigin.READ:
            read = unit.read_at(dep.row.read)
            if read is not None and read.via == key:
                return True
    return False


def _lost_update(unit: Unit, write: Write, context: RuleContext) -> Report | None:
    row = write.row
    assert row is not None
    recomputed = [a for a in write.assignments if _from_itself(a, lambda ref: same_row(ref, row), unit)]
    if row.origin is RowOrigin.PARAMETER:
        # Loaded elsewhere: only arithmetic on the field (`+=`, `f - x`) is worth asking every caller
        # about; a rewrite (a JSON field, `min(f, cap)` on a request's own record) is not.
        recomputed = [a for a in recomputed if a.value.delta is not None]
    columns = [a.column for a in recomputed]
    if not columns:
        return None
    fields = ", ".join(f"`{row.name or write.table}.{c}`" for c in columns)
    if row.origin is RowOrigin.PARAMETER:
        return _loaded_elsewhere(unit, write, row, fields, context)
    read = unit.read_at(row.read)
    if read is None or holds_lock(read, write, shared_counts=False):
        return None
    if read.lock is not None and read.tx is None and read.lock_requires_transaction:
        return None  # the lock call itself fails outside a transaction: TX109 says so
    return Report.about(
        write,
        f"{fields} is read without a row lock and written back",
        (RelatedSpan.about(read, "read here without a row lock" if read.lock is None else _lock_problem(read)),),
    )


def _loaded_elsewhere(unit: Unit, write: Write, row: RowRef, fields: str, context: RuleContext) -> Report | None:
    """A row the callers hand in: quiet when every call site in the project passes a locked row or
    one it has just created; reported when one passes a row read without a lock (naming it), or
    when no call site is known (clarification 16)."""
    sites = callers_passing(unit, row.name, context)
    unlocked = [site for site, state in sites if state is Passed.UNLOCKED]
    if sites and all(state in (Passed.LOCKED, Passed.CREATED) for _, state in sites):
        return None
    if unlocked:
        first = unlocked[0]
        return Report(
            write.span,
            f"{fields} is recomputed from an instance loaded elsewhere and saved; `{first.caller}` passes one read without a row lock",
            tuple(RelatedSpan(Span.point(s.line, s.column), f"`{s.caller}` calls it with a row read without a lock", path=s.path) for s in unlocked[:3]),
        )
    return Report(
        write.span,
        f"{fields} is recomputed from an instance loaded elsewhere and saved; every caller must hold a row lock on it",
    )


def _lock_problem(read: Read) -> str:
    if read.lock is LockMode.SHARE:
        return "read here with a shared lock, which does not stop a concurrent writer"
    return "locked here, outside the transaction that does the write"


def _is_cas(write: Write, context: RuleContext) -> bool:
    """A guarded write is TX108's business when unchecked, and safe when checked."""
    return bool(cas_guards(write, context.config))
