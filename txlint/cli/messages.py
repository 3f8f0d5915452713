"""What every command of the CLI says the same way: a usage error (exit 2), a notice on stderr, a
list of codes, a block of options."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from txlint.cli.reporters.text import clean
from txlint.core.ftypes import Notice


def fail(message: str) -> NoReturn:
    """A usage or configuration error: the message on stderr, exit status 2, never a traceback."""
    click.echo(f"txlint: error: {clean(message)}", err=True)
    sys.exit(2)


def notice(item: Notice) -> None:
    click.echo(f"{clean(item.path)}: {clean(item.reason)}", err=True)


def codes(values: tuple[str, ...]) -> tuple[str, ...]:
    """`--select TX1,TX2 --select TX3` → ("TX1", "TX2", "TX3")."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def with_options(command: Callable[..., None], options: list[Callable[[Any], Any]]) -> Callable[..., None]:
    """`command` with `options`, listed in the order `--help` shows them."""
    for option in reversed(options):
        command = option(command)
    return command
