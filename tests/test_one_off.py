"""Tests and migrations are read for the index but not judged, unless `include-tests` (clarification 23)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import LOST_UPDATE, Project, Run
from txlint.project.one_off import is_one_off


@pytest.mark.parametrize(
    "path",
    [
        "tests/test_bank.py",
        "app/tests/helpers.py",
        "shop/test/factories.py",
        "test_bank.py",
        "app/bank_test.py",
        "conftest.py",
        "app/migrations/0001_initial.py",
        "app/migrations/0002.sql",
        "alembic/versions/4f2e_add_wallets.py",
        "db/migrations/versions/4f2e.py",
    ],
)
def test_tests_and_migrations_are_one_off(path: str) -> None:
    assert is_one_off(path)


@pytest.mark.parametrize("path", ["app/bank.py", "app/testing.py", "contest.py", "app/versions/v2.py", "latest/api.py", "testsuite.py"])
def test_application_code_is_not(path: str) -> None:
    assert not is_one_off(path)


UNIQUE_TICKET = """\
from django.db import models


class Ticket(models.Model):
    code = models.CharField(max_length=20, unique=True)
"""

ISSUE_TICKET = """\
from tests.models import Ticket


def issue(code):
    if not Ticket.objects.filter(code=code).exists():
        Ticket.objects.create(code=code)
"""


def test_a_race_in_a_test_is_not_reported_and_one_in_the_app_is(project: Project, run_txlint: Callable[..., Run]) -> None:
    project.write("app/bank.py", LOST_UPDATE)
    project.write("tests/test_bank.py", LOST_UPDATE)
    assert {path for _, path, _ in run_txlint("check", "--format", "json", ".").findings()} == {"app/bank.py"}


def test_include_tests_judges_them(project: Project, run_txlint: Callable[..., Run]) -> None:
    project.config("include-tests = true\n")
    project.write("app/bank.py", LOST_UPDATE)
    project.write("tests/test_bank.py", LOST_UPDATE)
    assert {path for _, path, _ in run_txlint("check", "--format", "json", ".").findings()} == {"app/bank.py", "tests/test_bank.py"}


def test_a_syntax_error_in_a_migration_is_still_reported(project: Project, run_txlint: Callable[..., Run]) -> None:
    project.write("app/migrations/0002_broken.py", "def up(:\n")
    assert run_txlint("check", "--format", "json", ".").findings() == [("TX000", "app/migrations/0002_broken.py", 1)]


def test_models_declared_under_tests_still_feed_the_index(project: Project, run_txlint: Callable[..., Run]) -> None:
    project.write("tests/models.py", UNIQUE_TICKET)
    project.write("app/tickets.py", ISSUE_TICKET)
    assert run_txlint("check", "--format", "json", ".").findings() == []  # the unique constraint refuses the duplicate
    project.write("tests/models.py", UNIQUE_TICKET.replace(", unique=True", ""))
    assert [code for code, _, _ in run_txlint("check", "--format", "json", ".").findings()] == ["TX102"]
