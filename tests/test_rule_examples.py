"""Every rule's own VALID and INVALID examples, run through the real engine.

INVALID examples must produce the rule's code (on exactly the lines marked
`# error`, when any is marked); VALID examples must produce none of it.
"""

from __future__ import annotations

import pytest

from txlint.core.config import Config
from txlint.core.registry import all_rules
from txlint.engine.runner import Engine

CASES = [
    pytest.param(code, kind, index, source, id=f"{code}-{kind}-{index}")
    for code, rule in all_rules().items()
    for kind, examples in (("invalid", rule.INVALID), ("valid", rule.VALID))
    for index, source in enumerate(examples)
]


def findings_of(code: str, source: str) -> list[int]:
    engine = Engine(Config(), frozenset(all_rules()))
    result = engine.check_text("example.sql" if source.lstrip().upper().startswith(("BEGIN", "SELECT", "UPDATE", "--")) else "example.py", source.encode())
    assert not result.notices, result.notices
    return [f.line for f in result.findings if f.code == code]


@pytest.mark.parametrize(("code", "kind", "index", "source"), CASES)
def test_rule_example(code: str, kind: str, index: int, source: str) -> None:
    lines = findings_of(code, source)
    if kind == "valid":
        assert lines == [], f"{code} reported on a VALID example at lines {lines}"
        return
    marked = [n for n, text in enumerate(source.splitlines(), start=1) if text.rstrip().endswith(("# error", "-- error"))]
    assert lines, f"{code} not reported on an INVALID example"
    if marked:
        assert sorted(set(lines)) == marked


def test_every_rule_has_examples_and_near_misses() -> None:
    for code, rule in all_rules().items():
        assert rule.INVALID, f"{code} has no INVALID example"
        assert rule.VALID, f"{code} has no VALID example"


def test_codes_and_names_are_unique() -> None:
    rules = all_rules()
    names = [r.name for r in rules.values()]
    assert len(set(names)) == len(names)
    assert all(code == r.code and code.startswith("TX") and len(code) == 5 for code, r in rules.items())
