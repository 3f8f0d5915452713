"""The prefilter skips only files that cannot matter, and never hides a syntax error."""

from __future__ import annotations

import pytest

from txlint.core.config import Config
from txlint.core.registry import all_rules
from txlint.engine.runner import Engine
from txlint.frontends.python.prefilter import may_matter

PYTHON_EXAMPLES = [
    pytest.param(source, id=f"{code}-{index}")
    for code, rule in all_rules().items()
    for index, source in enumerate(rule.INVALID)
    if not source.lstrip().upper().startswith(("BEGIN", "SELECT", "UPDATE", "--")) and code != "TX000"
]


@pytest.mark.parametrize("source", PYTHON_EXAMPLES)
def test_every_rule_example_passes_the_prefilter(source: str) -> None:
    assert may_matter(source)


def test_plain_python_is_not_analysed_but_is_checked() -> None:
    assert not may_matter("def add(a, b):\n    return a + b\n")
    result = Engine(Config(), frozenset(all_rules())).check_text("maths.py", b"def add(a, b):\n    return a + b\n")
    assert result.findings == [] and result.files_checked == 1 and not result.notices


def test_a_syntax_error_in_plain_python_is_still_tx000() -> None:
    result = Engine(Config(), frozenset(all_rules())).check_text("maths.py", b"def add(a, b)\n    return a + b\n")
    assert [(f.code, f.line) for f in result.findings] == [("TX000", 1)]
