"""What every runtime source is told: one options object instead of the same five parameters spelled
out by each source, its monitor and the public `watch()`/`wrap()` functions.

The public functions keep their keyword arguments (`watch(engine, mode="raise", select=["TX101"])`),
typed by `OptionFields`; they build one `RuntimeOptions` and hand it to their monitor. A name that
is no option is refused with the list of those that are, rather than Python's bare TypeError.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import TypedDict

from txlint.core.config import Config

MODES = ("warn", "log", "raise", "collect")


class OptionFields(TypedDict, total=False):
    """The keyword options every source accepts beside `mode` (see `RuntimeOptions`)."""

    select: Iterable[str] | None
    ignore: Iterable[str]
    config: Config | None
    show_values: bool
    read_source: bool


@dataclass(frozen=True)
class RuntimeOptions:
    """How a monitor reports and what it judges.

    mode: "warn" (a `TransactionSafetyWarning`), "log" (the `txlint` logger), "raise"
        (`TransactionSafetyError`, for tests) or "collect" (only `monitor.findings`).
    select: the codes (or prefixes) to report; None: every runtime code on by default.
    ignore: codes (or prefixes) not to report.
    config: naming conventions (money, version, non-negative columns); None: the `[tool.txlint]`
        settings of the working directory's project.
    show_values: let findings and logs show bound values (and literals in SQL). Off by default:
        values are card numbers and passwords as often as ids.
    read_source: ask the application's source whether a value written was computed from the one
        read (TX101, clarification 17), and point a finding at the assignment rather than the line
        that flushed it. On by default; off: judged by the values alone (no file is parsed).
    """

    mode: str = "warn"
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    config: Config | None = None
    show_values: bool = False
    read_source: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")

    @classmethod
    def of(cls, mode: str = "warn", **options: object) -> RuntimeOptions:
        """The options of a public call (`watch(engine, mode, **options)`), checked."""
        known = {f.name for f in fields(cls)} - {"mode"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown runtime option(s) {', '.join(unknown)}; the options are mode, {', '.join(sorted(known))}")
        select = options.get("select")
        ignore = options.get("ignore") or ()
        config = options.get("config")
        if config is not None and not isinstance(config, Config):
            raise TypeError(f"runtime option config must be a txlint Config, not {type(config).__name__}")
        return cls(
            mode,
            select=_codes(select, "select") if select is not None else None,
            ignore=_codes(ignore, "ignore"),
            config=config,
            show_values=bool(options.get("show_values", False)),
            read_source=bool(options.get("read_source", True)),
        )


def _codes(value: object, name: str) -> tuple[str, ...]:
    """Codes or prefixes: one string, or any iterable of strings."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        items = tuple(value)
        if all(isinstance(item, str) for item in items):
            return items
    raise TypeError(f"runtime option {name} must be codes or prefixes (strings), not {type(value).__name__}")
