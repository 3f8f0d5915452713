"""What the reading of four Django applications asked of TX102's reports (issue 14), beyond which
codes a function gets (`test_fixtures`): one report per root cause, and the check and column it
names (clarification 25)."""

from __future__ import annotations

from pathlib import Path

import pytest

from txlint.core.config import Config
from txlint.core.ftypes import Finding
from txlint.core.registry import all_rules
from txlint.engine.runner import Engine

ROOT = Path(__file__).parent / "fixtures" / "django_review"


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    files = sorted(ROOT.rglob("*.py"))
    result = Engine(Config(root=ROOT), frozenset(all_rules())).check_files(files, [str(f) for f in files])
    return list(result.findings)


def lines_of(name: str, text: str) -> list[int]:
    """The lines of fixture file `name` that contain `text`."""
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    return [number for number, line in enumerate(lines, start=1) if text in line]


def in_function(findings: list[Finding], name: str, function: str, code: str) -> list[Finding]:
    """The findings of `code` in `function` of fixture file `name` (up to the next `def`)."""
    start = lines_of(name, f"def {function}(")[0]
    following = [line for line in lines_of(name, "def ") if line > start]
    end = following[0] if following else 10**9
    return [f for f in findings if Path(f.path).name == name and f.code == code and start <= f.line < end]


def checked_here(finding: Finding) -> list[int]:
    return [r.line for r in finding.related if r.message == "checked here"]


def test_a_check_followed_by_two_saves_is_reported_once_at_the_first(findings: list[Finding]) -> None:
    (found,) = in_function(findings, "root_causes.py", "preprocess", "TX102")
    assert found.line == lines_of("root_causes.py", "mimport.save()")[0]
    assert checked_here(found) == lines_of("root_causes.py", 'if mimport.status == "not_started"')


def test_the_column_named_is_the_one_the_check_guards(findings: list[Finding]) -> None:
    (found,) = in_function(findings, "root_causes.py", "process_mailboxes", "TX102")
    assert "last_check" in found.message and "interval" not in found.message


def test_the_check_named_is_the_innermost_that_decides(findings: list[Finding]) -> None:
    (found,) = in_function(findings, "written_rows.py", "edit_email_with_form_class", "TX102")
    assert checked_here(found) == lines_of("written_rows.py", "if not event.email:")[-1:]


def test_a_check_guarding_an_insert_and_the_key_it_sets_is_reported_once(findings: list[Finding]) -> None:
    (found,) = in_function(findings, "unsaved.py", "ensure_entity", "TX102")
    assert "passes the row unlocked" in found.message


def test_an_act_below_a_called_function_is_named(findings: list[Finding]) -> None:
    (found,) = in_function(findings, "acts_below.py", "cancel", "TX102")
    assert "`refund()` calls `issue_refund()` (a payment call is made)" in found.message
    assert "cancel_registrant" in found.message
