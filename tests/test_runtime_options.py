"""One options object for every runtime source: what `watch()`, `wrap()` and `watch_django()` accept."""

from __future__ import annotations

import sqlite3

import pytest

from txlint.core.config import Config
from txlint.runtime import wrap
from txlint.runtime.options import RuntimeOptions


def test_options_are_checked_once_for_every_source() -> None:
    options = RuntimeOptions.of("collect", select="TX10", ignore=["TX106"], show_values=True)
    assert options == RuntimeOptions("collect", select=("TX10",), ignore=("TX106",), show_values=True)
    with pytest.raises(TypeError, match=r"unknown runtime option\(s\) selct; the options are mode, config, ignore, read_source, select, show_values"):
        RuntimeOptions.of("warn", selct=["TX101"])
    with pytest.raises(ValueError, match="mode must be one of warn, log, raise, collect, not 'loud'"):
        RuntimeOptions.of("loud")
    with pytest.raises(TypeError, match="config must be a txlint Config"):
        RuntimeOptions.of("warn", config={"money_columns": ["balance"]})
    with pytest.raises(TypeError, match="select must be codes or prefixes"):
        RuntimeOptions.of("warn", select=[101])


def test_a_source_hands_its_options_to_its_monitor() -> None:
    config = Config(money_columns=("credits",))
    connection = wrap(sqlite3.connect(":memory:"), "collect", select=["TX101"], config=config)
    try:
        monitor = connection.txlint_monitor
        assert monitor.options == RuntimeOptions("collect", select=("TX101",), config=config)
        assert monitor.analyser.enabled == frozenset({"TX101"}) and monitor.analyser.config is config
    finally:
        connection.close()
    with pytest.raises(TypeError, match="unknown runtime option"):
        wrap(sqlite3.connect(":memory:"), "collect", show_value=True)  # type: ignore[call-arg]
