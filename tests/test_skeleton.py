"""A file that only declares models is read off CPython's tree (an `Outline`): libcst never parses
it, and its declarations are those of the whole file; in a file that operates, the functions that
cannot are cut from what libcst parses (`skeleton`)."""

from __future__ import annotations

import ast

import libcst as cst

from txlint.frontends import python as python_frontend
from txlint.frontends.python.imports import ImportTable
from txlint.frontends.python.positions import LazyPositions
from txlint.frontends.python.skeleton import skeleton

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
    module, tree = cst.parse_module(text), ast.parse(text)
    return python_frontend.ParsedPython(path, module, ImportTable.of_tree(tree), LazyPositions(module), tree=tree).table_decls()


def test_a_models_file_is_an_outline_with_the_declarations_of_the_whole_file() -> None:
    parsed = python_frontend.parse("models.py", MODELS)
    assert isinstance(parsed, python_frontend.Outline)
    decls = parsed.table_decls()
    assert decls == _full_decls("models.py", MODELS)
    (account,) = decls
    assert account.table == "bank_account"
    assert {c.name for c in account.columns} >= {"balance", "owner", "label"}
    assert account.unique_sets == (("owner", "balance"),)
    assert parsed.cut_lines == ((5, 6), (21, 24), (26, 27))  # every function counts as cut (from its `def`)


def test_windows_line_endings_and_tabs_survive() -> None:
    text = MODELS.replace("    ", "\t").replace("\n", "\r\n")
    parsed = python_frontend.parse("models.py", text)
    assert isinstance(parsed, python_frontend.Outline)
    assert parsed.table_decls() == _full_decls("models.py", text)


def test_a_file_without_classes_needs_no_parse_for_the_index() -> None:
    text = "from django.db import models\n\ndef field():\n    return models.IntegerField()\n"
    parsed = python_frontend.parse("fields.py", text)
    assert isinstance(parsed, python_frontend.Irrelevant)
    assert parsed.imports.resolve_name("models.IntegerField") == "django.db.models.IntegerField"


def test_the_skeleton_keeps_lines_and_drops_cut_functions() -> None:
    text = "def a():\n    return 1\n\nclass B:\n    def c(self):\n        return 2\n"
    cut = skeleton(text, ast.parse(text), lambda function: function.name == "a")
    assert cut is not None and cut.count("\n") == text.count("\n")
    assert "return 1" in cut and "return 2" not in cut and "pass" in cut
    ast.parse(cut)  # still Python


def test_a_lone_carriage_return_makes_it_parse_the_whole_file() -> None:
    assert skeleton("class A(models.Model):\r    x = 1\n", ast.parse("class A:\n    x = 1\n"), lambda function: False) is None
