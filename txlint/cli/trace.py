"""`txlint trace`: the patterns in a database's statement log, whatever language sent the statements.

PostgreSQL (`log_statement = 'all'`, stderr log) and MySQL/MariaDB (the general query log) record
every statement of every connection in order. The log is read as a stream (state per open
connection only) and judged by the runtime's trace analyser and the same rules; findings point at
the log's file and line. Exit status as `check`: 0 no findings, 1 findings, 2 a usage error.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import itertools
import lzma
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, NoReturn

import click

from txlint.cli.messages import codes, notice
from txlint.cli.messages import fail as _fail
from txlint.cli.reporters import FORMATS, ReportContext
from txlint.core.config import Config
from txlint.core.ftypes import Finding, Notice
from txlint.core.registry import SelectionError, enabled_codes
from txlint.project.settings import ConfigError, discover, load_file
from txlint.runtime.logs import mysql, postgres
from txlint.runtime.logs.events import Event
from txlint.runtime.logs.replay import LogReplay

DIALECTS = {"postgres": "postgres", "mysql": "mysql"}
REPORT_FORMATS = ("full", "concise", "text", "json", "sarif", "github")


@click.command("trace")
@click.argument("logs", nargs=-1, required=True)
@click.option("--log-format", type=click.Choice(sorted(DIALECTS)), required=True, help="Whose log: PostgreSQL's (stderr, csvlog or jsonlog: told apart by their lines) or MySQL's/MariaDB's general query log.")
@click.option(
    "--log-line-prefix", default=postgres.AUTO, show_default=True, metavar="PREFIX",
    help="PostgreSQL's log_line_prefix (it must hold %p or %c); auto: Debian's, PostgreSQL's own, RDS's, pgBadger's, Cloud SQL's and Azure's are told apart by the log's first lines.",
)  # fmt: skip
@click.option(
    "--autocommit-default", type=click.Choice(["on", "off"]), default="on", show_default=True,
    help="MySQL: whether a connection that says nothing runs in autocommit (the server's autocommit setting).",
)  # fmt: skip
@click.option("--format", "--output-format", "output_format", type=click.Choice(REPORT_FORMATS), default="concise", show_default=True, help="Output format.")
@click.option("--select", multiple=True, help="Only these codes or prefixes.")
@click.option("--ignore", multiple=True, help="Do not report these codes or prefixes.")
@click.option("--show-values", is_flag=True, help="Show the statements' values in findings (masked by default: they are card numbers as often as ids).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), help="Read settings (money-columns, ...) from this file.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option(
    "--follow", "-f", is_flag=True,
    help="Keep reading the log as it grows (as `tail -f`), printing each finding when it is found, until interrupted.",
)  # fmt: skip
def trace(
    logs: tuple[str, ...],
    log_format: str,
    log_line_prefix: str,
    autocommit_default: str,
    output_format: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    show_values: bool,
    config_file: Path | None,
    exit_zero: bool,
    follow: bool,
) -> None:
    """Find transaction-safety bugs in database statement LOGS (`-` for standard input)."""
    config = _config(config_file, select, ignore)
    if follow and (len(logs) != 1 or output_format not in {"concise", "github"}):
        _fail("--follow reads one log and prints each finding as it comes: --format concise or github")
    if follow and logs[0] != "-" and os.path.isfile(logs[0]) and _compression(logs[0]) is not None:
        _fail(f"--follow reads a log as the server writes it: {logs[0]} is compressed")
    enabled = enabled_codes(config.select, config.extend_select, config.ignore)
    if log_format == "postgres" and log_line_prefix != postgres.AUTO:
        try:
            postgres.prefix_pattern(log_line_prefix)
        except postgres.PrefixError as error:
            _fail(str(error))
    if follow:
        _follow(logs[0], LogReplay(logs[0], DIALECTS[log_format], config, enabled=enabled, show_values=show_values, autocommit=autocommit_default == "on"), log_format, log_line_prefix, output_format, enabled, exit_zero)
    findings: list[Finding] = []
    statements = 0
    for name in logs:
        replay = LogReplay(name, DIALECTS[log_format], config, enabled=enabled, show_values=show_values, autocommit=autocommit_default == "on")
        with _opened(name) as stream:
            unreadable: list[BaseException] = []
            findings += replay.feed(_events(name, _until_unreadable(stream, unreadable), log_format, log_line_prefix))
            if unreadable:  # a compressed log cut short (copied while logrotate wrote it)
                notice(Notice(name, f"read up to where it stops being readable ({unreadable[0] or type(unreadable[0]).__name__}): judged as if it ended there"))
        statements += replay.statements
        if not replay.statements:
            _nothing_read(name, log_format, log_line_prefix)
    findings = _unique(findings)
    context = ReportContext(len(logs), Path.cwd(), enabled)
    click.echo(FORMATS[output_format](findings, context), nl=False)
    click.echo(f"txlint trace: {statements} statements read in {len(logs)} log{'s' if len(logs) != 1 else ''}.", err=True)
    sys.exit(0 if exit_zero or not findings else 1)


def _follow(name: str, replay: LogReplay, log_format: str, prefix: str, output_format: str, enabled: frozenset[str], exit_zero: bool) -> NoReturn:
    """Read a growing log until interrupted, printing each new finding at once."""
    context = ReportContext(1, Path.cwd(), enabled)
    found = 0
    seen: set[tuple[str, str, int, str]] = set()
    try:
        with _opened(name) as first:
            stream: IO[str] | None = first
            while stream is not None:  # a log rotated is read again from its start, its lines counted anew
                growing = _Growing(name, stream)
                for finding in replay.feed(_events(name, growing.lines(), log_format, prefix)):
                    if _identity(finding) in seen:
                        continue
                    seen.add(_identity(finding))
                    found += 1
                    report = FORMATS[output_format]([finding], context)
                    click.echo("".join(line + "\n" for line in report.splitlines() if not line.startswith(("Found ", "No findings"))), nl=False)
                stream = growing.next
    except KeyboardInterrupt:
        click.echo(f"txlint trace: {replay.statements} statements read, {found} finding{'s' if found != 1 else ''}.", err=True)
    sys.exit(0 if exit_zero or not found else 1)


class _Growing:
    """A log as it is written, until it is rotated."""

    def __init__(self, name: str, stream: IO[str], pause: float = 0.25) -> None:
        self.name, self.stream, self.pause = name, stream, pause
        self.next: IO[str] | None = None  # once `lines` ends: the log to read from its start

    def lines(self) -> Iterator[str]:
        """Its lines: at its end, wait for more; a line is given out once its newline is written,
        and an empty string each time the log stops growing (the readers then take what they hold
        as whole). Ends when the log is rotated: truncated in place (`copytruncate`: `next` is the
        same file, from its start), or renamed and made anew under its name (logrotate's default:
        `next` is the new file, once the old one has nothing more)."""
        stream, partial, idle = self.stream, "", True
        while True:
            line = stream.readline()
            if line:
                partial += line
                if partial.endswith("\n"):
                    yield partial
                    partial, idle = "", False
                continue
            if not idle:
                yield postgres.IDLE_LINE  # the readers take it as "nothing more for now"
                idle = True
            rotated = _rotated(self.name, stream)
            if rotated == "truncated":
                stream.seek(0)
                self.next = stream
                return
            if rotated == "renamed":
                with contextlib.suppress(OSError):
                    self.next = open(self.name, encoding="utf-8", errors="replace", newline="\n")  # noqa: SIM115 - closed by the caller
                    if stream is not sys.stdin:
                        stream.close()
                    return
            time.sleep(self.pause)


def _until_unreadable(stream: Iterable[str], errors: list[BaseException]) -> Iterator[str]:
    """The lines of a log up to where it cannot be read any more (the error kept in `errors`): the
    readers then take it as ended, and judge what they hold."""
    try:
        yield from stream
    except (EOFError, OSError, lzma.LZMAError) as error:
        errors.append(error)


def _rotated(name: str, stream: IO[str]) -> str | None:
    """How the log being read was rotated, if it was: "truncated" (shorter than what was read of
    it) or "renamed" (another file is under its name now)."""
    if name == "-":
        return None
    try:
        opened = os.fstat(stream.fileno())
        if opened.st_size < stream.tell():
            return "truncated"
        now = os.stat(name)
    except (OSError, ValueError):
        return None
    return "renamed" if (now.st_ino, now.st_dev) != (opened.st_ino, opened.st_dev) else None


def _nothing_read(name: str, log_format: str, prefix: str) -> None:
    """Say so when a log gave no statement: the wrong --log-format, a prefix its lines do not have,
    a server not logging statements."""
    head = _head(name)
    if log_format == "mysql" and any(postgres.looks_like_postgres(line) for line in head):
        hint = "it is a PostgreSQL log: --log-format postgres"
    elif log_format == "postgres" and prefix != postgres.AUTO and head and postgres.detect_prefix(head, [prefix]) is None:
        hint = f"no line of it starts with the log_line_prefix {prefix!r} (psql: SHOW log_line_prefix)"
    elif log_format == "postgres":
        hint = "is it a PostgreSQL log, written with log_statement = 'all' (or log_min_duration_statement = 0)?"
    else:
        hint = "is it a MySQL or MariaDB general query log (general_log = ON)?"
    notice(Notice(name, f"no statement in it: {hint}"))


def _head(name: str, lines: int = 200) -> list[str]:
    """The first lines of a log (none of standard input: it is read)."""
    if name == "-":
        return []
    with contextlib.suppress(OSError), _opened(name) as stream:
        return list(itertools.islice(stream, lines))
    return []


def _config(config_file: Path | None, select: tuple[str, ...], ignore: tuple[str, ...]) -> Config:
    try:
        config = load_file(config_file) if config_file is not None else discover(Path.cwd())
        config = replace(config, select=codes(select) or config.select, ignore=config.ignore + codes(ignore))
        enabled_codes(config.select, config.extend_select, config.ignore)
    except (ConfigError, SelectionError) as error:
        _fail(str(error))
    return config


def _events(name: str, stream: Iterable[str], log_format: str, prefix: str) -> Iterator[Event]:
    if log_format == "postgres":
        try:
            return postgres.any_events(stream, prefix, warn=lambda reason: notice(Notice(name, reason)))
        except (postgres.PrefixError, postgres.LogError) as error:
            _fail(f"{name}: {error}")
    return mysql.events(stream)


def _compression(name: str) -> str | None:
    """gzip, bzip2, xz or zstd (the compressions logrotate is set up with), by a file's first bytes;
    "binary" when they are no text; None for text."""
    with open(name, "rb") as raw:
        start = raw.read(4096)
    for magic, what in ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd")):
        if start.startswith(magic):
            return what
    control = sum(1 for byte in start if byte < 9 or 13 < byte < 32)  # a blob in a statement has a few; a compressed file, one in eight
    return "binary" if start and control > len(start) // 20 else None


_OPENERS: dict[str, Callable[..., IO[str]]] = {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}


class _opened:
    """A log opened as text (`-`: standard input); a log that cannot be read is a usage error."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stream: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        if self.name == "-":
            return sys.stdin
        try:
            # Lines end at a line feed only (a carriage return alone in a value is no line break:
            # line numbers are as `grep -n` counts them).
            compression = _compression(self.name)
            if compression in _OPENERS:  # a log rotated and compressed (`postgresql.log.2.gz`)
                self.stream = _OPENERS[compression](self.name, "rt", encoding="utf-8", errors="replace", newline="\n")
            elif compression is not None:
                _fail(f"{self.name}: not a text log ({compression}: decompress it first)")
            else:
                self.stream = open(self.name, encoding="utf-8", errors="replace", newline="\n")  # noqa: SIM115 - closed by __exit__
        except IsADirectoryError:
            _fail(f"{self.name}: is a folder, not a log")
        except OSError as error:
            _fail(f"{self.name}: {getattr(error, 'strerror', None) or error}")
        return self.stream

    def __exit__(self, *exc: object) -> None:
        if self.stream is not None:
            self.stream.close()


def _unique(findings: list[Finding]) -> list[Finding]:
    """Each finding once (the same statement text repeated by a loop is one finding per line anyway)."""
    seen: set[tuple[str, str, int, str]] = set()
    out = []
    for finding in findings:
        if _identity(finding) not in seen:
            seen.add(_identity(finding))
            out.append(finding)
    return out


def _identity(finding: Finding) -> tuple[str, str, int, str]:
    """What makes two findings of a log the same one."""
    return (finding.code, finding.path, finding.line, finding.message)
