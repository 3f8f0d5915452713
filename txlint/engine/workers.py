"""Shards in this process or in child processes, driven phase by phase.

A child process holds one `Shard` for the whole run and answers one request
per phase over a pipe, so its parsed files stay where they were parsed
(shipping syntax trees between processes would cost more than parsing). The
run waits for every shard to finish a phase before it starts the next,
because each phase needs what all shards found in the one before.

A child that dies (killed, out of memory, a crash in native code) costs the
files it held, each reported with a notice; the other shards go on.

With a progress callback, a child also sends how many files it has done,
at most every `TICK_INTERVAL` seconds, before each phase's answer.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import gc
import multiprocessing
import sys
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from txlint.core.config import Config
from txlint.engine.deepstack import run_deep
from txlint.engine.gcpolicy import RUN_THRESHOLDS
from txlint.engine.shard import FileJob, Shard

# Seconds between two progress messages of a child process.
TICK_INTERVAL = 0.2
# Told how many more files a shard is done with (in one of the phases that count them).
Progress = Callable[[int], None]


class Phase(enum.Enum):
    """The phases of a run, in order (see `shard.Shard`)."""

    SUMMARISE = "summarise"  # read and parse every file; its table declarations
    WRITERS = "writers"  # with the project's schema: analyse every file; its atomic writers and function summaries
    REVISE = "revise"  # with the project's summaries: analyse again the files they answer differently now
    CALLS = "calls"  # the project calls each file makes, once the summaries are settled
    JUDGE = "judge"  # with every writer and call known: the rules; findings and notices


def run_phase(shard: Shard, phase: Phase, jobs: list[FileJob], argument: Any) -> Any:
    """One phase of one shard (the phase's input: the jobs, then what the phase before found)."""
    if phase is Phase.SUMMARISE:
        return shard.summarise(jobs)
    if phase is Phase.WRITERS:
        return shard.writers(*argument)
    if phase is Phase.REVISE:
        return shard.revise(argument)
    if phase is Phase.CALLS:
        return shard.call_sites()
    return shard.judge(*argument)


class LocalWorker:
    """A shard run in this process (`--jobs 1`, stdin, or a single file)."""

    def __init__(
        self,
        config: Config,
        enabled: frozenset[str],
        cache_folder: Path | None,
        jobs: list[FileJob],
        progress: Progress | None = None,
        shard: type[Shard] = Shard,
    ) -> None:
        self.shard = shard(config, enabled, cache_folder)
        if progress is not None:
            self.shard.on_file = functools.partial(progress, 1)
        self.jobs = jobs
        self._result: Any = None

    def start(self, phase: Phase, argument: Any) -> None:
        self._result = run_deep(functools.partial(run_phase, self.shard, phase, self.jobs, argument))

    def finish(self) -> tuple[Any, str | None]:
        return self._result, None

    @property
    def analysed(self) -> int:
        return self.shard.analysed

    def close(self) -> None:
        pass


class ProcessWorker:
    """A shard in a child process."""

    def __init__(self, config: Config, enabled: frozenset[str], cache_folder: Path | None, jobs: list[FileJob], progress: Progress | None = None) -> None:
        self.jobs = jobs
        self.analysed = 0
        self.dead: str | None = None
        self._progress = progress
        context = multiprocessing.get_context("fork") if sys.platform == "linux" else multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        args = (child, config, enabled, cache_folder, jobs, progress is not None)
        self._process = context.Process(target=_serve, args=args, daemon=True, name="txlint-shard")
        self._process.start()
        child.close()

    def start(self, phase: Phase, argument: Any) -> None:
        if self.dead is None:
            try:
                self._pipe.send((phase, None if phase is Phase.SUMMARISE else argument))
            except (OSError, EOFError, ValueError) as error:
                self.dead = f"worker process could not be reached: {error}"

    def finish(self) -> tuple[Any, str | None]:
        if self.dead is not None:
            return None, self.dead
        try:
            status, value, analysed = self._pipe.recv()
            while status == "tick":
                if self._progress is not None:
                    self._progress(value)
                status, value, analysed = self._pipe.recv()
        except (OSError, EOFError) as error:
            self._process.join(5)
            self.dead = f"worker process ended unexpectedly (exit code {self._process.exitcode}): {error or 'no reply'}"
            return None, self.dead
        self.analysed = analysed
        if status == "error":
            self.dead = f"internal error in a worker process: {value}"
            return None, self.dead
        return value, None

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError, ValueError):
            self._pipe.send(("stop", None))
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._pipe.close()


class _Ticks:
    """A child's count of files done, sent to the parent at most every `TICK_INTERVAL` seconds."""

    def __init__(self, pipe: Connection) -> None:
        self.pipe = pipe
        self.pending = 0
        self.sent_at = time.monotonic()

    def __call__(self) -> None:
        self.pending += 1
        if time.monotonic() - self.sent_at >= TICK_INTERVAL:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.pipe.send(("tick", self.pending, 0))
            self.pending, self.sent_at = 0, time.monotonic()


def _serve(pipe: Connection, config: Config, enabled: frozenset[str], cache_folder: Path | None, jobs: list[FileJob], ticks: bool) -> None:
    """The child's loop: one request per phase until told to stop."""
    gc.set_threshold(*RUN_THRESHOLDS)  # a spawned child does not inherit the parent's settings
    shard = Shard(config, enabled, cache_folder)
    counter = _Ticks(pipe) if ticks else None
    if counter is not None:
        shard.on_file = counter
    while True:
        try:
            phase, argument = pipe.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if not isinstance(phase, Phase):
            return
        try:
            value = run_deep(functools.partial(run_phase, shard, phase, jobs, argument))
            if counter is not None:
                counter.flush()
            pipe.send(("ok", value, shard.analysed))
        except BaseException as error:  # noqa: BLE001 - reported by the parent, which still finishes the run
            detail = "".join(traceback.format_exception_only(type(error), error)).strip()
            try:
                pipe.send(("error", detail, shard.analysed))
            except (OSError, ValueError):
                return


def partition(jobs: list[FileJob], shards: int, size_of: Callable[[FileJob], int]) -> list[list[FileJob]]:
    """Split files into `shards` groups of about equal total size (largest files first)."""
    groups: list[list[FileJob]] = [[] for _ in range(max(1, shards))]
    loads = [0] * len(groups)
    for job in sorted(jobs, key=lambda j: (-size_of(j), j.number)):
        smallest = loads.index(min(loads))
        groups[smallest].append(job)
        loads[smallest] += size_of(job) + 1
    for group in groups:
        group.sort(key=lambda j: j.number)
    return [g for g in groups if g]
