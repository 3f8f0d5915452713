"""The command line: `txlint check`, `txlint rules`, `txlint explain`. The only module that prints.

Exit status: 0 no findings, 1 findings, 2 a usage or configuration error (with
a message that names the problem, never a traceback). A file that could not be
analysed, or a named path that does not exist beside others that do, fails
the run (1) as ruff's E902 does; when no named path exists it is a usage error.
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

from txlint import __version__
from txlint.cli import baseline as baseline_file
from txlint.cli.add_ignore import Stamp, add_ignores
from txlint.cli.atomicfile import write_atomic
from txlint.cli.changed_lines import ChangedLines, ChangedLinesError, changed_since
from txlint.cli.colour import CHOICES as COLOUR_CHOICES
from txlint.cli.colour import wants_colour
from txlint.cli.fixing import FixInputs, FixRequest, applied, fix_refusal
from txlint.cli.inputs import InputError, Inputs, inputs_of
from txlint.cli.messages import codes as _codes
from txlint.cli.messages import fail as _fail
from txlint.cli.messages import notice as _notice
from txlint.cli.messages import with_options
from txlint.cli.progress import Progress
from txlint.cli.reporters import FORMATS, ReportContext
from txlint.cli.reporters.text import clean, render_statistics, statistics
from txlint.cli.show import files_text, settings_text
from txlint.cli.source_lines import SourceLines
from txlint.cli.trace import trace as trace_command
from txlint.core.config import Config
from txlint.core.ftypes import Notice
from txlint.core.registry import SelectionError, all_rules, enabled_codes
from txlint.engine.runner import Engine, RunResult
from txlint.project.discovery import MISSING, Discovery, display_path, within
from txlint.project.discovery import discover as discover_files
from txlint.project.layout import CACHE_FOLDER_NAME, IndexOnly, cache_folder, default_jobs, git_work_tree, index_companions, project_root
from txlint.project.settings import ConfigError, discover, load_file


def _repository_root(config: Config, inputs: Inputs) -> Path:
    """The folder SARIF and baseline paths are relative to: the git work tree holding the checked
    paths, else the config's folder, else the cwd when it holds them, else their folder.

    Found from the checked paths, so a run from another folder writes the same
    paths. Without a config file `config.root` is the first path's folder, which
    would make the other paths' files absolute `file:` URIs: hence the cwd.
    """
    folder = inputs.folder().resolve()
    here = Path.cwd().resolve()
    tree = git_work_tree(folder)
    if tree is not None:
        return tree
    if config.source is not None:
        return config.root
    return here if within(str(folder), str(here)) else folder


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
            "--changed-since", "diff_ref", metavar="REF",
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
    return with_options(command, options)


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
            return "--write-baseline records every finding, so it cannot be combined with --baseline or --changed-since"
        if action is not None and (statistics or self.output_file is not None or format_given):
            return f"{action} prints no report, so it cannot be combined with --statistics, --output-file or --format"
        if self.add_ignore and paths == ("-",):
            return "--add-ignore edits files, so it cannot read the source from stdin (`-`)"
        return None


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
            notices.append(Notice(f"--changed-since {gate.diff_ref}", f"{_count(len(result.findings) - len(kept), 'finding')} on unchanged lines not reported"))
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


def _emit(output: str, output_file: Path | None, colour: bool = False) -> None:
    """The report to standard output, or atomically to `output_file` (its folder created).
    `colour`: the output holds ANSI colour meant for stdout, even when it is not a terminal (FORCE_COLOR)."""
    if output_file is None:
        click.echo(output, nl=False, color=colour or None)
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
            help=f"Keep the result cache in DIR (default: {CACHE_FOLDER_NAME} in the project root, else in the first checked path's folder).",
        ),
        click.option(
            "--project-index/--no-project-index", default=True, show_default=True,
            help="When only files are named (pre-commit, editors), read the rest of the project for its index "
            "(models, atomic writers) and report on the named files only.",
        ),
    ]  # fmt: skip
    return with_options(command, options)


# -- output options (issue 16): format, colour, what to show instead of a check -------------------

TEXT_FORMATS = frozenset({"text", "full", "concise"})


def _output_options(command: Callable[..., None]) -> Callable[..., None]:
    """How the report looks, and the two questions `check` answers without checking."""
    formats = click.Choice(sorted(FORMATS))
    options = [
        click.option(
            "--format", "output_format", type=formats, default=None, metavar="FORMAT",
            help=f"Output format: {', '.join(sorted(FORMATS))}. Default `full`: each finding with its source line and "
            "carets under the code (`text` is the same); `concise`: one line per finding.",
        ),
        click.option("--output-format", "output_format_alias", type=formats, default=None, metavar="FORMAT", help="The same as --format (ruff's name)."),
        click.option(
            "--color", "color", type=click.Choice(COLOUR_CHOICES), default="auto", show_default=True,
            help="Colour the text formats: `auto` on a terminal (a non-empty NO_COLOR turns it off, FORCE_COLOR on), "
            "`always`, `never`. Never in json, sarif, github or --output-file.",
        ),
        click.option(
            "--show-settings", is_flag=True,
            help="Print the resolved settings (configuration file, project root, cache folder, enabled codes, "
            "every [tool.txlint] key) and exit 0 without checking.",
        ),
        click.option(
            "--show-files", is_flag=True,
            help="Print the files that would be checked, one a line (and those read for the project index only, "
            "marked), and exit 0 without checking.",
        ),
    ]  # fmt: skip
    return with_options(command, options)


def _output_format(given: str | None, alias: str | None) -> str:
    """`--format` or `--output-format` (the same option under ruff's name); both, only when they agree."""
    if given is not None and alias is not None and FORMATS[given] is not FORMATS[alias]:
        _fail(f"--format {given} and --output-format {alias} disagree: give one of them")
    return given or alias or "full"


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


# -- fixes (ruff's convention) ----------------------------------------------------------------------


def _fix_options(command: Callable[..., None]) -> Callable[..., None]:
    """`--fix`, `--unsafe-fixes`, `--show-fixes`, `--diff`: what `check` does with the fixes it finds."""
    options = [
        click.option("--fix", is_flag=True, help="Apply the safe fixes (each verified: the file re-analysed without that finding and nothing new)."),
        click.option("--unsafe-fixes", is_flag=True, help="With --fix or --diff, also the fixes that change behaviour (take a lock, choose a TTL)."),
        click.option("--show-fixes", is_flag=True, help="With --fix, list the fixes applied per file."),
        click.option("--diff", "fix_diff", is_flag=True, help="Print the fixes as a unified diff instead of applying them; exit 1 when there is one (the changed-lines gate is --changed-since)."),
    ]  # fmt: skip
    return with_options(command, options)


# -- check ----------------------------------------------------------------------------------------


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--select", multiple=True, help="Only these codes or prefixes (comma-separated), e.g. TX1,TX201.")
@click.option("--extend-select", multiple=True, help="Add these codes or prefixes to the selection.")
@click.option("--ignore", multiple=True, help="Do not report these codes or prefixes.")
@_output_options
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--statistics", is_flag=True, help="Print how many findings each code has instead of the findings.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), help="Read settings from this file.")
@click.option(
    "--quiet", "-q", is_flag=True,
    help="Print findings only: no summary, no progress, no notices but those of files that could not be analysed.",
)  # fmt: skip
@click.option(
    "--stdin-filename", metavar="NAME",
    help="Read the source from stdin (with or without the path `-`) and report it under NAME; no other path may be given.",
)  # fmt: skip
@_speed_options
@_gate_options
@_fix_options
def check(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    output_format: str | None,
    output_format_alias: str | None,
    color: str,
    show_settings: bool,
    show_files: bool,
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
    fix: bool,
    unsafe_fixes: bool,
    show_fixes: bool,
    fix_diff: bool,
) -> None:
    """Check PATHS (files and folders; default `.`) for transaction-safety bugs."""
    try:
        inputs = inputs_of(paths, stdin_filename)
    except InputError as error:
        _fail(str(error))
    chosen = _output_format(output_format, output_format_alias)
    gate = _Gate(baseline_path, write_baseline, diff_ref, output_file, add_ignore)
    if statistics and chosen not in TEXT_FORMATS | {"json"}:
        _fail("--statistics prints text or json only")
    refusal = gate.refusal(inputs.paths, statistics, output_format is not None or output_format_alias is not None)
    if refusal is not None:
        _fail(refusal)
    if fix or fix_diff:
        refusal = fix_refusal(inputs, gate.add_ignore or gate.write_baseline is not None, fix_diff)
        if refusal is not None:
            _fail(refusal)
    config, enabled = _settings(config_file, inputs, select, extend_select, ignore)
    cache = cache_folder(config, cache_dir, no_cache)
    if show_settings or show_files:
        _show(inputs, config, enabled, cache, settings=show_settings, files=show_files, project_index=project_index, quiet=quiet)
    found = None if inputs.stdin else _discover(inputs.paths, config)
    cwd = os.getcwd()
    checked = [inputs.shown] if found is None else [display_path(p, cwd) for p in found.files]
    changed, known = _gate_inputs(gate, inputs.folder(), quiet)
    # Before the analysis: a file edited meanwhile must not get comments on lines that moved.
    stamps = {shown: stamp for shown in checked if (stamp := Stamp.of(shown)) is not None} if add_ignore or fix or fix_diff else None
    companions = _companions(inputs, found, config, project_index)
    stdin_data = sys.stdin.buffer.read() if found is None else None
    engine = Engine(config, enabled, jobs=jobs or default_jobs(), cache_folder=cache)
    result = _analyse(engine, found, checked, companions, stdin_data, quiet)
    root = _repository_root(config, inputs)
    everything = list(result.findings)  # before a baseline or a diff gate hides some: a fix must not add to them
    result.notices += _gate_filter(result, gate, changed, known, lambda: {baseline_file.project_path(p, root) for p in checked}, enabled)
    for notice in result.notices:
        if notice.not_analysed or not quiet:  # a file that dropped out of the check is always shown
            _notice(notice)
    if found is not None and not found.files and not quiet:
        _nothing_found(inputs.paths, found)
    if write_baseline is not None:
        _write_baseline(write_baseline, result, root, quiet)
        sys.exit(0)
    if add_ignore:
        sys.exit(0 if _add_ignore(result, config, stamps, quiet) or exit_zero else 1)
    if fix or fix_diff:
        assert found is not None and stamps is not None
        project = ([*found.files, *companions.files], [*checked, *companions.display])
        request = FixRequest(unsafe_fixes, fix_diff, show_fixes, quiet, exit_zero)
        result.findings = applied(FixInputs(result.findings, everything, (config, enabled, cache), project, stamps), request)
    colour = not statistics and output_file is None and chosen in TEXT_FORMATS and wants_colour(color, os.environ, _is_terminal(sys.stdout))
    source = SourceLines(config.max_file_size, {checked[0]: stdin_data} if stdin_data is not None else None)
    context = ReportContext(result.files_checked, root, enabled, sum(n.not_analysed for n in result.notices), source, colour)
    _emit(_report(result, chosen, statistics, quiet, context), output_file, colour)
    # A file txlint could not analyse (or a named path that does not exist) fails the run, as a
    # parse error (TX000) does: unseen, its bugs would pass.
    failed = bool(result.findings) or any(notice.not_analysed for notice in result.notices)
    sys.exit(0 if exit_zero or not failed else 1)


def _analyse(engine: Engine, found: Discovery | None, checked: list[str], companions: IndexOnly, stdin_data: bytes | None, quiet: bool) -> RunResult:
    """Run the engine over the files (or stdin's source), with progress on a terminal's stderr."""
    progress = Progress(sys.stderr, len(checked)) if not quiet and _is_terminal(sys.stderr) else None
    engine.progress = progress
    try:
        if found is None:
            return engine.check_text(checked[0], stdin_data or b"", companions.files, companions.display)
        files, shown = [*found.files, *companions.files], [*checked, *companions.display]
        result = engine.check_files(files, shown, [True] * len(checked) + [False] * len(companions.files))
        result.notices[:0] = found.notices
        return result
    finally:
        if progress is not None:
            progress.close()


def _settings(
    config_file: Path | None, inputs: Inputs, select: tuple[str, ...], extend_select: tuple[str, ...], ignore: tuple[str, ...]
) -> tuple[Config, frozenset[str]]:
    """The configuration (`--config`, else the one that applies to what is checked) with the command line's selection."""
    try:
        config = load_file(config_file) if config_file is not None else discover(inputs.anchor())
        if select:
            config = replace(config, select=_codes(select))
        config = replace(config, extend_select=config.extend_select + _codes(extend_select), ignore=config.ignore + _codes(ignore))
        return config, enabled_codes(config.select, config.extend_select, config.ignore)
    except (ConfigError, SelectionError) as error:
        _fail(str(error))


def _discover(paths: tuple[str, ...], config: Config) -> Discovery:
    """The files to check. A path that does not exist is a not-analysed notice (the run goes on and fails);
    when none of them exists there is nothing to check: a usage error."""
    found = discover_files([Path(p) for p in paths], config.root, config.exclude, missing_ok=True)
    if len(found.missing) == len(paths):
        _fail("; ".join(f"{path}: {MISSING}" for path in found.missing))
    return found


def _nothing_found(paths: tuple[str, ...], found: Discovery) -> None:
    """Say so when the paths hold nothing to check: an empty report alone looks like a clean one."""
    under = [p for p in paths if p not in found.missing]
    named = ", ".join(under[:3]) + (f" and {len(under) - 3} more" if len(under) > 3 else "")  # pre-commit may pass hundreds
    click.echo(f"No Python or SQL files found under {clean(named)}.", err=True)


def _companions(inputs: Inputs, found: Discovery | None, config: Config, wanted: bool) -> IndexOnly:
    """The project's files read for its index only (see `layout.index_companions`)."""
    if not wanted:
        return IndexOnly([], [])
    if found is not None:
        return index_companions(tuple(p for p in inputs.paths if p not in found.missing), found.files, config)
    if inputs.stdin_name is not None and Path(inputs.stdin_name).is_file():
        return index_companions((inputs.stdin_name,), [Path(inputs.stdin_name)], config)
    return IndexOnly([], [])


def _show(inputs: Inputs, config: Config, enabled: frozenset[str], cache: Path | None, *, settings: bool, files: bool, project_index: bool, quiet: bool) -> NoReturn:
    """`--show-settings` and `--show-files`: print what a check would use, exit 0."""
    parts = []
    if settings:
        parts.append(settings_text(config, enabled, project_root(config) or config.root, cache))
    if files:
        found = None if inputs.stdin else _discover(inputs.paths, config)
        for notice in found.notices if found is not None else []:
            if notice.not_analysed or not quiet:
                _notice(notice)
        if found is not None and not found.files and not quiet:
            _nothing_found(inputs.paths, found)
        checked = [inputs.shown] if found is None else [display_path(p) for p in found.files]
        parts.append(files_text(checked, _companions(inputs, found, config, project_index).display, stdin=inputs.stdin))
    click.echo("\n".join(parts), nl=False)
    sys.exit(0)


def _report(result: RunResult, output_format: str, show_statistics: bool, quiet: bool, context: ReportContext) -> str:
    if show_statistics:
        if output_format == "json":
            rows = [{"code": c, "name": n, "count": k} for c, n, k in statistics(result.findings)]
            return json.dumps(rows, indent=2) + "\n"
        return render_statistics(result.findings)
    output = FORMATS[output_format](result.findings, context)
    if output_format in TEXT_FORMATS and quiet:
        output = "".join(line + "\n" for line in output.splitlines()[:-1])
    return output


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
    """The README's rule table, generated from the rule modules, each code linked to its page."""
    from txlint.cli.docs_pages import rule_table
    from txlint.core.links import rule_doc_path

    return rule_table(rule_doc_path)


@cli.command()
@click.argument("code")
def explain(code: str) -> None:
    """Print the documentation of rule CODE (what it does, why it is bad, example, use instead)."""
    rule = all_rules().get(code.strip().upper())
    if rule is None:
        _fail(f"unknown rule code `{code}` (see `txlint rules`)")
        return
    click.echo(rule.explain(), nl=False)


@cli.command()
def server() -> None:
    """Run the language server over stdin/stdout, for editors (needs the `lsp` extra: pip install "txlint[lsp]")."""
    try:
        from txlint.server.app import serve
    except ImportError as error:
        _fail(f"the language server needs pygls and lsprotocol: pip install \"txlint[lsp]\" ({error})")
    serve()


cli.add_command(trace_command)


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
