"""The second look: a file that only declares tables is parsed for the index but its functions are not walked."""

from __future__ import annotations

import pytest

from txlint.core.config import Config
from txlint.core.registry import all_rules
from txlint.core.rule import Rule
from txlint.engine.runner import Engine
from txlint.frontends.python.prefilter import may_matter, may_operate


def _examples() -> list[str]:
    rules: list[type[Rule]] = [rule for code, rule in all_rules().items() if code != "TX000"]  # TX000's examples are syntax errors
    return [source for rule in rules for source in rule.INVALID if not source.lstrip().upper().startswith(("BEGIN", "SELECT", "UPDATE", "--"))]


@pytest.mark.parametrize("source", _examples())
def test_every_flagged_rule_example_counts_as_an_operation(source: str) -> None:
    assert may_operate(source)


def test_a_models_module_is_parsed_but_not_walked() -> None:
    models = "from django.db import models\nclass Account(models.Model):\n    balance = models.IntegerField()\n"
    assert may_matter(models)
    assert not may_operate(models)


def test_cached_property_is_not_a_cache() -> None:
    assert not may_operate("from functools import cached_property, lru_cache\n@lru_cache\ndef f(x):\n    return x\n")
    assert not may_operate("def f(cache, key):\n    return cache[key]\n")
    # A client called `cache` may be the project's own instance of a library's cache (CTFd's
    # `CTFdCache()`): its commands make the file worth reading; the project's symbols decide.
    assert may_operate("def f(cache, key):\n    return cache.get(key)\n")
    assert may_operate("from django.core.cache import cache\ncache.set('k', 1)\n")
    assert may_operate("from django.core.cache import caches\ncaches['default'].add('k', 1)\n")


def test_a_model_declared_in_a_file_with_no_operation_still_reaches_the_index(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The index learns `Wallet` is a model from models.py, which is not walked; views.py's lost update is still found."""
    models = tmp_path / "models.py"
    models.write_text("from django.db import models\nclass Wallet(models.Model):\n    balance = models.IntegerField()\n")
    views = tmp_path / "views.py"
    views.write_text(
        "from shop.models import Wallet\n"
        "def pay(pk, amount):\n"
        "    wallet = Wallet.objects.get(pk=pk)\n"
        "    wallet.balance = wallet.balance - amount\n"
        "    wallet.save()\n"
    )
    result = Engine(Config(root=tmp_path), frozenset(all_rules())).check_files([models, views], ["models.py", "views.py"])
    assert [(f.code, f.path) for f in result.findings] == [("TX101", "views.py")]
