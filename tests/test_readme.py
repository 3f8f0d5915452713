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


def test_the_example_at_the_top_is_what_txlint_prints(monkeypatch) -> None:
    """Each part of the opening example (between `...` lines) is printed as it stands, the summary included."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"```\n\$ txlint check examples\n(.*?)```", text, re.S)
    assert match, "README has no `$ txlint check examples` example"
    monkeypatch.chdir(README.parent)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    result = CliRunner().invoke(cli, ["check", "--no-cache", "examples"])
    assert result.exit_code == 1
    parts = [part.strip("\n") for part in match.group(1).split("...\n")]
    assert len(parts) > 1 and all(parts)
    for part in parts:
        assert part + "\n" in result.stdout, part
    assert result.stdout.endswith(parts[-1] + "\n")
