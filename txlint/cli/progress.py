"""A progress line on stderr for long runs: `txlint: checking 485 files... 37%`.

A run that ends within `DELAY` seconds shows nothing, so short runs (and the
pre-commit hook on a few files) look as they always did. The CLI asks for
it only when stderr is a terminal and `--quiet` is off: a CI log or a
redirected stderr never gets carriage returns. The line is rewritten in
place with `\\r` and erased when the run ends, leaving the report as it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

DELAY = 2.0  # seconds before the line first appears
INTERVAL = 0.1  # seconds between two redraws


class Progress:
    """The engine's `progress(done, total)` callback, drawn on `stream`."""

    def __init__(self, stream: TextIO, files: int, *, delay: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.files = files
        self.delay = DELAY if delay is None else delay
        self.clock = clock
        self.started = clock()
        self.drawn_at: float | None = None
        self.width = 0

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if now - self.started < self.delay or (self.drawn_at is not None and now - self.drawn_at < INTERVAL and done < total):
            return
        percent = 100 * done // total if total else 100
        line = f"txlint: checking {self.files} file{'' if self.files == 1 else 's'}... {percent}%"
        self._write("\r" + line.ljust(self.width))
        self.width = len(line)
        self.drawn_at = now

    def close(self) -> None:
        """Erase the line, if one was drawn."""
        if self.drawn_at is not None:
            self._write("\r" + " " * self.width + "\r")
            self.drawn_at = None

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed terminal must not end the run
            pass
