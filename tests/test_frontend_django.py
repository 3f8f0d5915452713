"""The Django recogniser's IR: what a rule gets to see for common shapes."""

from __future__ import annotations

from textwrap import dedent

from txlint.core.config import Config
from txlint.core.index import ProjectIndex
from txlint.core.ir import Change, Commit, Exit, Insert, LockMode, Read, Rollback, RowOrigin, Unit, ValueKind, Write
from txlint.frontends import python as python_frontend


def units(source: str, index: ProjectIndex | None = None) -> dict[str, Unit]:
    parsed = python_frontend.parse("example.py", dedent(source))
    assert isinstance(parsed, python_frontend.ParsedPython)
    index = index or ProjectIndex.build(parsed.table_decls())
    result = {u.name: u for u in python_frontend.analyse(parsed, index, Config()).units}
    for unit in result.values():  # these tests are about data ops; exits, block commits and changes in memory have tests of their own
        unit.ops = [op for op in unit.ops if not isinstance(op, (Exit, Commit, Rollback, Change))]
    return result


def test_locking_read_inside_atomic_under_an_import_alias() -> None:
    unit = units(
        """
        from django.db import transaction as tx
        def f(pk):
            with tx.atomic(using="default"):
                acct = Account.objects.select_for_update(nowait=True).get(pk=pk)
                acct.balance -= 1
                acct.save()
        """
    )["f"]
    read, write = unit.ops
    assert isinstance(read, Read) and read.lock is LockMode.EXCLUSIVE and read.tx == 0
    assert isinstance(write, Write) and write.tx == 0 and write.whole_row
    assert write.row is not None and write.row.origin is RowOrigin.READ and write.row.read == 0
    (assignment,) = write.assignments
    assert assignment.column == "balance" and assignment.value.kind is ValueKind.DERIVED


def test_a_local_function_named_atomic_opens_no_transaction() -> None:
    unit = units(
        """
        def atomic():
            pass
        def f(pk):
            with atomic():
                Account.objects.get(pk=pk)
        """
    )["f"]
    (read,) = unit.ops
    assert isinstance(read, Read) and read.tx is None


def test_decorator_and_refresh_from_db() -> None:
    unit = units(
        """
        from django.db.transaction import atomic
        @atomic
        def f(acct):
            acct.refresh_from_db()
        """
    )["f"]
    # an untyped parameter is not known to be a row: refresh of it is not recognised
    assert unit.ops == [] and unit.transactions


def test_refresh_is_an_unlocked_read_that_replaces_the_row() -> None:
    unit = units(
        """
        from django.db import transaction
        def f(pk):
            acct = Account.objects.get(pk=pk)
            with transaction.atomic():
                acct.refresh_from_db()
                acct.balance = acct.balance - 1
                acct.save(update_fields=["balance"])
        """
    )["f"]
    first, refresh, write = unit.ops
    assert isinstance(refresh, Read) and refresh.lock is None and refresh.tx == 0 and first.tx is None
    assert isinstance(write, Write) and write.row is not None and write.row.read == 1 and not write.whole_row


def test_lazy_queryset_is_not_a_read_until_evaluated() -> None:
    unit = units(
        """
        def f(ids):
            qs = Product.objects.select_for_update().filter(pk__in=ids)
            rows = list(qs)
        """
    )["f"]
    (read,) = unit.ops
    assert isinstance(read, Read) and read.lock is LockMode.EXCLUSIVE


def test_update_with_f_expression_is_an_in_database_delta() -> None:
    unit = units(
        """
        from django.db.models import F
        def f(pk, amount):
            return Account.objects.filter(pk=pk, balance__gte=amount).update(balance=F("balance") - amount)
        """
    )["f"]
    (write,) = unit.ops
    assert isinstance(write, Write) and write.result_checked
    (assignment,) = write.assignments
    assert assignment.value.kind is ValueKind.IN_DATABASE
    assert assignment.value.delta is not None and assignment.value.delta.column == "balance" and assignment.value.delta.sign == "-"
    assert [(g.column, g.op) for g in write.guards] == [("pk", "="), ("balance", ">=")]


def test_discarded_update_result_and_create() -> None:
    unit = units(
        """
        def f(pk):
            Order.objects.filter(pk=pk, status="pending").update(status="paid")
            Payment.objects.create(order_id=pk)
        """
    )["f"]
    write, insert = unit.ops
    assert isinstance(write, Write) and write.result_checked is False
    assert isinstance(insert, Insert) and insert.columns == ("order_id",)


def test_self_is_a_row_only_in_a_model_method() -> None:
    method = """
            def allocate(self, qty):
                self.allocated += qty
                self.save()
    """
    model = units("from django.db import models\nclass Stock(models.Model):\n" + dedent(method).replace("\n", "\n    ").rstrip() + "\n")
    plain = units("class Stock:\n" + dedent(method).replace("\n", "\n    ").rstrip() + "\n")
    (write,) = model["allocate"].ops
    assert isinstance(write, Write) and write.row is not None and write.row.origin is RowOrigin.PARAMETER
    assert plain["allocate"].ops == []


def test_model_subclass_through_project_base() -> None:
    source = """
        from django.db import models
        class Base(models.Model):
            pass
        class Stock(Base):
            def allocate(self, qty):
                self.allocated += qty
                self.save()
        """
    (write,) = units(source)["allocate"].ops
    assert isinstance(write, Write) and write.row is not None and write.row.origin is RowOrigin.PARAMETER


def test_an_import_inside_the_function_is_resolved() -> None:
    unit = units(
        """
        def f(pk):
            from django.db import transaction
            with transaction.atomic():
                Account.objects.select_for_update().get(pk=pk)
        """
    )["f"]
    (read,) = unit.ops
    assert isinstance(read, Read) and read.tx == 0


def test_a_field_assigned_then_saved_is_still_the_assigned_value() -> None:
    unit = units(
        """
        def f(pk, text):
            invoice = Invoice.objects.get(pk=pk)
            invoice.note = text
            invoice.save()
            invoice.note += "!"
            invoice.save()
        """
    )["f"]
    last = unit.ops[-1]
    assert isinstance(last, Write)
    (assignment,) = last.assignments
    assert not any(d.column == "note" and d.row.read == 0 for d in assignment.value.depends_on)


def test_a_binding_in_one_branch_is_not_seen_by_the_other() -> None:
    unit = units(
        """
        from django.db import transaction
        def f(pk, flag):
            order = Order.objects.get(pk=pk)
            if flag:
                with transaction.atomic():
                    order = Order.objects.select_for_update().get(pk=pk)
            else:
                order.total = order.total + 1
                order.save()
        """
    )["f"]
    write = unit.ops[-1]
    assert isinstance(write, Write) and write.row is not None and write.row.read == 0
