"""The rule pages in `docs/rules/` are the generated ones, every rule has one, the README's rule
table links to them, and the README and the pages link nothing outside the repository."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from click.testing import CliRunner

from txlint.cli import docs_pages
from txlint.core.ftypes import Severity
from txlint.core.links import REPOSITORY_URL, rule_doc_path, rule_doc_url
from txlint.core.registry import all_rules
from txlint.core.rule import Rule, RuleDoc

ROOT = Path(__file__).resolve().parents[1]
REGENERATE = "stale: run `python -m txlint.cli.docs_pages`"
# A Markdown link or image outside code: [text](target). Code blocks and spans are cut first.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
SPAN = re.compile(r"`[^`\n]*`")


def test_committed_pages_are_the_generated_ones() -> None:
    for path, text in docs_pages.generated_files().items():
        assert (ROOT / path).is_file(), f"{path} is missing; {REGENERATE}"
        assert (ROOT / path).read_text(encoding="utf-8") == text, f"{path} is {REGENERATE}"
    assert docs_pages.stale_files(ROOT) == ({}, []), REGENERATE


def test_every_rule_has_a_page_and_the_readme_table_links_it() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    index = (ROOT / "docs" / "rules" / "README.md").read_text(encoding="utf-8")
    for code, rule in all_rules().items():
        page = (ROOT / rule_doc_path(code)).read_text(encoding="utf-8")
        assert page.startswith(rule.explain()), code  # what `txlint explain CODE` prints, then the footer
        assert f"[{code}]({rule_doc_path(code)})" in readme, code
        assert f"[{code}]({code}.md)" in index, code


def test_the_doc_url_is_the_page_in_the_repository() -> None:
    assert rule_doc_url("TX101") == f"{REPOSITORY_URL}/blob/main/docs/rules/TX101.md"
    assert rule_doc_path("TX101") == "docs/rules/TX101.md"


def _rule(fix_safety: str) -> type[Rule]:
    class Example(Rule):
        code = "TX999"
        name = "example"
        severity = Severity.WARNING
        summary = "An example."
        doc = RuleDoc("Finds it.", "It is bad.", "bad()\n", "good()\n", fix_safety=fix_safety)

    return Example


def test_a_page_states_fix_safety_when_the_rule_has_a_fix() -> None:
    page = docs_pages.rule_page(_rule("Unsafe: the fix takes a row lock the code did not take."))
    assert "\n## Fix safety\nUnsafe: the fix takes a row lock the code did not take.\n" in page
    assert "Fix safety" not in docs_pages.rule_page(_rule(""))


def test_the_pages_of_rules_with_a_fix_state_its_safety() -> None:
    for code, rule in all_rules().items():
        page = (ROOT / rule_doc_path(code)).read_text(encoding="utf-8")
        assert ("## Fix safety" in page) == bool(rule.doc.fix_safety), code


def _links(path: Path) -> list[str]:
    text = SPAN.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))
    return LINK.findall(text)


def test_readme_and_pages_link_nothing_outside_the_repository() -> None:
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    checked = 0
    for document in documents:
        for target in _links(document):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # a web address or an anchor of the same page
            resolved = (document.parent / target.split("#", 1)[0]).resolve()
            assert resolved.is_relative_to(ROOT), f"{document.name}: {target} is outside the repository"
            assert resolved.exists(), f"{document.relative_to(ROOT)}: {target} does not exist"
            checked += 1
    assert checked > len(all_rules())  # the README's rule table alone links every rule
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../" not in readme, "the README names a path outside the repository"


def test_the_generator_writes_stale_files_and_removes_pages_of_gone_rules(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "rules").mkdir()
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    (tmp_path / rule_doc_path("TX101")).write_text("edited by hand\n", encoding="utf-8")
    (tmp_path / rule_doc_path("TX999")).write_text("a rule that is gone\n", encoding="utf-8")
    runner = CliRunner()

    check = runner.invoke(docs_pages.main, ["--check", "--root", str(tmp_path)])
    assert check.exit_code == 1
    assert rule_doc_path("TX101") in check.output and rule_doc_path("TX999") in check.output
    assert (tmp_path / rule_doc_path("TX999")).exists()  # --check changes nothing

    write = runner.invoke(docs_pages.main, ["--root", str(tmp_path)])
    assert write.exit_code == 0, write.output
    assert not (tmp_path / rule_doc_path("TX999")).exists()
    assert docs_pages.stale_files(tmp_path) == ({}, [])
    assert runner.invoke(docs_pages.main, ["--check", "--root", str(tmp_path)]).exit_code == 0


def test_the_generator_refuses_a_folder_that_is_not_a_checkout(tmp_path: Path) -> None:
    result = CliRunner().invoke(docs_pages.main, ["--root", str(tmp_path)])
    assert result.exit_code == 2
    assert not (tmp_path / "docs").exists()
