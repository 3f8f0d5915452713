"""`lock-functions`: the project's own lock helpers lock what they are given (a row, or a key)."""

from __future__ import annotations

from collections.abc import Callable

from conftest import Project, Run

MODELS = """\
from django.db import models


class Account(models.Model):
    balance = models.IntegerField()

    def lock(self):
        Account.objects.select_for_update().filter(pk=self.pk).exists()


class Order(models.Model):
    reference = models.CharField(max_length=40)
"""

LOCKS = """\
from django.db import connection


def lock_account(account):
    Account.objects.select_for_update().filter(pk=account.pk).exists()


def take_lock(key):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])
"""

SERVICES = """\
from django.db import transaction

from shop.locks import lock_account, take_lock
from shop.models import Account, Order


def withdraw(account_id, amount):
    with transaction.atomic():
        account = Account.objects.get(pk=account_id)
        lock_account(account)
        account.balance -= amount
        account.save()


def withdraw_locking_itself(account_id, amount):
    with transaction.atomic():
        account = Account.objects.get(pk=account_id)
        account.lock()
        account.balance -= amount
        account.save()


def withdraw_unlocked(account_id, amount):
    with transaction.atomic():
        account = Account.objects.get(pk=account_id)
        account.balance -= amount
        account.save()


def place(reference):
    with transaction.atomic():
        take_lock(f"order:{reference}")
        if not Order.objects.filter(reference=reference).exists():
            Order.objects.create(reference=reference)


def place_unlocked(reference):
    with transaction.atomic():
        if not Order.objects.filter(reference=reference).exists():
            Order.objects.create(reference=reference)
"""


def shop(project: Project, functions: list[str]) -> None:
    listed = ", ".join(f'"{name}"' for name in functions)
    project.config(f"lock-functions = [{listed}]\n")
    project.write("shop/__init__.py", "")
    project.write("shop/models.py", MODELS)
    project.write("shop/locks.py", LOCKS)
    project.write("shop/services.py", SERVICES)


def by_function(run: Run) -> dict[int, str]:
    return {line: code for code, path, line in run.findings() if path.endswith("services.py")}


def reported_lines(run: Run) -> set[int]:
    return set(by_function(run))


def test_without_the_setting_every_helper_is_unknown(project: Project, run_txlint: Callable[..., Run]) -> None:
    shop(project, [])
    found = by_function(run_txlint("check", "--format", "json", "--no-cache", "shop"))
    assert sorted(found.values()) == ["TX101", "TX101", "TX101", "TX102", "TX102"]


def test_a_configured_function_locks_the_row_it_is_given_and_the_key_it_is_given(
    project: Project, run_txlint: Callable[..., Run]
) -> None:
    shop(project, ["shop.locks.lock_account", "shop.locks.take_lock", "shop.models.Account.lock"])
    found = by_function(run_txlint("check", "--format", "json", "--no-cache", "shop"))
    lines = SERVICES.splitlines()
    assert sorted(found.values()) == ["TX101", "TX102"]  # the unlocked twins only
    reported = {lines[line - 1].strip() for line in found}
    assert reported == {"account.save()", "Order.objects.create(reference=reference)"}
    unlocked_save = next(n for n, text in enumerate(lines, 1) if "def withdraw_unlocked" in text) + 4
    assert unlocked_save in found


def test_a_name_matches_through_a_relative_import_and_in_its_own_module(project: Project, run_txlint: Callable[..., Run]) -> None:
    shop(project, ["shop.locks.lock_account", "shop.locks.take_lock"])
    project.write("shop/services.py", SERVICES.replace("from shop.locks import", "from .locks import"))
    relative = by_function(run_txlint("check", "--format", "json", "--no-cache", "shop"))
    assert sorted(relative.values()) == ["TX101", "TX101", "TX102"]  # `account.lock()` is not configured here
    project.write("shop/services.py", "")
    project.write("shop/locks.py", SERVICES.replace("from shop.locks import lock_account, take_lock\n", "") + "\n\n" + LOCKS.split("\n\n\n", 1)[1])
    local = run_txlint("check", "--format", "json", "--no-cache", "shop").codes()
    assert sorted(local) == ["TX101", "TX101", "TX102"]


def test_a_function_of_the_same_name_elsewhere_is_not_the_configured_one(project: Project, run_txlint: Callable[..., Run]) -> None:
    shop(project, ["billing.locks.lock_account"])
    found = by_function(run_txlint("check", "--format", "json", "--no-cache", "shop"))
    assert sorted(found.values()) == ["TX101", "TX101", "TX101", "TX102", "TX102"]
