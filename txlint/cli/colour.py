"""Whether the text report is coloured: `--color`, then `NO_COLOR`, then `FORCE_COLOR`, then the terminal.

`--color always|never` decides alone. With `auto` (the default) a non-empty
`NO_COLOR` (no-color.org) switches colour off, else a non-empty `FORCE_COLOR`
(force-color.org) switches it on even when stdout is not a terminal, else
colour follows whether stdout is a terminal. When both variables are set the
user's opt-out wins, as in CPython's own `_colorize`. Only the text formats
are ever coloured: never json, sarif, github, statistics, or `--output-file`.
"""

from __future__ import annotations

from collections.abc import Mapping

CHOICES = ("auto", "always", "never")


def wants_colour(choice: str, environ: Mapping[str, str], is_terminal: bool) -> bool:
    """The decision for one run.

    >>> wants_colour("auto", {"FORCE_COLOR": "1"}, False)
    True
    """
    if choice != "auto":
        return choice == "always"
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return is_terminal
