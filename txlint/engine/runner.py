"""Runs the analysis: split the files into shards, drive them through the three phases, merge.

The phases (see `shard.py`) are: every file's table declarations, then every
file's atomic writers against the whole schema, then the rules. The engine
builds nothing itself; it hands each phase's merged facts to every shard, in
the run's file order, so `--jobs 1` and `--jobs N` build the same index and
report the same findings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from txlint.core.config import Config
from txlint.core.ftypes import Finding, Notice
from txlint.core.index import AtomicWriter, TableDecl
from txlint.core.summaries import CallSite, FunctionSummary, Symbol
from txlint.engine.gcpolicy import few_collections
from txlint.engine.result_cache import ResultCache
from txlint.engine.run_memo import RunMemo
from txlint.engine.shard import PROGRESS_PHASES, FileJob, FileOutcome, Shard
from txlint.engine.workers import LocalWorker, Phase, ProcessWorker, partition
from txlint.project.one_off import is_one_off_in

S = TypeVar("S", bound=Shard)

# Rounds of summaries after the first analysis: a helper's summary reaches its callers' callers one
# round later; a cycle in the call graph stops here, whatever it has not settled.
SUMMARY_ROUNDS = 4
# Below this many files a second process costs more than it saves.
MIN_FILES_PER_PROCESS = 4


@dataclass
class RunResult:
    """Everything a run produced, in a stable order."""

    findings: list[Finding] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    files_checked: int = 0
    files_analysed: int = 0  # analysed in this run rather than served from the cache
    processes: int = 1  # how many processes analysed (1: this one)


class Engine:
    """One configured run over a set of files.

    `jobs` is the number of processes (1: this process only); `cache_folder`
    enables the on-disk result cache there (None: no cache). `progress`, when
    given, is called as `progress(done, total)` while the run goes on (steps
    of a file's work; the CLI turns it into a display, the engine prints nothing).
    """

    def __init__(
        self,
        config: Config,
        enabled: frozenset[str],
        *,
        jobs: int = 1,
        cache_folder: Path | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.config = config
        self.enabled = enabled
        self.jobs = max(1, jobs)
        self.cache_folder = cache_folder
        self.progress = progress
        self._root = os.path.abspath(config.root)

    def check_files(self, files: Sequence[Path], display: Sequence[str], report: Sequence[bool] | None = None) -> RunResult:
        """Check `files`, reported under the names in `display`.

        `report[i]` False reads file i for the project index only: its
        declarations and atomic writers count, its findings are not wanted.
        """
        wanted = report if report is not None else [True] * len(files)
        jobs = [
            FileJob(n, shown, file=path, report=flag, judged=self.judged(path))
            for n, (path, shown, flag) in enumerate(zip(files, display, wanted, strict=True))
        ]
        return self._run(jobs)

    def check_text(self, display: str, data: bytes, index_files: Sequence[Path] = (), index_display: Sequence[str] = ()) -> RunResult:
        """Check source handed over on stdin, reported under `display`; `index_files` feed the index only."""
        others = [
            FileJob(n, shown, file=path, report=False, judged=self.judged(path))
            for n, (path, shown) in enumerate(zip(index_files, index_display, strict=True), 1)
        ]
        return self._run([FileJob(0, display, data=data, judged=self.judged(Path(display))), *others])

    def run_kept(self, jobs: list[FileJob], shard: type[S]) -> tuple[RunResult, S]:
        """Run `jobs` in this process, in a shard of the class `shard`, without the memo of whole
        runs, and hand back that shard with every file's facts and the index built from them: a
        language server judges edits against it (`workspace.Workspace`)."""
        worker = LocalWorker(self.config, self.enabled, self.cache_folder, jobs, shard=shard)
        with few_collections():
            result = self._drive([worker])
        assert isinstance(worker.shard, shard)
        return result, worker.shard

    def judged(self, path: Path) -> bool:
        """Tests and migrations are read for the index but not judged, unless `include-tests` (clarification 23)."""
        if self.config.include_tests:
            return True
        # `abspath`, not `resolve`: a symlink loop is the file's notice, not an error here
        return not is_one_off_in(os.path.abspath(path), self._root)

    def _run(self, jobs: list[FileJob]) -> RunResult:
        memo = RunMemo(ResultCache.for_run(self.cache_folder, self.config, self.enabled)) if self.cache_folder is not None else None
        key = memo.key(jobs, self.config.max_file_size) if memo is not None else None
        if memo is not None and key is not None:
            replayed = memo.load(key)
            if replayed is not None:
                return RunResult(replayed.findings, replayed.notices, replayed.files_checked, files_analysed=0)
        # Files served from the cache cost little each: processes are for the files to analyse.
        processes = min(self.jobs, (key.uncached if key is not None else len(jobs)) // MIN_FILES_PER_PROCESS)
        counter = _Counter(self.progress, len(jobs) * PROGRESS_PHASES) if self.progress is not None else None
        if processes > 1:
            groups = partition(jobs, processes, _size)
            workers: list[LocalWorker | ProcessWorker] = [ProcessWorker(self.config, self.enabled, self.cache_folder, g, counter) for g in groups]
        else:
            workers = [LocalWorker(self.config, self.enabled, self.cache_folder, jobs, counter)]
        try:
            with few_collections():
                result = self._drive(workers)
        finally:
            for worker in workers:
                worker.close()
        if memo is not None and key is not None:
            memo.store(key, result.findings, result.notices, result.files_checked)
        return result

    def _drive(self, workers: list[LocalWorker | ProcessWorker]) -> RunResult:
        lost: dict[int, str] = {}  # file number -> why its worker could not finish it
        read: list[tuple[int, list[TableDecl], list[FunctionSummary], list[Symbol]]] = []
        for value in _phase(workers, Phase.SUMMARISE, None, lost):
            read += value
        read.sort(key=lambda r: r[0])
        decls = [d for _, found, _, _ in read for d in found]
        summaries = _merged(s for _, _, found, _ in read for s in found)
        symbols = [symbol for _, _, _, found in read for symbol in found]
        writers, found, waiting = _phase_two(workers, Phase.WRITERS, (decls, summaries, symbols), lost)
        for _ in range(SUMMARY_ROUNDS):  # bottom-up over the call graph: callers of what changed, again
            if found == summaries and not waiting:
                break
            summaries = found
            writers, found, waiting = _phase_two(workers, Phase.REVISE, summaries, lost)
        writers.sort(key=lambda w: (w.path, w.span.line, w.span.column, w.table, w.column, w.unit))
        calls: list[CallSite] = []
        for value in _phase(workers, Phase.CALLS, None, lost):
            calls += value
        calls.sort(key=lambda c: (c.callee, c.path, c.line, c.column))
        outcomes: list[FileOutcome] = []
        for value in _phase(workers, Phase.JUDGE, (writers, calls), lost):
            outcomes += value
        outcomes += [FileOutcome(number, notices=[Notice(_display(workers, number), reason, not_analysed=True)]) for number, reason in lost.items()]
        result = RunResult(files_analysed=sum(w.analysed for w in workers), processes=len(workers) if isinstance(workers[0], ProcessWorker) else 1)
        for outcome in sorted(outcomes, key=lambda o: o.number):
            result.findings += outcome.findings
            result.notices += outcome.notices
            result.files_checked += outcome.checked
        result.findings.sort(key=Finding.sort_key)
        return result


class _Counter:
    """Adds up the files the shards report done, for the engine's `progress(done, total)`."""

    def __init__(self, progress: Callable[[int, int], None], total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0

    def __call__(self, files: int) -> None:
        self.done = min(self.total, self.done + files)
        self.progress(self.done, self.total)


def _phase_two(
    workers: list[LocalWorker | ProcessWorker], phase: Phase, argument: object, lost: dict[int, str]
) -> tuple[list[AtomicWriter], list[FunctionSummary], bool]:
    writers: list[AtomicWriter] = []
    summaries: list[FunctionSummary] = []
    waiting = False
    for found_writers, found_summaries, found_waiting in _phase(workers, phase, argument, lost):
        writers += found_writers
        summaries += found_summaries
        waiting = waiting or found_waiting
    return writers, _merged(summaries), waiting


def _merged(summaries: Iterable[FunctionSummary]) -> list[FunctionSummary]:
    """One list in a fixed order, whatever shard found what."""
    return sorted(summaries, key=lambda s: s.name)


def _phase(workers: list[LocalWorker | ProcessWorker], phase: Phase, argument: object, lost: dict[int, str]) -> list[Any]:
    """Start `phase` on every worker, then collect: child processes work at the same time."""
    for worker in workers:
        worker.start(phase, argument)
    values = []
    for worker in workers:
        value, failure = worker.finish()
        if failure is None:
            values.append(value)
        else:
            for job in worker.jobs:
                lost.setdefault(job.number, f"not analysed: {failure}")
    return values


def _display(workers: list[LocalWorker | ProcessWorker], number: int) -> str:
    return next(job.display for worker in workers for job in worker.jobs if job.number == number)


def _size(job: FileJob) -> int:
    if job.data is not None:
        return len(job.data)
    try:
        return os.stat(job.file).st_size if job.file is not None else 0
    except OSError:
        return 0
