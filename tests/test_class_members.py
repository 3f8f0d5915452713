"""Members and lineages of the project's classes (`declarations.class_members`, `core.classes`):
what pass 1 records, what the index answers, and that a cached run follows an edit of a base."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import Project
from txlint.core.classes import ClassTable
from txlint.core.config import Config
from txlint.core.index import ProjectIndex
from txlint.core.registry import enabled_codes
from txlint.core.summaries import SymbolKind
from txlint.engine.runner import Engine, RunResult
from txlint.frontends.python.declarations import symbols
from txlint.frontends.python.imports import ImportTable
from txlint.project.discovery import discover, display_path

REPOSITORY = '''
from dataclasses import dataclass
from typing import Annotated, Optional, cast

import requests
from sqlalchemy.orm import Session, sessionmaker

from .base import Base
from .db import SessionLocal, new_session


class Repo(Base):
    declared: Session
    optional: Optional[Session] = None
    annotated: Annotated[Session, "marker"]
    quoted: "Session | None"
    listed: list[Session]

    def __init__(self, given: Session, http: requests.Session, untyped) -> None:
        self.given = given
        self.http = http
        self.untyped = untyped
        self.made = SessionLocal()
        self.helper = new_session()
        self.factory_call = sessionmaker()()
        self.cast = cast(Session, untyped)
        self.literal = 3
        self.conflicting = given

    def reset(self, other: requests.Session) -> None:
        self.conflicting = other

    @property
    def current(self) -> Session:
        return self.given

    def debit(self) -> None:
        pass


def helper_function():
    pass
'''


def _members(text: str) -> dict[str, str]:
    tree = ast.parse(text)
    found = symbols("pkg/repo.py", text, tree, ImportTable.of_tree(tree), Path("."))
    return {s.name: s.target for s in found if s.kind in (SymbolKind.MEMBER, SymbolKind.CLASS)}


def test_pass_one_records_what_each_member_holds_by_its_evidence() -> None:
    members = _members(REPOSITORY)
    assert members["pkg.repo.Repo"] == "pkg.base.Base"
    session = "type:sqlalchemy.orm.Session"
    for attribute in ("declared", "optional", "annotated", "quoted", "given", "cast", "current", "factory_call"):
        assert members[f"pkg.repo.Repo.{attribute}"] == session, attribute
    assert members["pkg.repo.Repo.http"] == "type:requests.Session"
    assert members["pkg.repo.Repo.made"] == "call:pkg.db.SessionLocal"
    assert members["pkg.repo.Repo.helper"] == "call:pkg.db.new_session"
    assert members["pkg.repo.Repo.debit"] == members["pkg.repo.Repo.__init__"] == "def"
    for unknown in ("listed", "untyped", "literal", "conflicting"):  # no evidence, or two kinds of it
        assert f"pkg.repo.Repo.{unknown}" not in members, unknown


def _table(classes: dict[str, str], members: dict[str, str] | None = None) -> ClassTable:
    table = ClassTable()
    for name, bases in classes.items():
        table.add_class(name, bases)
    table.members.update(members or {})
    return table


def test_the_lineage_is_the_method_resolution_order_of_the_project_bases() -> None:
    # Python's own example of C3: class D(B, C), B(A), C(A), A(object) gives D, B, C, A.
    table = _table({"m.A": "", "m.B": "m.A", "m.C": "m.A", "m.D": "m.B,m.C,django.views.View"})
    assert table.lineage("m.D", lambda name: None) == ("m.D", "m.B", "m.C", "m.A")
    assert table.subclasses("m.A", lambda name: None) == ("m.B", "m.C", "m.D")
    assert table.lineage("django.views.View", lambda name: None) == ()


def test_a_member_is_the_first_classs_of_the_lineage_that_says() -> None:
    table = _table(
        {"m.Base": "", "m.Mixin": "", "m.Repo": "m.Mixin,m.Base"},
        {"m.Base.session": "type:sqlalchemy.orm.Session", "m.Base.get": "def", "m.Mixin.get": "def"},
    )
    assert table.member("m.Repo", "session", lambda name: None) == ("m.Base", "type:sqlalchemy.orm.Session")
    assert table.member("m.Repo", "get", lambda name: None) == ("m.Mixin", "def")
    assert table.member("m.Repo", "missing", lambda name: None) is None


def test_a_class_is_found_by_a_re_export_or_by_the_end_of_its_name() -> None:
    table = _table({"server.app.repos.Repo": ""})
    assert table.project_class("app.repos.Repo", lambda name: None) == "server.app.repos.Repo"
    assert table.project_class("app.Repo", {"app.Repo": "app.repos.Repo"}.get) == "server.app.repos.Repo"
    cyclic = _table({"m.A": "m.B", "m.B": "m.A"})
    assert cyclic.lineage("m.A", lambda name: None)[0] == "m.A"


def test_the_index_follows_a_members_type_through_a_new_type_alias() -> None:
    index = ProjectIndex()
    index.classes = _table({"app.repo.Repo": ""}, {"app.repo.Repo.session": "type:app.db.AsyncSession"})
    index.exports["app.db.AsyncSession"] = "sqlalchemy.ext.asyncio.AsyncSession"
    assert index.member_of("app.repo.Repo", "session") == ("app.repo.Repo", "type:sqlalchemy.ext.asyncio.AsyncSession")


BASE = "from sqlalchemy.orm import Session\nclass BaseRepository:\n    def __init__(self, session: Session) -> None:\n        self.session = session\n"
HTTP_BASE = "import requests\nclass BaseRepository:\n    def __init__(self, session: requests.Session) -> None:\n        self.session = session\n"
MODELS = (
    "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n"
    "class Base(DeclarativeBase):\n    pass\n"
    "class Wallet(Base):\n    __tablename__ = 'wallets'\n    id: Mapped[int] = mapped_column(primary_key=True)\n    balance: Mapped[int]\n"
)
WALLETS = (
    "from .base import BaseRepository\nfrom .models import Wallet\n"
    "class WalletRepository(BaseRepository):\n"
    "    def debit(self, wallet_id: int, amount: int) -> None:\n"
    "        wallet = self.session.get(Wallet, wallet_id)\n"
    "        wallet.balance -= amount\n"
    "        self.session.commit()\n"
)


def _run(root: Path, cache: Path | None = None) -> RunResult:
    found = discover([root], root, ())
    engine = Engine(Config(root=root), enabled_codes(None, (), ()), cache_folder=cache)
    return engine.check_files(found.files, [display_path(p) for p in found.files])


def test_a_cached_subclass_is_judged_again_when_its_base_changes_what_it_holds(project: Project, tmp_path: Path) -> None:
    project.write("bank/__init__.py", "")
    project.write("bank/models.py", MODELS)
    base = project.write("bank/base.py", BASE)
    project.write("bank/wallets.py", WALLETS)
    cache = tmp_path / "cache"
    assert [(f.code, Path(f.path).name) for f in _run(project.root, cache).findings] == [("TX101", "wallets.py")]
    base.write_text(HTTP_BASE)  # an HTTP client named session: no database here
    assert _run(project.root, cache).findings == []
    base.write_text(BASE)
    assert [(f.code, Path(f.path).name) for f in _run(project.root, cache).findings] == [("TX101", "wallets.py")]


def test_an_annotation_naming_several_types_records_them_all() -> None:
    text = (
        "from app.db import AsyncReadSession, AsyncSession\n"
        "class Repo:\n"
        "    def __init__(self, session: AsyncSession | AsyncReadSession, other: AsyncSession | int) -> None:\n"
        "        self.session = session\n"
        "        self.other = other\n"
    )
    members = _members(text)
    assert members["pkg.repo.Repo.session"] == "type:app.db.AsyncReadSession|app.db.AsyncSession"
    assert "pkg.repo.Repo.other" not in members  # `int` is no name the module knows: nothing is known
