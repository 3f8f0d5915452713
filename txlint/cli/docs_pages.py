"""The documentation generated from the code, as files of the repository: one page per rule
(`docs/rules/TX101.md`, what `txlint explain TX101` prints), their index (`docs/rules/README.md`)
and the JSON schema of `[tool.txlint]` (`docs/txlint-schema.json`).

Nobody edits these files by hand. After a rule's documentation or a setting changes, one command
writes them all again from a source checkout:

    python -m txlint.cli.docs_pages          # write the stale files, remove pages of gone rules
    python -m txlint.cli.docs_pages --check  # name the stale files, exit 1

`tests/test_docs_pages.py` fails while the committed files differ from what this module writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click

from txlint.core.links import RULE_DOCS_FOLDER, rule_doc_path
from txlint.core.registry import all_rules
from txlint.core.rule import Rule
from txlint.project.schema import txlint_schema

SCHEMA_PATH = "docs/txlint-schema.json"
INDEX_PATH = f"{RULE_DOCS_FOLDER}/README.md"
# The source checkout this module belongs to (txlint/cli/docs_pages.py -> the repository's top).
CHECKOUT = Path(__file__).resolve().parents[2]


def rule_table(link: Callable[[str], str]) -> str:
    """The table of every rule, each code linked to its page at `link(code)` (a path relative to
    the file the table is in: the README and the index are in different folders)."""
    lines = ["| Code | Name | Severity | Default | What it finds |", "|---|---|---|---|---|"]
    for r in all_rules().values():
        lines.append(f"| [{r.code}]({link(r.code)}) | {r.name} | {r.severity.value} | {'on' if r.default_enabled else 'off'} | {r.summary} |")
    return "\n".join(lines) + "\n"


def _source_path(rule: type[Rule]) -> str:
    """The rule's module in the repository: `txlint.rules.tx101_lost_update` is `rules/tx101_lost_update.py`."""
    return f"rules/{rule.__module__.rsplit('.', 1)[-1]}.py"


def rule_page(rule: type[Rule]) -> str:
    """A rule's page: its documentation as `txlint explain` prints it (with "Fix safety" when the
    rule has a fix), then where it comes from."""
    up = "../" * RULE_DOCS_FOLDER.count("/") + "../"
    return (
        rule.explain()
        + "\n---\n\n"
        + f"Generated from [`{_source_path(rule)}`]({up}{_source_path(rule)}) by `python -m txlint.cli.docs_pages`; "
        + f"`txlint explain {rule.code}` prints the same. [All rules](README.md).\n"
    )


def index_page() -> str:
    """`docs/rules/README.md`: every rule, linked to its page."""
    return (
        "# txlint rules\n\n"
        "One page per rule, generated from the rule modules in `rules/` (`python -m txlint.cli.docs_pages`).\n"
        "`txlint rules` lists them; `txlint explain CODE` prints a page. A code or prefix in `select`\n"
        "turns a rule on even when it is off by default.\n\n" + rule_table(lambda code: f"{code}.md")
    )


def generated_files() -> dict[str, str]:
    """Every generated file, by its path relative to the repository's top, with its content."""
    files = {rule_doc_path(code): rule_page(rule) for code, rule in all_rules().items()}
    files[INDEX_PATH] = index_page()
    files[SCHEMA_PATH] = json.dumps(txlint_schema(), indent=2, ensure_ascii=False) + "\n"
    return files


def stale_files(root: Path) -> tuple[dict[str, str], list[str]]:
    """What differs under `root`: the files to write (path -> content), and the rule pages of rules
    that no longer exist (to remove)."""
    expected = generated_files()
    to_write = {path: text for path, text in expected.items() if not (root / path).is_file() or (root / path).read_text(encoding="utf-8") != text}
    existing = (f"{RULE_DOCS_FOLDER}/{p.name}" for p in (root / RULE_DOCS_FOLDER).glob("TX*.md"))
    return to_write, sorted(path for path in existing if path not in expected)


@click.command()
@click.option("--check", is_flag=True, help="Only say which files are stale; exit 1 when any is.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=CHECKOUT, show_default=True, help="The source checkout.")
def main(check: bool, root: Path) -> None:
    """Write the rule pages, their index and the schema of [tool.txlint] from the code."""
    if not (root / "pyproject.toml").is_file() or not (root / "rules").is_dir():
        raise click.UsageError(f"{root} is not a txlint source checkout (no pyproject.toml and rules/)")
    to_write, to_remove = stale_files(root)
    for path, text in sorted(to_write.items()):
        if not check:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8", newline="\n")
        click.echo(f"{'stale' if check else 'wrote'}: {path}")
    for path in to_remove:
        if not check:
            (root / path).unlink()
        click.echo(f"{'stale' if check else 'removed'}: {path} (no such rule)")
    if check and (to_write or to_remove):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
