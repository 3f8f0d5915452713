"""Where txlint lives, and where each rule's documentation page is.

One repository address for everything that links to it: the SARIF reporter (`informationUri` and
each rule's `helpUri`), the JSON reporter (each finding's `url`), the language server (a
diagnostic's code description), the README's install and pre-commit snippets and the package
metadata (`[project.urls]`, checked against this constant by `tests/test_packaging.py`). The rule
pages themselves are files of the repository (`docs/rules/TX101.md`), generated from the rule
modules by `python -m txlint.cli.docs_pages`.
"""

from __future__ import annotations

REPOSITORY_URL = "https://github.com/txlint/txlint"
# The branch whose pages a link shows: a link must keep working after the next release.
DOCS_BRANCH = "main"
RULE_DOCS_FOLDER = "docs/rules"


def rule_doc_path(code: str) -> str:
    """The page of rule `code`, relative to the repository's top.

    >>> rule_doc_path("TX101")
    'docs/rules/TX101.md'
    """
    return f"{RULE_DOCS_FOLDER}/{code}.md"


def rule_doc_url(code: str) -> str:
    """The address of rule `code`'s page, for a report read away from the repository.

    >>> rule_doc_url("TX101")
    'https://github.com/txlint/txlint/blob/main/docs/rules/TX101.md'
    """
    return f"{REPOSITORY_URL}/blob/{DOCS_BRANCH}/{rule_doc_path(code)}"
