"""The single table that maps codes to rules, and rule selection.

Rules are found by importing every module of `txlint.rules`; each module holds
one `Rule` subclass. Selection follows ruff: `select` replaces the default set,
`extend-select` adds to it, `ignore` removes; each entry is a code or a prefix.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterable

from txlint.core.rule import Rule


class SelectionError(ValueError):
    """A `select`/`ignore` entry that matches no rule."""


@functools.cache
def all_rules() -> dict[str, type[Rule]]:
    """Every rule, by code, in code order."""
    import txlint.rules as package

    found: dict[str, type[Rule]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value is not Rule and value.__module__ == module.__name__:
                if value.code in found:
                    raise RuntimeError(f"rule code {value.code} is used by {found[value.code].__name__} and {value.__name__}")
                found[value.code] = value
    return dict(sorted(found.items()))


def runtime_rules() -> dict[str, type[Rule]]:
    """The rules a runtime trace judges: those that declare the ops that can trigger them."""
    return {code: rule for code, rule in all_rules().items() if rule.triggers}


def _matching(selectors: Iterable[str], codes: Iterable[str], option: str) -> set[str]:
    codes = list(codes)
    chosen: set[str] = set()
    for raw in selectors:
        selector = raw.strip().upper()
        hits = set(codes) if selector == "ALL" else {c for c in codes if c.startswith(selector)}
        if not hits or not selector:
            raise SelectionError(f"`{option}`: `{raw}` matches no rule code (see `txlint rules`)")
        chosen |= hits
    return chosen


def enabled_codes(select: Iterable[str] | None, extend_select: Iterable[str], ignore: Iterable[str]) -> frozenset[str]:
    """The codes a run reports, from the three selection lists."""
    rules = all_rules()
    base = {code for code, rule in rules.items() if rule.default_enabled} if select is None else _matching(select, rules, "select")
    base |= _matching(extend_select, rules, "extend-select")
    base -= _matching(ignore, rules, "ignore")
    return frozenset(base)


def code_matches(code: str, selectors: Iterable[str]) -> bool:
    """Whether `code` is named by any of the codes or prefixes in `selectors`."""
    return any(code.startswith(s.strip().upper()) or s.strip().upper() == "ALL" for s in selectors if s.strip())
