"""Facts only the whole project tells (clarifications 15 and 16): re-exports, instances of project
subclasses of a library's client, a framework setting turned on in another file."""

from __future__ import annotations

from pathlib import Path

from txlint.core.config import Config
from txlint.core.registry import all_rules
from txlint.engine.runner import Engine

VIEW = (
    "from django.db import models\n"
    "from django.http import JsonResponse\n"
    "class Seat(models.Model):\n"
    "    taken = models.BooleanField(default=False)\n"
    "def reserve(request, seat_id):\n"
    "    seat = Seat.objects.select_for_update().get(pk=seat_id)\n"
    "    seat.taken = True\n"
    "    seat.save(update_fields=['taken'])\n"
    "    return JsonResponse({})\n"
)


def _check(root: Path, files: dict[str, str]) -> list[tuple[str, str, int]]:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    paths = sorted(root.rglob("*.py"))
    result = Engine(Config(root=root), frozenset(all_rules())).check_files(paths, [str(p.relative_to(root)) for p in paths])
    assert not result.notices, result.notices
    return [(f.code, f.path, f.line) for f in result.findings]


def test_a_lock_in_a_view_is_outside_any_transaction(tmp_path: Path) -> None:
    assert _check(tmp_path, {"shop/views.py": VIEW}) == [("TX109", "shop/views.py", 6)]


def test_atomic_requests_set_in_the_settings_puts_every_view_in_a_transaction(tmp_path: Path) -> None:
    settings = "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'ATOMIC_REQUESTS': True}}\n"
    assert _check(tmp_path, {"shop/views.py": VIEW, "site/settings.py": settings}) == []


def test_a_session_re_exported_by_a_project_module_is_the_librarys(tmp_path: Path) -> None:
    db = (
        "from sqlmodel import Field, SQLModel\n"
        "from sqlmodel.ext.asyncio.session import AsyncSession\n"
        "class ApiKey(SQLModel, table=True):\n"
        "    hashed_key: str = Field(primary_key=True)\n"
        "    balance: int = Field(default=0)\n"
    )
    auth = (
        "from .db import ApiKey, AsyncSession\n"
        "async def pay(session: AsyncSession, hashed: str, cost: int) -> None:\n"
        "    key = await session.get(ApiKey, hashed)\n"
        "    key.balance -= cost\n"
        "    session.add(key)\n"
        "    await session.commit()\n"
    )
    found = _check(tmp_path, {"router/__init__.py": "", "router/db.py": db, "router/auth.py": auth})
    assert ("TX101", "router/auth.py", 6) in found  # written back at the commit
    # Near miss: the same module imported from somewhere that is not a session.
    plain = auth.replace("from .db import ApiKey, AsyncSession", "from .db import ApiKey\nfrom .other import AsyncSession")
    assert _check(tmp_path, {"router/auth.py": plain, "router/other.py": "class AsyncSession:\n    pass\n"}) == []


def test_an_instance_of_a_project_subclass_of_a_cache_is_a_cache_client(tmp_path: Path) -> None:
    cache = "from flask_caching import Cache\nclass AppCache(Cache):\n    pass\ncache = AppCache()\n"
    view = (
        "from app.cache import cache\n"
        "def attempt(user_id):\n"
        "    key = f'attempts:{user_id}'\n"
        "    if int(cache.get(key) or 0) >= 10:\n"
        "        return False\n"
        "    cache.inc(key)\n"
        "    return True\n"
    )
    assert _check(tmp_path, {"app/__init__.py": "", "app/cache.py": cache, "app/views.py": view}) == [("TX205", "app/views.py", 6)]
    # Near miss: a project class that derives from nothing a recogniser knows.
    other = cache.replace("from flask_caching import Cache", "from collections import UserDict as Cache")
    assert _check(tmp_path, {"app/cache.py": other}) == []


def test_a_helper_re_exported_by_a_package_that_mentions_no_database_is_followed(tmp_path: Path) -> None:
    helper = (
        "from contextlib import contextmanager\n"
        "from django.db import transaction\n"
        "@contextmanager\n"
        "def opened():\n"
        "    with transaction.atomic():\n"
        "        yield\n"
    )
    view = (
        "from django.db import models\n"
        "from shop.helpers import opened\n"
        "class Seat(models.Model):\n"
        "    taken = models.BooleanField(default=False)\n"
        "def reserve(seat_id):\n"
        "    seat = Seat.objects.select_for_update().get(pk=seat_id)\n"
        "    with opened():\n"
        "        seat.taken = True\n"
        "        seat.save(update_fields=['taken'])\n"
    )
    package = {"shop/__init__.py": "", "shop/helpers/__init__.py": "from .tx import opened\n", "shop/helpers/tx.py": helper}
    # The lock is taken before the transaction the re-exported helper opens: it ends at once.
    assert _check(tmp_path, {**package, "shop/views.py": view}) == [("TX109", "shop/views.py", 6)]
    # Near miss: the lock taken inside it.
    inside = view.replace(
        "    seat = Seat.objects.select_for_update().get(pk=seat_id)\n    with opened():\n",
        "    with opened():\n        seat = Seat.objects.select_for_update().get(pk=seat_id)\n",
    )
    assert _check(tmp_path, {"shop/views.py": inside}) == []


def test_syntax_newer_than_the_running_python_still_declares_and_re_exports(tmp_path: Path) -> None:
    models = (
        "from django.db import models\n"
        "class Base[T](models.Model):\n"
        "    class Meta:\n"
        "        abstract = True\n"
        "class Wallet(Base[int]):\n"
        "    balance = models.IntegerField(default=0)\n"
        "type Amount = int\n"
    )
    view = (
        "from django.db import transaction\n"
        "from bank.models import Wallet\n"
        "def pay(wallet_id, amount):\n"
        "    with transaction.atomic():\n"
        "        wallet = Wallet.objects.get(pk=wallet_id)\n"
        "        wallet.balance -= amount\n"
        "        wallet.save()\n"
    )
    found = _check(tmp_path, {"bank/__init__.py": "", "bank/models.py": models, "bank/views.py": view})
    assert ("TX101", "bank/views.py", 7) in found
