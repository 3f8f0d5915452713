"""The Django source (skipped when Django is not installed: it is not a dependency of txlint)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

django = pytest.importorskip("django")

from runtime_support import line_of  # noqa: E402


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from django.conf import settings

    if settings.configured:
        pytest.skip("Django settings are already configured by something else in this process")
    settings.configure(
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path_factory.mktemp("django") / "shop.db")}},
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()
    from django.db import connection
    from django.db import models as m

    class Account(m.Model):
        balance = m.IntegerField()
        name = m.CharField(max_length=20, default="")

        class Meta:
            app_label = "txlshop"

    class Order(m.Model):
        status = m.CharField(max_length=20)

        class Meta:
            app_label = "txlshop"

    class Shipment(m.Model):
        order_id = m.IntegerField()

        class Meta:
            app_label = "txlshop"

    with connection.schema_editor() as editor:
        for model in (Account, Order, Shipment):
            editor.create_model(model)
    return Account, Order, Shipment


@pytest.fixture
def shop(models: Any) -> Any:
    Account, Order, Shipment = models  # noqa: N806
    Account.objects.all().delete()
    Order.objects.all().delete()
    Shipment.objects.all().delete()
    Account.objects.create(id=1, balance=100)
    Order.objects.create(id=1, status="paid")
    return models


def codes(monitor: Any) -> list[str]:
    return sorted(f.code for f in monitor.findings)


def test_watch_attaches_once_and_close_detaches(shop: Any) -> None:
    from django.db import connection
    from django.db.backends.signals import connection_created

    from txlint.runtime.django import watch

    before = len(connection.execute_wrappers)
    receivers = len(connection_created.receivers)
    monitor = watch(mode="collect")
    monitor.install()
    assert len(connection.execute_wrappers) == before + 1 and len(connection_created.receivers) == receivers + 1
    monitor.close()
    assert len(connection.execute_wrappers) == before and len(connection_created.receivers) == receivers
    assert not monitor.installed()


def test_lost_update_in_atomic_is_tx101_at_the_save(shop: Any) -> None:
    from django.db import transaction

    from txlint.runtime.django import watch

    Account = shop[0]  # noqa: N806

    def withdraw() -> None:
        with transaction.atomic():
            account = Account.objects.get(pk=1)
            account.balance -= 10
            account.save()  # <- TX101

    with watch(mode="collect") as monitor:
        withdraw()
    assert [(f.code, f.line) for f in monitor.findings] == [("TX101", line_of(withdraw, "<- TX101"))]
    assert all("%s" in r.message for r in monitor.findings[0].related)


def test_database_decrement_with_a_bound_is_only_tx105(shop: Any) -> None:
    from django.db import transaction
    from django.db.models import F

    from txlint.runtime.django import watch

    Account = shop[0]  # noqa: N806
    with watch(mode="collect") as monitor:
        with transaction.atomic():
            assert Account.objects.filter(pk=1, balance__gte=10).update(balance=F("balance") - 10) == 1
    assert codes(monitor) == ["TX105"]


def test_cas_that_lost_then_writes_and_commits_is_tx108(shop: Any) -> None:
    from django.db import transaction

    from txlint.runtime.django import watch

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

    from txlint.runtime.django import watch

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
    from txlint.runtime.django import watch

    Account = shop[0]  # noqa: N806

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug in txlint")

    with watch(mode="raise") as monitor:
        monitor.analyser.execute = broken  # type: ignore[method-assign]
        assert Account.objects.get(pk=1).balance == 100
    assert monitor.errors == 1


def test_module_path_is_shown_relative(shop: Any) -> None:
    from django.db import transaction

    from txlint.runtime.django import watch

    Account = shop[0]  # noqa: N806
    with watch(mode="collect") as monitor, transaction.atomic():
        account = Account.objects.get(pk=1)
        account.balance += 5
        account.save()
    assert Path(monitor.findings[0].path).name == Path(__file__).name
