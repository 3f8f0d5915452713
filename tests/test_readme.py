"""The README tells the truth: its rule table is the generated one, its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from txlint.cli.main import cli, rule_table_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_rule_table_is_generated_from_the_rule_modules() -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- rules:start -->\n(.*?)<!-- rules:end -->", text, re.S)
    assert match, "README has no rules:start/rules:end markers"
    assert match.group(1) == rule_table_markdown(), "README rule table is stale: paste `txlint rules --format markdown`"


def test_readme_test_command_and_example_run_work() -> None:
    text = README.read_text(encoding="utf-8")
    assert "python -m pytest" in text and "txlint check examples" in text
    result = CliRunner().invoke(cli, ["check", str(README.parent / "examples")])
    assert result.exit_code == 1
    assert "TX101" in result.output
