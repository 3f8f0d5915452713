"""SQLAlchemy Core in pass 1: what a module's `Table(...)` objects declare, and which of its module-level
names are tables and engines (the flagged shapes and near misses are in `fixtures/sqlalchemy_core_ledger`)."""

from __future__ import annotations

import ast

from txlint.core.index import ProjectIndex
from txlint.frontends.python import declarations
from txlint.frontends.python.declarations import sqlalchemy_tables
from txlint.frontends.python.imports import ImportTable
from txlint.frontends.python.recognisers.sqlalchemy_core.names import AUTOCOMMIT_ENGINE, ENGINE

TABLES = """
import sqlalchemy as sa
from sqlalchemy import CheckConstraint, Column, Index, Integer, MetaData, PrimaryKeyConstraint, String, Table, UniqueConstraint

metadata = MetaData()
wallets = Table(
    "wallets", metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String, unique=True),
    Column("balance", Integer, CheckConstraint("balance >= 0")),
    Column("owner", Integer),
    Column("currency", String),
    UniqueConstraint("owner", "currency"),
)
lines: sa.Table = sa.Table(
    "order_lines", metadata,
    Column("order_id", Integer, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("stock", Integer),
    CheckConstraint("stock >= 0"),
)
seats = Table("seats", metadata, Column("event", Integer), Column("label", String), Index("ix", "event", "label", unique=True))
invites = Table("invites", metadata, Column("code", String), Column("event", Integer), PrimaryKeyConstraint("code", "event"))
built = Table(name_of_table, metadata)
"""


def _index(source: str) -> tuple[ProjectIndex, ast.Module, ImportTable]:
    tree = ast.parse(source)
    imports = ImportTable.of_tree(tree)
    return ProjectIndex.build(sqlalchemy_tables.table_decls(tree, imports, "app/tables.py")), tree, imports


def test_a_table_is_declared_under_the_name_it_is_bound_to() -> None:
    index, _, _ = _index(TABLES)
    assert [d.table for d in index.decls["wallets"]] == ["wallets"]
    assert [d.table for d in index.decls["lines"]] == ["order_lines"]
    assert "built" not in index.decls  # a name only known at run time
    assert index.columns_of("wallets") == {"id", "email", "balance", "owner", "currency"}
    assert index.knows_table("wallets") and not index.is_model("wallets")


def test_keys_and_unique_constraints_are_unique() -> None:
    index, _, _ = _index(TABLES)
    assert index.is_unique("wallets", ["id"])
    assert index.is_unique("wallets", ["email"])
    assert index.is_unique("wallets", ["owner", "currency"])
    assert not index.is_unique("wallets", ["owner"])
    assert index.is_unique("seats", ["event", "label"]) and not index.is_unique("seats", ["event"])
    assert index.is_unique("invites", ["code", "event"]) and not index.is_unique("invites", ["code"])


def test_a_primary_key_of_several_columns_is_unique_only_as_a_whole() -> None:
    index, _, _ = _index(TABLES)
    assert index.is_unique("order_lines", ["order_id", "position"])
    assert not index.is_unique("order_lines", ["order_id"])


def test_check_constraints_on_columns_and_tables_guard_decrements() -> None:
    index, _, _ = _index(TABLES)
    assert index.is_non_negative("wallets", "balance")
    assert index.is_non_negative("order_lines", "stock")
    assert not index.is_non_negative("wallets", "owner")


ENGINES = """
from sqlalchemy import Table, create_engine
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_engine(URL)
autocommit = create_engine(URL, isolation_level="AUTOCOMMIT")
mapped = create_engine(URL, execution_options={"isolation_level": "AUTOCOMMIT"})
reports = engine.execution_options(isolation_level="AUTOCOMMIT")
strict = autocommit.execution_options(isolation_level="SERIALIZABLE")
kept = autocommit.execution_options(echo=True)
aio = create_async_engine(URL, isolation_level="AUTOCOMMIT")
other = make_engine(URL)
wallets = Table("wallets", metadata)
"""


def test_module_level_engines_and_tables_are_instances_of_their_kind() -> None:
    tree = ast.parse(ENGINES)
    found = dict(sqlalchemy_tables.instances(tree, ImportTable.of_tree(tree)))
    assert found == {
        "engine": ENGINE,
        "autocommit": AUTOCOMMIT_ENGINE,
        "mapped": AUTOCOMMIT_ENGINE,
        "reports": AUTOCOMMIT_ENGINE,
        "strict": ENGINE,
        "kept": AUTOCOMMIT_ENGINE,
        "aio": AUTOCOMMIT_ENGINE,
        "wallets": "sqlalchemy.Table",
    }


def test_a_class_mapped_to_a_table_is_a_model_with_its_constraints() -> None:
    source = (
        "from sqlalchemy import Column, Integer, Table, UniqueConstraint\n"
        "from sqlalchemy.orm import DeclarativeBase\n"
        "class Base(DeclarativeBase):\n"
        "    pass\n"
        "class Voucher(Base):\n"
        "    __table__ = Table('vouchers', Base.metadata, Column('id', Integer, primary_key=True), Column('code', Integer), UniqueConstraint('code'))\n"
    )
    tree = ast.parse(source)
    index = ProjectIndex.build(declarations.table_decls(tree, ImportTable.of_tree(tree), "app/models.py"))
    assert index.is_model("Voucher") and index.table_of("Voucher") == "vouchers"
    assert index.is_unique("Voucher", ["code"]) and index.columns_of("Voucher") == {"id", "code"}


def test_a_reflected_table_has_constraints_the_code_does_not_show() -> None:
    index, _, _ = _index(
        "from sqlalchemy import Column, Integer, MetaData, Table\n"
        "metadata = MetaData()\n"
        "members = Table('members', metadata, autoload_with=engine)\n"
        "extended = Table('extended', metadata, Column('id', Integer, primary_key=True), autoload_with=engine)\n"
        "declared = Table('declared', metadata, Column('id', Integer, primary_key=True))\n"
    )
    assert not index.knows_table("members") and not index.knows_table("extended")
    assert index.knows_table("declared")
