"""A file that only declares models is parsed as a skeleton: same declarations, far less text."""

from __future__ import annotations

import ast

import libcst as cst

from txlint.frontends import python as python_frontend
from txlint.frontends.python.imports import ImportTable
from txlint.frontends.python.positions import LazyPositions
from txlint.frontends.python.skeleton import declaration_skeleton

MODELS = '''\
"""Models."""
from django.db import models


def helper(x):
    return x * 2


class Account(models.Model):
    """An account."""

    balance = models.PositiveIntegerField(default=0)
    owner = models.ForeignKey("auth.User", on_delete=models.CASCADE, unique=True)

    class Meta:
        db_table = "bank_account"
        unique_together = [("owner", "balance")]

    @property
    @staticmethod
    def doubled(self):
        return helper(
            self.balance
        )

    async def refresh(self):
        pass

    label = models.CharField(max_length=10)
'''


def _full_decls(path: str, text: str) -> list:  # type: ignore[type-arg]
    module = cst.parse_module(text)
    return python_frontend.ParsedPython(path, module, ImportTable.of_module(module), LazyPositions(module)).table_decls()


def test_the_skeleton_drops_code_and_keeps_declarations() -> None:
    skeleton = declaration_skeleton(MODELS, ast.parse(MODELS))
    assert skeleton is not None
    assert "helper(x)" not in skeleton and "return" not in skeleton and "@property" not in skeleton
    assert "class Meta:" in skeleton and "label = models.CharField" in skeleton
    ast.parse(skeleton)  # still Python


def test_the_skeleton_gives_the_declarations_the_whole_file_gives() -> None:
    parsed = python_frontend.parse("models.py", MODELS)
    assert isinstance(parsed, python_frontend.ParsedPython) and not parsed.operates
    decls = parsed.table_decls()
    assert decls == _full_decls("models.py", MODELS)
    (account,) = decls
    assert account.table == "bank_account"
    assert {c.name for c in account.columns} >= {"balance", "owner", "label"}


def test_windows_line_endings_and_tabs_survive() -> None:
    text = MODELS.replace("    ", "\t").replace("\n", "\r\n")
    parsed = python_frontend.parse("models.py", text)
    assert isinstance(parsed, python_frontend.ParsedPython)
    assert parsed.table_decls() == _full_decls("models.py", text)


def test_a_file_without_classes_needs_no_parse_for_the_index() -> None:
    text = "from django.db import models\n\ndef field():\n    return models.IntegerField()\n"
    assert isinstance(python_frontend.parse("fields.py", text), python_frontend.Irrelevant)


def test_a_lone_carriage_return_makes_it_parse_the_whole_file() -> None:
    assert declaration_skeleton("class A(models.Model):\r    x = 1\n", ast.parse("class A:\n    x = 1\n")) is None
