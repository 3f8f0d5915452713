"""Only the functions that can operate are parsed and interpreted; cutting the others changes no IR
that a finding can come from (a function that only reads, `self.user.name` in `__str__`, may be cut).

A function is kept when its own text names what a recogniser starts from:
a trigger word, a name the module binds to one (an import, a module or class
attribute, a `self.<attr>`), a configured lock function, or it is handed to a
kept function as a value (a callback) or never returns. The differential test
at the end holds the promise on every fixture and example: the IR of the
skeleton is the IR of the whole file.
"""

from __future__ import annotations

import ast
import dataclasses
import textwrap
from collections.abc import Callable
from pathlib import Path

import libcst as cst
import pytest

from tests.conftest import Project, Run
from txlint.core.config import Config
from txlint.core.ftypes import Span
from txlint.core.index import ProjectIndex
from txlint.core.ir import Exit, Op, Read
from txlint.frontends import python as python_frontend
from txlint.frontends.python.imports import ImportTable
from txlint.frontends.python.parsing import KNOWN_NAMES
from txlint.frontends.python.positions import LazyPositions
from txlint.frontends.python.relevance import operating_functions
from txlint.frontends.python.skeleton import skeleton

REPO = Path(__file__).resolve().parent.parent


def kept(source: str, words: tuple[str, ...] = ()) -> set[str]:
    text = textwrap.dedent(source)
    return {function.name for function in operating_functions(text, ast.parse(text), KNOWN_NAMES, words)}


# -- what keeps a function ------------------------------------------------------------------


def test_a_function_naming_no_operation_is_cut_and_one_naming_a_manager_is_kept() -> None:
    assert kept('''
        from shop.models import Account

        def label(account):
            return f"{account.owner}: {account.balance}"

        def debit(account_id, amount):
            account = Account.objects.get(pk=account_id)
            account.balance -= amount
            account.save()
    ''') == {"debit"}


def test_a_module_client_makes_the_functions_using_it_operate() -> None:
    assert kept('''
        import redis

        r = redis.Redis()
        release_script = r.register_script("...")

        def take(key):
            return r.set(key, 1, nx=True)

        def release(key):
            release_script(keys=[key])

        def unrelated(key):
            return key.upper()
    ''') == {"take", "release"}


def test_a_client_imported_under_any_name_makes_its_users_operate() -> None:
    assert kept('''
        from django.core.cache import cache as store
        from .redis_pool import client

        def claim(key):
            return store.add(key, 1, timeout=30)

        def ping():
            return client.ping()

        def other():
            return 1
    ''') == {"claim", "ping"}


def test_an_attribute_assigned_a_client_makes_every_method_using_it_operate() -> None:
    assert kept('''
        from django.core.cache import caches
        from redis import Redis

        class Locks:
            def __init__(self, client: Redis):
                self.client = client
                self.store = caches["locks"]

            def take(self, key):
                return self.client.set(key, 1, nx=True)

            def claim(self, key):
                return self.store.add(key, 1)

            def name(self):
                return "locks"
    ''') == {"__init__", "take", "claim"}


def test_a_class_attribute_client_makes_its_users_operate() -> None:
    assert kept('''
        import redis

        class Limiter:
            client = redis.Redis()

            def hit(self, key):
                return self.client.incr(key)

            def window(self):
                return 60
    ''') == {"hit"}


def test_a_callback_handed_to_a_kept_function_is_kept() -> None:
    assert kept('''
        import redis

        r = redis.Redis()

        def top_up(pipe):
            balance = int(pipe.get("balance"))
            pipe.multi()
            pipe.set("balance", balance + 1)

        def run():
            r.transaction(top_up, "balance")

        def helper():
            return 2
    ''') == {"top_up", "run"}


def test_a_function_that_never_returns_is_kept_for_the_paths_it_ends() -> None:
    assert kept('''
        from typing import NoReturn

        def fail(message) -> NoReturn:
            raise RuntimeError(message)

        def other():
            return 1
    ''') == {"fail"}


def test_names_imported_from_what_a_recogniser_knows_are_aliases() -> None:
    assert kept('''
        from django.db.transaction import commit
        from sqlalchemy.engine import Connection

        def finish():
            commit()

        def count(conn: Connection):
            return conn.scalar(query)

        def plain():
            return 3
    ''') == {"finish", "count"}


def test_a_configured_lock_function_keeps_its_callers() -> None:
    source = '''
        from .locks import lock_account

        def pay(account):
            lock_account(account)

        def other():
            return 1
    '''
    assert kept(source) == set()
    assert kept(source, ("lock_account",)) == {"pay"}


def test_a_file_calling_only_a_configured_lock_function_is_analysed(project: Project, run_txlint: Callable[..., Run]) -> None:
    project.config('lock-functions = ["app.locks.lock_key"]\n')
    project.write(
        "app/jobs.py",
        textwrap.dedent('''
            from app.locks import lock_key

            def run(job):
                lock_key(job)
        '''),
    )
    parsed = python_frontend.parse("app/jobs.py", (project.root / "app" / "jobs.py").read_text(), ("lock_key",))
    assert isinstance(parsed, python_frontend.ParsedPython)
    module = python_frontend.analyse(parsed, ProjectIndex(), Config(root=project.root, lock_functions=("app.locks.lock_key",)))
    assert [op.advisory for unit in module.units for op in unit.ops if isinstance(op, Read)] == [True]


# -- what the cut keeps ---------------------------------------------------------------------


def test_the_skeleton_keeps_every_line_where_it_was() -> None:
    text = textwrap.dedent('''
        import redis

        r = redis.Redis()


        @decorated
        def helper(x):
            return x + 1


        class Thing:
            """Doc."""

            @property
            def label(self):
                return "thing"

            def take(self, key):
                return r.set(key, 1, nx=True)
    ''')
    tree = ast.parse(text)
    cut = skeleton(text, tree, operating_functions(text, tree, KNOWN_NAMES).__contains__)
    assert cut is not None and cut != text
    assert cut.count("\n") == text.count("\n")
    for before, after in zip(text.split("\n"), cut.split("\n"), strict=True):
        assert after in (before, "") or after.strip() == "pass"
    assert "return r.set(key, 1, nx=True)" in cut and "helper" not in cut and "label" not in cut
    ast.parse(cut)


def test_a_finding_after_cut_functions_is_reported_on_its_own_line(project: Project, run_txlint: Callable[..., Run]) -> None:
    source = textwrap.dedent('''
        from django.db import models


        class Account(models.Model):
            balance = models.IntegerField()

            def label(self):
                return str(self.balance)

            def describe(self):
                parts = [self.label()]
                return " ".join(parts)


        def debit(account_id, amount):
            account = Account.objects.get(pk=account_id)
            account.balance = account.balance - amount
            account.save()
    ''')
    project.write("bank.py", source)
    line = source.split("\n").index("    account.save()") + 1
    assert [f for f in run_txlint("check", "--format", "json", ".").findings() if f[0] == "TX101"] == [("TX101", "bank.py", line)]


# -- the promise, on every fixture ----------------------------------------------------------


def _python_files() -> list[Path]:
    return sorted([*(REPO / "tests" / "fixtures").rglob("*.py"), *(REPO / "examples").rglob("*.py")])


def _resolved(value: object, positions: LazyPositions) -> object:
    """An IR value with every placeholder span replaced by the real one (placeholders number nodes
    in the order they were first met, which cutting functions changes)."""
    if isinstance(value, Span):
        return positions.resolve(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple((f.name, _resolved(getattr(value, f.name), positions)) for f in dataclasses.fields(value))
    if isinstance(value, (list, tuple)):
        return tuple(_resolved(item, positions) for item in value)
    if isinstance(value, frozenset):
        return frozenset(_resolved(item, positions) for item in value)  # type: ignore[arg-type]
    return value


def _units(parsed: python_frontend.ParsedPython, config: Config) -> dict[tuple[str, object], object]:
    index = ProjectIndex.build(parsed.table_decls())
    module = python_frontend.analyse(parsed, index, config)
    return {
        (unit.name, _resolved(unit.span, parsed.positions)): _resolved((unit.ops, unit.transactions), parsed.positions)
        for unit in module.units
        if any(_acts(op) for op in unit.ops) or unit.transactions
    }


def _acts(op: Op) -> bool:
    """An op a finding can be about: anything but an exit and a plain read (reading `self.user` in
    `__str__` loads a row and does nothing with it)."""
    return not isinstance(op, Exit) and not (isinstance(op, Read) and op.lock is None)


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_cutting_changes_no_ir(path: Path) -> None:
    text = path.read_text()
    parsed = python_frontend.parse(str(path), text)
    if not isinstance(parsed, python_frontend.ParsedPython):
        return
    whole_module, tree = cst.parse_module(text), ast.parse(text)
    whole = python_frontend.ParsedPython(str(path), whole_module, ImportTable.of_tree(tree), LazyPositions(whole_module), text=text, tree=tree)
    config = Config(root=REPO)
    assert _units(parsed, config) == _units(whole, config)
