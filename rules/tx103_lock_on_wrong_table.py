"""TX103 lock-on-wrong-table: the transaction locks a table, but not the one it decides on."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.index import normalise_column
from txlint.core.ir import Read, RowOrigin, Unit, ValueKind, Write
from txlint.core.rule import RelatedSpan, Report, Rule, RuleContext, RuleDoc


class LockOnWrongTable(Rule):
    code = "TX103"
    name = "lock-on-wrong-table"
    severity = Severity.ERROR
    triggers = (Write,)  # at run time: judged when a trace sees one
    summary = "The transaction takes row locks, but only on tables other than the one it reads, decides on and writes."
    doc = RuleDoc(
        what_it_does=(
            "Per transaction, finds the core tables — those read and then written back, or checked and "
            "then changed, plus the config's `core-tables` — and the tables it locks. When it locks "
            "something, but no core table (nor a parent named in `lock-parents`), the lock is reported. "
            "Tables the transaction only inserts into (logs, records) are never core."
        ),
        why_is_this_bad=(
            "A lock on a log or record table does not serialise the writers of the core table: two "
            "requests each lock their own (or no) log row and both charge the wallet. The code looks "
            "protected and is not."
        ),
        example=(
            "with transaction.atomic():\n"
            "    seen = RoomAction.objects.select_for_update().filter(user_id=u, appointment_id=a).exists()\n"
            "    if not seen:\n"
            "        wallet = Wallet.objects.get(user_id=u)\n"
            "        wallet.coupons -= 1\n"
            "        wallet.save()\n"
            "    RoomAction.objects.create(user_id=u, appointment_id=a)\n"
        ),
        use_instead=(
            "with transaction.atomic():\n"
            "    appt = Appointment.objects.select_for_update().get(pk=a)\n"
            "    if not appt.is_charged:\n"
            "        Wallet.objects.filter(user_id=u, coupons__gte=1).update(coupons=F(\"coupons\") - 1)\n"
            "        appt.is_charged = True\n"
            "        appt.save(update_fields=[\"is_charged\"])\n"
        ),
    )
    INVALID = [
        (
            "from django.db import transaction\n"
            "def enter(u, a):\n"
            "    with transaction.atomic():\n"
            "        seen = RoomAction.objects.select_for_update().filter(user_id=u, appointment_id=a).exists()  # error\n"
            "        if not seen:\n"
            "            wallet = Wallet.objects.get(user_id=u)\n"
            "            wallet.coupons -= 1\n"
            "            wallet.save()\n"
            "        RoomAction.objects.create(user_id=u, appointment_id=a)\n"
        ),
    ]
    VALID = [
        # Near miss: the core row is the one locked.
        (
            "from django.db import transaction\n"
            "def enter(u, a):\n"
            "    with transaction.atomic():\n"
            "        wallet = Wallet.objects.select_for_update().get(user_id=u)\n"
            "        wallet.coupons -= 1\n"
            "        wallet.save()\n"
            "        RoomAction.objects.create(user_id=u, appointment_id=a)\n"
        ),
        # Near miss: one core table locked, another not: that is TX101 on the other, not TX103.
        (
            "from django.db import transaction\n"
            "def move(a, b):\n"
            "    with transaction.atomic():\n"
            "        src = Wallet.objects.select_for_update().get(pk=a)\n"
            "        dst = Wallet.objects.get(pk=b)\n"
            "        src.coupons -= 1\n"
            "        dst.coupons += 1\n"
            "        src.save()\n"
            "        dst.save()\n"
        ),
        # Near miss: a lock and only inserts: nothing is decided on unlocked state.
        (
            "from django.db import transaction\n"
            "def log(u):\n"
            "    with transaction.atomic():\n"
            "        user = User.objects.select_for_update().get(pk=u)\n"
            "        AuditLog.objects.create(user_id=u)\n"
        ),
    ]

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        parents = {child.lower(): parent.lower() for child, parent in context.config.lock_parents.items()}
        for tx in {op.tx for op in unit.ops if op.tx is not None}:
            locks = [op for op in unit.ops if isinstance(op, Read) and op.tx == tx and op.lock is not None and op.evaluated]
            if not locks or any(op.advisory for op in locks):
                continue  # an advisory lock serialises by key: it is not a lock on some other table
            core = _core_tables(unit, tx, {t.lower() for t in context.config.core_tables})
            if not core:
                continue
            locked = {op.table.lower() for op in locks}
            if any(table in locked or parents.get(table) in locked for table in core):
                continue
            _table, write = next(iter(core.items()))
            yield Report.about(
                locks[0],
                f"the transaction locks `{locks[0].table}` but decides on and writes `{write.table}`, which no lock covers",
                (RelatedSpan.about(write, f"`{write.table}` is written here"),),
            )


def _core_tables(unit: Unit, tx: int, configured: set[str]) -> dict[str, Write]:
    """Tables a transaction reads-and-writes-back or checks-then-changes (updated, not only inserted into)."""
    core: dict[str, Write] = {}
    for op in unit.ops:
        if not isinstance(op, Write) or op.tx != tx:
            continue
        table = op.table.lower()
        if table in configured or _read_modify_write(unit, op) or _decided_on(unit, op):
            core.setdefault(table, op)
    return core


def _read_modify_write(unit: Unit, write: Write) -> bool:
    for assignment in write.assignments:
        if assignment.value.kind is not ValueKind.DERIVED:
            continue
        for dep in assignment.value.depends_on:
            read = unit.read_at(dep.row.read) if dep.row.origin is RowOrigin.READ else None
            if read is not None and read.table == write.table and dep.column and normalise_column(dep.column) == normalise_column(assignment.column):
                return True
    return False


def _decided_on(unit: Unit, write: Write) -> bool:
    written = {normalise_column(a.column) for a in write.assignments}
    for condition in write.conditions:
        for dep in condition.depends_on:
            read = unit.read_at(dep.row.read) if dep.row.origin is RowOrigin.READ else None
            if read is not None and read.table == write.table and dep.column and normalise_column(dep.column) in written:
                return True
    return False
