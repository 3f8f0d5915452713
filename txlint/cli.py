"""The command line: `txlint check`, `txlint rules`, `txlint explain`. The only module that prints.

Exit status: 0 no findings, 1 findings, 2 a usage or configuration error (with
a message that names the problem, never a traceback).
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import click

from txlint import __version__
from txlint.config import Config, ConfigError, discover, load_file
from txlint.discovery import PathError, display_path
from txlint.discovery import discover as discover_files
from txlint.engine import Engine, RunResult
from txlint.ftypes import Notice
from txlint.registry import SelectionError, all_rules, enabled_codes
from txlint.reporters import FORMATS, ReportContext
from txlint.reporters.text import clean, render_statistics, statistics


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    """`--select TX1,TX2 --select TX3` → ("TX1", "TX2", "TX3")."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _fail(message: str) -> None:
    click.echo(f"txlint: error: {clean(message)}", err=True)
    sys.exit(2)


def _load_config(config_file: Path | None, paths: tuple[str, ...], stdin_filename: str | None) -> Config:
    if config_file is not None:
        return load_file(config_file)
    first = paths[0] if paths else "."
    start = Path(stdin_filename) if first == "-" and stdin_filename else Path.cwd() if first == "-" else Path(first)
    return discover(start if start.exists() else Path.cwd())


def _repository_root(config: Config) -> Path:
    """The folder SARIF paths are relative to: the git work tree holding the cwd, else the config's folder, else the cwd.

    Without a config file `config.root` is the first path's folder, which would
    make the other paths' files absolute `file:` URIs.
    """
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return config.root if config.source is not None else here


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="txlint")
def cli() -> None:
    """Find transaction-safety bugs (lost updates, check-then-act, broken locks) in Python database code."""


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--select", multiple=True, help="Only these codes or prefixes (comma-separated), e.g. TX1,TX201.")
@click.option("--extend-select", multiple=True, help="Add these codes or prefixes to the selection.")
@click.option("--ignore", multiple=True, help="Do not report these codes or prefixes.")
@click.option(
    "--format", "output_format", type=click.Choice(sorted(FORMATS)), default="text", show_default=True, help="Output format."
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--statistics", is_flag=True, help="Print how many findings each code has instead of the findings.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), help="Read settings from this file.")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only: no summary, no skipped-file notices.")
@click.option("--stdin-filename", help="With path `-`: read the source from stdin and report it under this name.")
def check(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    output_format: str,
    exit_zero: bool,
    statistics: bool,
    config_file: Path | None,
    quiet: bool,
    stdin_filename: str | None,
) -> None:
    """Check PATHS (files and folders; default `.`) for transaction-safety bugs."""
    paths = paths or (".",)
    if "-" in paths and len(paths) > 1:
        _fail("`-` (stdin) cannot be combined with other paths")
    if statistics and output_format not in {"text", "json"}:
        _fail("--statistics prints text or json only")
    try:
        config = _load_config(config_file, paths, stdin_filename)
        if select:
            config = replace(config, select=_codes(select))
        config = replace(config, extend_select=config.extend_select + _codes(extend_select), ignore=config.ignore + _codes(ignore))
        enabled = enabled_codes(config.select, config.extend_select, config.ignore)
    except (ConfigError, SelectionError) as error:
        _fail(str(error))
        return
    engine = Engine(config, enabled)
    if paths == ("-",):
        result = engine.check_text(stdin_filename or "-", sys.stdin.buffer.read())
    else:
        try:
            found = discover_files([Path(p) for p in paths], config.root, config.exclude)
        except PathError as error:
            _fail(str(error))
            return
        result = engine.check_files(found.files, [display_path(p) for p in found.files])
        result.notices[:0] = found.notices
    _print(result, output_format, statistics, quiet, config, enabled)
    sys.exit(0 if exit_zero or not result.findings else 1)


def _print(result: RunResult, output_format: str, show_statistics: bool, quiet: bool, config: Config, enabled: frozenset[str]) -> None:
    if not quiet:
        for notice in result.notices:
            _notice(notice)
    if show_statistics:
        if output_format == "json":
            rows = [{"code": c, "name": n, "count": k} for c, n, k in statistics(result.findings)]
            click.echo(json.dumps(rows, indent=2))
        else:
            click.echo(render_statistics(result.findings), nl=False)
        return
    context = ReportContext(result.files_checked, _repository_root(config), enabled)
    output = FORMATS[output_format](result.findings, context)
    if output_format == "text" and quiet:
        output = "".join(line + "\n" for line in output.splitlines()[:-1])
    click.echo(output, nl=False)


def _notice(notice: Notice) -> None:
    click.echo(f"{clean(notice.path)}: {clean(notice.reason)}", err=True)


@cli.command("rules")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
def rules_command(output_format: str) -> None:
    """List every rule: code, name, default severity, on or off by default."""
    rules = all_rules()
    if output_format == "json":
        rows = [
            {"code": r.code, "name": r.name, "severity": r.severity.value, "default_enabled": r.default_enabled, "summary": r.summary}
            for r in rules.values()
        ]
        click.echo(json.dumps(rows, indent=2))
    elif output_format == "markdown":
        click.echo(rule_table_markdown(), nl=False)
    else:
        width = max(len(r.name) for r in rules.values())
        click.echo(f"{'code':6} {'name':{width}} {'severity':8} default")
        for r in rules.values():
            click.echo(f"{r.code:6} {r.name:{width}} {r.severity.value:8} {'on' if r.default_enabled else 'off'}")


def rule_table_markdown() -> str:
    """The README's rule table, generated from the rule modules."""
    lines = ["| Code | Name | Severity | Default | What it finds |", "|---|---|---|---|---|"]
    for r in all_rules().values():
        lines.append(f"| {r.code} | {r.name} | {r.severity.value} | {'on' if r.default_enabled else 'off'} | {r.summary} |")
    return "\n".join(lines) + "\n"


@cli.command()
@click.argument("code")
def explain(code: str) -> None:
    """Print the documentation of rule CODE (what it does, why it is bad, example, use instead)."""
    rule = all_rules().get(code.strip().upper())
    if rule is None:
        _fail(f"unknown rule code `{code}` (see `txlint rules`)")
        return
    click.echo(rule.explain(), nl=False)


def main() -> None:
    """Console-script entry point: no traceback ever reaches the user."""
    try:
        cli(prog_name="txlint")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("txlint: interrupted", err=True)
        sys.exit(130)
    except Exception as error:  # a bug of ours: say so briefly, exit 2
        click.echo(f"txlint: internal error: {type(error).__name__}: {clean(str(error))}", err=True)
        sys.exit(2)
