"""TX107 value-cas: an optimistic UPDATE that compares the old value instead of a version (ABA)."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.index import normalise_column
from txlint.core.ir import Guard, Op, RowOrigin, Unit, ValueKind, Write
from txlint.core.queries import is_foreign_key, is_row_value, is_state_column, is_version_column, not_a_cas, written_columns
from txlint.core.rule import Report, Rule, RuleContext, RuleDoc


class ValueCas(Rule):
    code = "TX107"
    name = "value-cas"
    severity = Severity.WARNING
    triggers = (Write,)  # at run time: judged when a trace sees one
    summary = "A compare-and-swap UPDATE guards on the old value of the column it writes instead of a version."
    doc = RuleDoc(
        what_it_does=(
            "Finds an UPDATE whose WHERE compares a column it writes with the value read earlier "
            "(`WHERE balance = <old balance>`), when that column is not monotonic and no version column "
            "is compared too."
        ),
        why_is_this_bad=(
            "Between the read and the write the value can go 100 → 40 → 100 (ABA): the comparison "
            "still succeeds and the stale computation overwrites the two updates in between."
        ),
        example=(
            "cur.execute(\"SELECT balance FROM accounts WHERE id = %s\", (pk,))\n"
            "(old,) = cur.fetchone()\n"
            "cur.execute(\"UPDATE accounts SET balance = %s WHERE id = %s AND balance = %s\", (old - x, pk, old))\n"
        ),
        use_instead=(
            "cur.execute(\"SELECT balance, version FROM accounts WHERE id = %s\", (pk,))\n"
            "old, version = cur.fetchone()\n"
            "cur.execute(\n"
            "    \"UPDATE accounts SET balance = %s, version = version + 1 WHERE id = %s AND version = %s\",\n"
            "    (old - x, pk, version),\n"
            ")\n"
        ),
        known_problems=(
            "Date and time columns are known from Django's date and time fields, else from their names "
            "(`expires_at`, `valid_until`); the column types of SQLAlchemy models and SQL DDL are not read "
            "for this, so a date column of such a table named otherwise is still judged as a value. "
            "Rows moved from one row to another (`filter(condition=dup).update(condition=kept)`) are "
            "recognised as a reference re-pointed when both values are rows (model instances); when the "
            "values are ids (`condition_id=dup.id`) of a foreign key the project does not declare (a "
            "library's base model), the column is still judged as a value."
        ),
    )
    INVALID = [
        (
            "def debit(conn, pk, x):\n"
            "    cur = conn.cursor()\n"
            "    cur.execute('SELECT balance FROM accounts WHERE id = %s', (pk,))\n"
            "    (old,) = cur.fetchone()\n"
            "    cur.execute('UPDATE accounts SET balance = %s WHERE id = %s AND balance = %s', (old - x, pk, old))  # error\n"
            "    if cur.rowcount != 1:\n"
            "        raise RuntimeError\n"
        ),
        "BEGIN;\nUPDATE wallets SET balance = 40.00 WHERE id = 7 AND balance = 100.00;  -- error\nCOMMIT;\n",
    ]
    VALID = [
        # Near miss: a foreign key detached (or re-pointed) through a related manager is a reference, not a
        # value that can come back (clarification 20).
        (
            "from django.db import models\n"
            "class Basket(models.Model):\n"
            "    owner = models.CharField(max_length=20)\n"
            "class Answer(models.Model):\n"
            "    basket = models.ForeignKey(Basket, null=True, on_delete=models.SET_NULL, related_name='answers')\n"
            "def close(basket_id, order):\n"
            "    basket = Basket.objects.get(pk=basket_id)\n"
            "    basket.answers.update(basket=None)\n"
        ),
        # Near miss: rows moved from a duplicate to the row kept: both values are rows, so the column is
        # a reference even where a library's base model declares it.
        (
            "def merge(name):\n"
            "    conditions = Condition.objects.filter(name=name)\n"
            "    kept = conditions.first()\n"
            "    for duplicate in conditions.exclude(pk=kept.pk):\n"
            "        Offer.objects.filter(condition=duplicate).update(condition=kept)\n"
        ),
        # Near miss: a date compared with the one read (clarification 20): time does not go back and forth.
        (
            "from django.db import models\n"
            "class Token(models.Model):\n"
            "    expires_at = models.DateTimeField()\n"
            "def extend(pk, until):\n"
            "    token = Token.objects.get(pk=pk)\n"
            "    return Token.objects.filter(pk=pk, expires_at=token.expires_at).update(expires_at=until)\n"
        ),
        # Near miss: a version column is compared as well.
        "BEGIN;\nUPDATE wallets SET balance = 40.00, version = version + 1 WHERE id = 7 AND balance = 100.00 AND version = 3;\nCOMMIT;\n",
        # Near miss: a state machine compared with a literal state.
        "BEGIN;\nUPDATE orders SET status = 'paid' WHERE id = 7 AND status = 'pending';\nCOMMIT;\n",
        # Near miss: an attribute of a parameter is not a value read from the row.
        (
            "def touch(session, family):\n"
            "    return session.query(Rebuild).filter(Rebuild.id == 1, Rebuild.family == family.value).update({Rebuild.family: family.value})\n"
        ),
        # Near miss: the guard is a parameter, not a value read here.
        (
            "def set_if(conn, pk, expected, new):\n"
            "    cur = conn.cursor()\n"
            "    cur.execute('UPDATE accounts SET nickname = %s WHERE id = %s AND nickname = %s', (new, pk, expected))\n"
            "    return cur.rowcount\n"
        ),
    ]

    @classmethod
    def triggered_by(cls, op: Op) -> bool:
        """A write whose condition compares a column with a value the trace linked to a read."""
        return isinstance(op, Write) and any(g.value.kind is ValueKind.DERIVED for g in op.guards)

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        index = context.index
        monotonic = {c.lower() for c in context.config.monotonic_columns}
        for op in unit.ops:
            if not isinstance(op, Write) or not op.guards:
                continue
            version = index.version_column(op.table)
            if any(is_version_column(g.column, context.config, version) for g in op.guards):
                continue
            written = written_columns(op)
            for guard in op.guards:
                column = normalise_column(guard.column)
                if guard.op != "=" or column not in written or is_state_column(guard.column):
                    continue
                if column in monotonic or f"{op.table}.{guard.column}".lower() in monotonic:
                    continue
                if is_foreign_key(op.table, guard.column, index) or not_a_cas(op, guard, index) or _repointed(op, guard):
                    continue  # a reference re-pointed or detached, a date, a kept minimum: no ABA to fear (clarification 20)
                if guard.value.kind is ValueKind.DERIVED and any(d.row.origin is RowOrigin.READ for d in guard.value.depends_on):
                    yield Report.about(op, f"`{op.table}.{guard.column}` is compared with its old value (ABA): compare a version column instead")
                    break


def _repointed(write: Write, guard: Guard) -> bool:
    """Rows moved from one row to another (`filter(condition=dup).update(condition=kept)`): both the
    value compared and the value written are rows, so the column is a reference, declared or not
    (a library's base model declares it); a reference has no value to suffer ABA."""
    column = normalise_column(guard.column)
    return is_row_value(guard.value) and any(normalise_column(a.column) == column and is_row_value(a.value) for a in write.assignments)
