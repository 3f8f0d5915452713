"""The command line: `txlint check`, `txlint rules`, `txlint explain`. The only module that prints.

Exit status: 0 no findings, 1 findings, 2 a usage or configuration error (with
a message that names the problem, never a traceback).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn

import click
from click.core import ParameterSource

from txlint import __version__
from txlint.cli import baseline as baseline_file
from txlint.cli.add_ignore import Stamp, add_ignores
from txlint.cli.atomicfile import write_atomic
from txlint.cli.changed_lines import ChangedLines, ChangedLinesError, changed_since
from txlint.cli.reporters import FORMATS, ReportContext
from txlint.cli.reporters.text import clean, render_statistics, statistics
from txlint.core.config import Config
from txlint.core.ftypes import Notice
from txlint.core.registry import SelectionError, all_rules, enabled_codes
from txlint.engine.runner import Engine, RunResult
from txlint.project.discovery import Discovery, PathError, display_path
from txlint.project.discovery import discover as discover_files
from txlint.project.layout import CACHE_FOLDER_NAME, IndexOnly, cache_folder, default_jobs, git_work_tree, index_companions
from txlint.project.settings import ConfigError, discover, load_file


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    """`--select TX1,TX2 --select TX3` → ("TX1", "TX2", "TX3")."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _fail(message: str) -> NoReturn:
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
    return git_work_tree(here) or (config.root if config.source is not None else here)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="txlint")
def cli() -> None:
    """Find transaction-safety bugs (lost updates, check-then-act, broken locks) in Python database code."""


# -- CI gate options: baseline, changed lines, output file, add-ignore -------------------------


def _gate_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options that make `check` a CI gate, kept in one block apart from the analysis options."""
    path = click.Path(dir_okay=False, path_type=Path)
    options = [
        click.option(
            "--baseline", "baseline_path", type=path, metavar="FILE",
            help="Report only findings that are not in FILE (written by --write-baseline): what a CI gate on a legacy codebase fails on.",
        ),
        click.option(
            "--write-baseline", type=path, metavar="FILE",
            help="Record every current finding in FILE and exit 0, reporting nothing; later runs with --baseline FILE report only new ones.",
        ),
        click.option(
            "--diff", "--changed-since", "diff_ref", metavar="REF",
            help="Report only findings on lines changed since git revision REF (from its merge base with HEAD; untracked files count as changed).",
        ),
        click.option(
            "--output-file", "-o", type=path, metavar="FILE",
            help="Write the report to FILE (replaced atomically) instead of standard output; notices still go to standard error.",
        ),
        click.option(
            "--add-ignore", is_flag=True,
            help="Add a `# txlint: ignore[CODE]` comment (`--` in SQL) on the line of every current finding, then exit.",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


@dataclass(frozen=True)
class _Gate:
    """The CI gate options of one `check` run."""

    baseline: Path | None
    write_baseline: Path | None
    diff_ref: str | None
    output_file: Path | None
    add_ignore: bool

    def refusal(self, paths: tuple[str, ...], statistics: bool, format_given: bool) -> str | None:
        """Why these options cannot be combined, if they cannot."""
        action = "--write-baseline" if self.write_baseline is not None else "--add-ignore" if self.add_ignore else None
        if self.write_baseline is not None and self.add_ignore:
            return "--write-baseline and --add-ignore cannot be combined: run them one after the other"
        if self.write_baseline is not None and (self.baseline is not None or self.diff_ref is not None):
            return "--write-baseline records every finding, so it cannot be combined with --baseline or --diff"
        if action is not None and (statistics or self.output_file is not None or format_given):
            return f"{action} prints no report, so it cannot be combined with --statistics, --output-file or --format"
        if self.add_ignore and paths == ("-",):
            return "--add-ignore edits files, so it cannot read the source from stdin (`-`)"
        return None


def _git_start(paths: tuple[str, ...]) -> Path:
    """Where to look for the git repository of `--diff`: the first path's folder (so a path into another work tree works), else the cwd."""
    first = Path(paths[0])
    if paths[0] == "-" or not first.exists():
        return Path.cwd()
    return first if first.is_dir() else first.parent


def _gate_inputs(gate: _Gate, git_start: Path, quiet: bool) -> tuple[ChangedLines | None, baseline_file.Baseline | None]:
    """Read the baseline and the git diff before the analysis, so a bad file or ref fails at once."""
    changed = None
    if gate.diff_ref is not None:
        try:
            changed, notice = changed_since(gate.diff_ref, git_start)
        except ChangedLinesError as error:
            _fail(str(error))
        if notice is not None and not quiet:
            click.echo(f"txlint: {clean(notice)}", err=True)
    known = None
    if gate.baseline is not None:
        try:
            known = baseline_file.read(gate.baseline)
        except baseline_file.BaselineError as error:
            _fail(str(error))
    return changed, known


def _gate_filter(
    result: RunResult,
    gate: _Gate,
    changed: ChangedLines | None,
    known: baseline_file.Baseline | None,
    checked: Callable[[], set[str]],
    enabled: frozenset[str],
) -> list[Notice]:
    """Keep only the findings the gate reports (not in the baseline, on changed lines); say what was left out.
    `checked` gives the checked files' project paths (asked only with a baseline)."""
    notices = []
    if known is not None and gate.baseline is not None:
        applied = baseline_file.apply(known, result.findings, checked(), enabled)
        result.findings = applied.new
        stale = f"; entries that match no finding any more: {applied.stale} (--write-baseline drops them)" if applied.stale else ""
        notices.append(Notice(str(gate.baseline), f"{_count(applied.known, 'finding')} in the baseline not reported{stale}"))
    if changed is not None:
        kept = [f for f in result.findings if changed.touches(f)]
        if len(kept) < len(result.findings):
            notices.append(Notice(f"--diff {gate.diff_ref}", f"{_count(len(result.findings) - len(kept), 'finding')} on unchanged lines not reported"))
        result.findings = kept
    return notices


def _write_baseline(path: Path, result: RunResult, root: Path, quiet: bool) -> None:
    recorded = baseline_file.entries(result.findings, lambda shown: baseline_file.project_path(shown, root))
    try:
        baseline_file.write(path, recorded)
    except baseline_file.BaselineError as error:
        _fail(str(error))
    if not quiet:
        _notice(Notice(str(path), f"recorded {_count(len(recorded), 'finding')} in the baseline"))


def _add_ignore(result: RunResult, config: Config, stamps: dict[str, Stamp] | None, quiet: bool) -> bool:
    """Write the comments; True when every finding got one."""
    outcome = add_ignores(result.findings, dialect=config.dialect, stamps=stamps)
    for skipped in outcome.skipped:
        _notice(Notice(f"{skipped.path}:{skipped.line}", f"{', '.join(skipped.codes)} not suppressed: {skipped.reason}"))
    if not quiet:
        click.echo(f"Added {_count(outcome.comments, 'ignore comment')} to {_count(outcome.files, 'file')}.", err=True)
    return not outcome.skipped


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def _emit(output: str, output_file: Path | None) -> None:
    """The report to standard output, or atomically to `output_file` (its folder created)."""
    if output_file is None:
        click.echo(output, nl=False)
        return
    try:
        output_file.parent.mkdir(parents=True, exist_ok=True)
        # surrogateescape: a file name that is not UTF-8 is written back as the bytes it was.
        write_atomic(output_file, output.encode("utf-8", "surrogateescape"))
    except OSError as error:
        _fail(f"cannot write {output_file}: {error.strerror or error}")


# -- speed options (issue 7): processes, result cache, project index ------------------------------


def _speed_options(command: Callable[..., None]) -> Callable[..., None]:
    """How the analysis runs; none of these changes what it finds."""
    options = [
        click.option(
            "--jobs", "-j", type=click.IntRange(min=0), default=0, metavar="N",
            help="Analyse with N processes (default 0: one per CPU; 1: this process only). Findings do not depend on N.",
        ),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache."),
        click.option(
            "--cache-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
            help=f"Keep the result cache in DIR (default: {CACHE_FOLDER_NAME} in the project root, else the working folder).",
        ),
        click.option(
            "--project-index/--no-project-index", default=True, show_default=True,
            help="When only files are named (pre-commit, editors), read the rest of the project for its index "
            "(models, atomic writers) and report on the named files only.",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


# -- check ----------------------------------------------------------------------------------------


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
@click.option(
    "--quiet", "-q", is_flag=True, help="Print findings only: no summary, no notices but those of files that could not be analysed."
)
@click.option("--stdin-filename", help="With path `-`: read the source from stdin and report it under this name.")
@_speed_options
@_gate_options
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
    jobs: int,
    no_cache: bool,
    cache_dir: Path | None,
    project_index: bool,
    baseline_path: Path | None,
    write_baseline: Path | None,
    diff_ref: str | None,
    output_file: Path | None,
    add_ignore: bool,
) -> None:
    """Check PATHS (files and folders; default `.`) for transaction-safety bugs."""
    paths = paths or (".",)
    gate = _Gate(baseline_path, write_baseline, diff_ref, output_file, add_ignore)
    if "-" in paths and len(paths) > 1:
        _fail("`-` (stdin) cannot be combined with other paths")
    if statistics and output_format not in {"text", "json"}:
        _fail("--statistics prints text or json only")
    format_given = click.get_current_context().get_parameter_source("output_format") is ParameterSource.COMMANDLINE
    refusal = gate.refusal(paths, statistics, format_given)
    if refusal is not None:
        _fail(refusal)
    try:
        config = _load_config(config_file, paths, stdin_filename)
        if select:
            config = replace(config, select=_codes(select))
        config = replace(config, extend_select=config.extend_select + _codes(extend_select), ignore=config.ignore + _codes(ignore))
        enabled = enabled_codes(config.select, config.extend_select, config.ignore)
    except (ConfigError, SelectionError) as error:
        _fail(str(error))
        return
    found = None if paths == ("-",) else _discover(paths, config)
    cwd = os.getcwd()
    checked = [stdin_filename or "-"] if found is None else [display_path(p, cwd) for p in found.files]
    changed, known = _gate_inputs(gate, _git_start(paths), quiet)
    # Before the analysis: a file edited meanwhile must not get comments on lines that moved.
    stamps = {shown: stamp for shown in checked if (stamp := Stamp.of(shown)) is not None} if add_ignore else None
    engine = Engine(config, enabled, jobs=jobs or default_jobs(), cache_folder=cache_folder(config, cache_dir, no_cache))
    companions = IndexOnly([], [])
    if project_index and found is not None:
        companions = index_companions(paths, found.files, config)
    elif project_index and stdin_filename is not None and Path(stdin_filename).is_file():
        companions = index_companions((stdin_filename,), [Path(stdin_filename)], config)
    if found is None:
        result = engine.check_text(checked[0], sys.stdin.buffer.read(), companions.files, companions.display)
    else:
        files, shown = [*found.files, *companions.files], [*checked, *companions.display]
        result = engine.check_files(files, shown, [True] * len(checked) + [False] * len(companions.files))
        result.notices[:0] = found.notices
    root = _repository_root(config)
    result.notices += _gate_filter(result, gate, changed, known, lambda: {baseline_file.project_path(p, root) for p in checked}, enabled)
    for notice in result.notices:
        if notice.not_analysed or not quiet:  # a file that dropped out of the check is always shown
            _notice(notice)
    if write_baseline is not None:
        _write_baseline(write_baseline, result, root, quiet)
        sys.exit(0)
    if add_ignore:
        sys.exit(0 if _add_ignore(result, config, stamps, quiet) or exit_zero else 1)
    _emit(_report(result, output_format, statistics, quiet, root, enabled), output_file)
    # A file txlint could not analyse fails the run, as a parse error (TX000) does: unseen, its bugs would pass.
    failed = bool(result.findings) or any(notice.not_analysed for notice in result.notices)
    sys.exit(0 if exit_zero or not failed else 1)


def _discover(paths: tuple[str, ...], config: Config) -> Discovery:
    try:
        return discover_files([Path(p) for p in paths], config.root, config.exclude)
    except PathError as error:
        _fail(str(error))


def _report(result: RunResult, output_format: str, show_statistics: bool, quiet: bool, root: Path, enabled: frozenset[str]) -> str:
    if show_statistics:
        if output_format == "json":
            rows = [{"code": c, "name": n, "count": k} for c, n, k in statistics(result.findings)]
            return json.dumps(rows, indent=2) + "\n"
        return render_statistics(result.findings)
    context = ReportContext(result.files_checked, root, enabled, sum(n.not_analysed for n in result.notices))
    output = FORMATS[output_format](result.findings, context)
    if output_format == "text" and quiet:
        output = "".join(line + "\n" for line in output.splitlines()[:-1])
    return output


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
    except Exception as error:  # noqa: BLE001 - a bug of ours: say so briefly, exit 2
        click.echo(f"txlint: internal error: {type(error).__name__}: {clean(str(error))}", err=True)
        sys.exit(2)
