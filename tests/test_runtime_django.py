"""The Django source (skipped when Django is not installed: it is not a dependency of txlint)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

django = pytest.importorskip("django")

from runtime_support import django_shop, line_of  # noqa: E402


@pytest.fixture
def shop() -> Any:
    return django_shop()


def codes(monitor: Any) -> list[str]:
    return sorted(f.code for f in monitor.findings)


def test_watch_attaches_once_and_close_detaches(shop: Any) -> None:
    from django.db import connection, connections
    from django.db.backends.signals import connection_created

    from txlint.runtime.sources.django_connections import watch

    before = len(connection.execute_wrappers)
    receivers = len(connection_created.receivers)
    monitor = watch(mode="collect")
    monitor.install()
    assert len(connection.execute_wrappers) == before + 1 and len(connection_created.receivers) == receivers + 1
    assert {"commit", "rollback", "close"} <= set(vars(connections["default"]))  # the transaction boundaries, on this object only
    monitor.close()
    assert len(connection.execute_wrappers) == before and len(connection_created.receivers) == receivers
    assert not {"commit", "rollback", "close"} & set(vars(connections["default"]))
    assert not monitor.installed()


def test_lost_update_in_atomic_is_tx101_at_the_assignment_sent_by_the_save(shop: Any) -> None:
    from django.db import transaction

    from txlint.runtime.sources.django_connections import watch

    Account = shop[0]  # noqa: N806

    def withdraw() -> None:
        with transaction.atomic():
            account = Account.objects.get(pk=1)
            account.balance -= 10  # <- TX101
            account.save()  # <- sent

    with watch(mode="collect") as monitor:
        withdraw()
    assert [(f.code, f.line) for f in monitor.findings] == [("TX101", line_of(withdraw, "<- TX101"))]
    assert all("%s" in r.message for r in monitor.findings[0].related)
    assert next((r.line, r.message.split(":")[0]) for r in monitor.findings[0].related) == (line_of(withdraw, "<- sent"), "sent to the database here")


def test_select_for_update_is_a_lock_even_where_the_backend_drops_it(shop: Any) -> None:
    from django.db import connection, transaction

    from txlint.runtime.sources.django_connections import watch

    Account = shop[0]  # noqa: N806
    assert not connection.features.has_select_for_update  # SQLite: no FOR UPDATE in the SQL

    def withdraw() -> None:
        with transaction.atomic():
            account = Account.objects.select_for_update().get(pk=1)
            account.balance -= 10
            account.save()

    with watch(mode="collect") as monitor:
        withdraw()
    assert monitor.findings == []


def test_database_decrement_with_a_bound_is_only_tx105(shop: Any) -> None:
    from django.db import transaction
    from django.db.models import F

    from txlint.runtime.sources.django_connections import watch

    Account = shop[0]  # noqa: N806
    with watch(mode="collect") as monitor:
        with transaction.atomic():
            assert Account.objects.filter(pk=1, balance__gte=10).update(balance=F("balance") - 10) == 1
    assert codes(monitor) == ["TX105"]


def test_decrement_gated_by_a_status_transition_of_its_transaction_is_not_tx105(shop: Any) -> None:
    from django.db import transaction
    from django.db.models import F

    from txlint.runtime.sources.django_connections import watch

    Account, Order, _ = shop  # noqa: N806

    def pay(order_id: int) -> bool:
        with transaction.atomic():
            if not Order.objects.filter(pk=order_id, status="pending").update(status="paid"):
                return False  # a retry stops here: the order has moved on
            Account.objects.filter(pk=1, balance__gte=10).update(balance=F("balance") - 10)
            return True

    def pay_ungated() -> None:
        with transaction.atomic():
            Order.objects.filter(pk=1).update(status="paying")  # no transition (no condition): nothing gates the debit
            Account.objects.filter(pk=1, balance__gte=10).update(balance=F("balance") - 10)

    Order.objects.create(id=2, status="pending")
    with watch(mode="collect") as monitor:
        assert pay(2) is True
        assert pay(2) is False  # the retry
    assert monitor.findings == []
    with watch(mode="collect") as monitor:
        pay_ungated()
    assert codes(monitor) == ["TX105"]


def test_cas_that_lost_then_writes_and_commits_is_tx108(shop: Any) -> None:
    from django.db import transaction

    from txlint.runtime.sources.django_connections import watch

    _, Order, Shipment = shop  # noqa: N806

    def ship() -> None:
        with transaction.atomic():
            Order.objects.filter(pk=1, status="pending").update(status="shipped")  # <- TX108
            Shipment.objects.create(order_id=1)

    def ship_and_fail() -> None:
        with transaction.atomic():
            Order.objects.filter(pk=1, status="pending").update(status="shipped")
            Shipment.objects.create(order_id=1)
            raise RuntimeError("payment failed")

    with watch(mode="collect") as monitor:
        with pytest.raises(RuntimeError):
            ship_and_fail()
        assert monitor.findings == []  # rolled back: nothing went on
        ship()
    assert [(f.code, f.line) for f in monitor.findings] == [("TX108", line_of(ship, "<- TX108"))]


def test_connections_of_other_threads_are_watched(shop: Any) -> None:
    from django.db import connection, transaction

    from txlint.runtime.sources.django_connections import watch

    Account = shop[0]  # noqa: N806

    def withdraw() -> None:
        try:
            with transaction.atomic():
                account = Account.objects.get(pk=1)
                account.balance -= 10
                account.save()
        finally:
            connection.close()

    with watch(mode="collect") as monitor:
        thread = threading.Thread(target=withdraw)
        thread.start()
        thread.join()
    assert codes(monitor) == ["TX101"] and monitor.errors == 0


def test_errors_are_contained(shop: Any) -> None:
    from txlint.runtime.sources.django_connections import watch

    Account = shop[0]  # noqa: N806

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug in txlint")

    with watch(mode="raise") as monitor:
        monitor.analyser.execute = broken  # type: ignore[method-assign]
        assert Account.objects.get(pk=1).balance == 100
    assert monitor.errors == 1


def test_module_path_is_shown_relative(shop: Any) -> None:
    from django.db import transaction

    from txlint.runtime.sources.django_connections import watch

    Account = shop[0]  # noqa: N806
    with watch(mode="collect", read_source=False) as monitor, transaction.atomic():  # a model taken from a tuple: no source shows it
        account = Account.objects.get(pk=1)
        account.balance += 5
        account.save()
    assert Path(monitor.findings[0].path).name == Path(__file__).name


# -- TX104: writes left uncommitted when the connection closes --------------------------------------


def test_manual_transaction_closed_without_commit_is_tx104_and_the_write_is_lost(shop: Any) -> None:
    from django.db import connection, transaction
    from django.db.models import F

    from txlint.runtime.sources.django_connections import watch

    Account = shop[0]  # noqa: N806

    def pay(commit: bool) -> None:
        transaction.set_autocommit(False)
        Account.objects.filter(pk=1).update(balance=F("balance") + 5)  # <- write
        if commit:
            transaction.commit()
            transaction.set_autocommit(True)

    def end_of_request() -> None:
        connection.close()  # <- TX104 (what Django does when a request ends)

    with watch(mode="collect") as monitor:
        pay(commit=True)
        end_of_request()
        assert monitor.findings == []
        pay(commit=False)
        end_of_request()
    [finding] = monitor.findings
    assert (finding.code, finding.line) == ("TX104", line_of(end_of_request, "<- TX104"))
    assert finding.related[0].line == line_of(pay, "<- write")
    assert Account.objects.get(pk=1).balance == 105  # the second payment really was thrown away


def test_close_inside_atomic_is_tx104(shop: Any) -> None:
    from django.db import connection, transaction

    from txlint.runtime.sources.django_connections import watch

    Account = shop[0]  # noqa: N806

    def pay() -> None:
        with transaction.atomic():
            Account.objects.filter(pk=1).update(name="paid")
            connection.close()  # <- TX104

    with watch(mode="collect") as monitor:
        pay()
    assert [(f.code, f.line) for f in monitor.findings] == [("TX104", line_of(pay, "<- TX104"))]
    assert Account.objects.get(pk=1).name == ""


def test_atomic_blocks_and_autocommit_writes_are_not_tx104(shop: Any) -> None:
    from django.db import connection, transaction

    from txlint.runtime.sources.django_connections import watch

    Account = shop[0]  # noqa: N806
    with watch(mode="collect") as monitor:
        Account.objects.filter(pk=1).update(name="autocommit")
        connection.close()
        with transaction.atomic():
            Account.objects.filter(pk=1).update(name="committed")
        connection.close()
        with pytest.raises(RuntimeError), transaction.atomic():
            Account.objects.filter(pk=1).update(name="rolled back")
            raise RuntimeError("payment failed")
        connection.close()
        transaction.set_autocommit(False)
        Account.objects.filter(pk=1).update(name="manual, rolled back")
        transaction.rollback()
        transaction.set_autocommit(True)
        connection.close()
    assert monitor.findings == [] and monitor.errors == 0
    assert Account.objects.get(pk=1).name == "committed"


def test_raise_mode_reports_tx104_after_the_connection_is_closed(shop: Any) -> None:
    from django.db import connection, transaction

    from txlint.runtime import TransactionSafetyError
    from txlint.runtime.sources.django_connections import watch

    Account = shop[0]  # noqa: N806
    with watch(mode="raise"):
        transaction.set_autocommit(False)
        Account.objects.filter(pk=1).update(name="lost")
        with pytest.raises(TransactionSafetyError, match="TX104"):
            connection.close()
        assert connection.connection is None  # closed all the same


def test_a_read_of_an_earlier_request_is_not_behind_the_next_request_s_write(shop: Any) -> None:
    """Django's test client runs a test's requests on one connection, often in the test's own
    transaction: the second request's write is not computed from the first one's read."""
    from django.core.signals import request_started
    from django.db import close_old_connections, transaction

    from txlint.runtime.sources.django_connections import watch

    Account = shop[0]  # noqa: N806
    request_started.disconnect(close_old_connections)  # as Django's test client does while it runs a request

    def view_shows() -> int:
        return int(Account.objects.get(pk=1).balance)

    def view_sets() -> None:
        Account.objects.filter(pk=1).update(balance=70)

    def view_withdraws() -> None:
        account = Account.objects.get(pk=1)
        account.balance -= 10
        account.save()  # <- TX101 (by values alone no source shows the assignment)

    try:  # by values alone (no source read): only the request count keeps the first read out
        with watch(mode="collect", read_source=False) as monitor, transaction.atomic():
            request_started.send(sender=None)
            view_shows()
            request_started.send(sender=None)
            view_sets()
            request_started.send(sender=None)
            view_withdraws()
    finally:
        request_started.connect(close_old_connections)
    assert [(f.code, f.line) for f in monitor.findings] == [("TX101", line_of(view_withdraws, "<- TX101"))]


def test_a_row_read_by_one_key_and_saved_by_its_primary_key_is_one_row(shop: Any) -> None:
    """`get(code=...)` then `save()` (`WHERE id = %s`): the row the read returned links them."""
    from django.db import transaction

    from txlint.runtime.sources.django_connections import watch

    _, Order, _ = shop  # noqa: N806

    def pay() -> None:
        with transaction.atomic():
            order = Order.objects.get(status="paid")
            order.status = order.status + "-shipped"  # <- TX101
            order.save()

    def relabel() -> None:
        with transaction.atomic():
            order = Order.objects.get(status="paid-shipped")
            order.status = "archived"
            order.save()

    with watch(mode="collect", read_source=False) as by_values:
        pay()
    assert by_values.findings == []  # text: by values alone nothing is linked
    Order.objects.filter(pk=1).update(status="paid")
    with watch(mode="collect") as monitor:
        pay()
        relabel()
    assert [(f.code, f.line) for f in monitor.findings] == [("TX101", line_of(pay, "<- TX101"))]
    from django.db.models import Model

    assert "from_db" in Model.__dict__ and Model.__dict__["from_db"].__func__.__module__ == "django.db.models.base"  # put back


def test_a_row_locked_by_one_key_and_saved_by_its_primary_key_is_protected(shop: Any) -> None:
    from django.db import transaction

    from txlint.runtime.sources.django_connections import watch

    Order = shop[1]  # noqa: N806

    def pay() -> None:
        shown = Order.objects.get(status="paid")  # what the page showed, unlocked
        with transaction.atomic():
            order = Order.objects.select_for_update().get(status=shown.status)
            order.status = order.status + "-shipped"
            order.save()

    with watch(mode="collect") as monitor:
        pay()
    assert monitor.findings == []


def test_loaded_rows_are_followed_whatever_arguments_django_passes_to_from_db(shop: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Django 6.1 calls `from_db(..., fetch_mode=...)`: the wrapper forwards what it is given."""
    from txlint.runtime.sources import django_loads
    from txlint.runtime.sources.django_connections import watch

    Account = shop[0]  # noqa: N806
    seen: dict[str, Any] = {}

    def newer_from_db(cls: Any, db: str, field_names: Any, values: Any, *, fetch_mode: Any = None) -> Any:
        seen["fetch_mode"] = fetch_mode
        return "instance"

    with watch(mode="collect"):
        with monkeypatch.context() as patched:
            patched.setattr(django_loads, "_original", classmethod(newer_from_db))
            assert Account.from_db("default", ["id", "balance"], [1, 100], fetch_mode="lazy") == "instance"
    assert seen == {"fetch_mode": "lazy"}
