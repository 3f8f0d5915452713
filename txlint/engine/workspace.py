"""A project kept analysed in memory between edits: what an editor's language server judges against.

A batch run reads every file, builds the project index and judges; an editor
changes one file a keystroke at a time and wants that file's findings again at
once. So the workspace keeps the shard of its last whole run (every file's
facts, the index built from them) and, when one file changes, analyses that
file alone against the index: if what the rest of the project sees of it —
its table declarations, module symbols, function summaries, and (apart from
where they are) its atomic writers and calls of project functions — is
unchanged, the other files' findings cannot have changed, and only the edited
file is judged. Otherwise the whole project is run again (from the result
cache: only the edited file is analysed anew).

A file that does not parse is reported (TX000) without touching the index:
half-typed code keeps the last good facts of the file for the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from txlint.core.config import Config
from txlint.core.ftypes import Finding, Notice, Span
from txlint.core.index import AtomicWriter, ProjectIndex
from txlint.core.summaries import CallSite
from txlint.engine.deepstack import run_deep
from txlint.engine.runner import Engine, RunResult
from txlint.engine.shard import FileJob, Shard


@dataclass(frozen=True)
class FileReport:
    """The findings and notices of one file, and how they were reached (`whole_run`: the project was
    run again, so every open file's findings may have changed)."""

    findings: list[Finding]
    notices: list[Notice]
    whole_run: bool
    moved: bool = False  # what other files' findings point at in this one (a writer, a call) moved
    broken: bool = False  # the text does not parse: its parse error, the file's last good facts kept


class ResidentShard(Shard):
    """A shard kept after its run, that can judge one of its files again alone."""

    def judge_alone(self, display: str, file: Path, text: bytes | None) -> FileReport | None:
        """The file `display`, holding `text` (None: as on disk), read, analysed and judged in its
        old place against the index; None when the rest of the project could see the change (a
        whole run is then due)."""
        old = next(item for item in self.files if item.job.display == display)
        new = type(old)(FileJob(old.job.number, display, file=file, data=text, report=True, judged=old.job.judged))
        self._read(new)
        parsed = new.parsed
        if parsed is not None and parsed.syntax_errors:
            return FileReport(list(parsed.syntax_errors), list(new.entry.notices), whole_run=False, broken=True)
        if not new.usable or not old.usable:
            return None
        if new.entry.decls != old.entry.decls or new.entry.symbols != old.entry.symbols or new.words != old.words:
            return None
        self._guard(new, "analysing", self._analyse)
        if new.failed or new.entry.summaries != old.entry.summaries:
            return None
        new_writers, old_writers = new.entry.writers or [], old.entry.writers or []
        if [_placeless_writer(w) for w in new_writers] != [_placeless_writer(w) for w in old_writers]:
            return None
        if [_placeless_call(c) for c in new.entry.calls] != [_placeless_call(c) for c in old.entry.calls]:
            return None
        moved = new_writers != old_writers or new.entry.calls != old.entry.calls
        _swap_facts(self.index, old_writers, new_writers, old.entry.calls, new.entry.calls)
        self.files[self.files.index(old)] = new
        if old in self._ordered:
            self._ordered[self._ordered.index(old)] = new
        self._guard(new, "analysing", self._findings)
        # Not stored in the result cache: judged without its fixes, the entry is not what a check stores.
        return FileReport(list(new.entry.findings or []), list(new.entry.notices), whole_run=False, moved=moved)


class Workspace:
    """The files of one project, analysed; `update` judges one of them again after an edit."""

    def __init__(self, config: Config, enabled: frozenset[str], cache_folder: Path | None) -> None:
        self.engine = Engine(config, enabled, jobs=1, cache_folder=cache_folder)
        self._files: list[Path] = []
        self._display: list[str] = []
        self._texts: dict[str, bytes] = {}  # display -> unsaved text of an open file (its last text that parses)
        self._broken: dict[str, FileReport] = {}  # display -> the parse error of its newest text
        self._shard: ResidentShard | None = None
        self.last_run: RunResult | None = None

    def load(self, files: Sequence[Path], display: Sequence[str]) -> RunResult:
        """Analyse the whole project (warm from the result cache when a run has stored it)."""
        self._files, self._display = list(files), list(display)
        return self._run_all()

    def update(self, display: str, file: Path, text: bytes | None) -> FileReport:
        """The findings of `display` after an edit: `text` is the editor's unsaved content, None the
        file as saved on disk."""
        previous = self._texts.get(display)
        if text is None:
            self._texts.pop(display, None)
        else:
            self._texts[display] = text
        self._broken.pop(display, None)
        if display not in self._display:
            self._files.append(file)
            self._display.append(display)
            self._run_all()
            return FileReport(*self._outcome_of(display), whole_run=True)
        shard = self._shard
        assert shard is not None
        reached = run_deep(lambda: shard.judge_alone(display, file, text))
        if reached is not None and reached.broken:
            # Half-typed code: the project keeps the file's last text that parsed (a whole run
            # triggered by another file reads that), the editor sees the parse error.
            if previous is None:
                self._texts.pop(display, None)
            else:
                self._texts[display] = previous
            self._broken[display] = reached
            return reached
        if reached is None:
            self._run_all()
            return FileReport(*self._outcome_of(display), whole_run=True)
        if self.last_run is not None:
            run = self.last_run
            run.findings = sorted([f for f in run.findings if f.path != display] + reached.findings, key=Finding.sort_key)
            run.notices = [n for n in run.notices if n.path != display] + reached.notices
        return reached

    def forget(self, display: str) -> None:
        """A file that is gone: the project is run again without it."""
        if display in self._display:
            at = self._display.index(display)
            del self._files[at], self._display[at]
            self._texts.pop(display, None)
            self._broken.pop(display, None)
            self._run_all()

    def findings_of(self, display: str) -> list[Finding]:
        """What the last analysis found in `display` (after `load`, `update`)."""
        return self._outcome_of(display)[0]

    # -- the whole project ----------------------------------------------------------------------
    def _run_all(self) -> RunResult:
        jobs = [
            FileJob(n, shown, file=path, data=self._texts.get(shown), judged=self.engine.judged(path))
            for n, (path, shown) in enumerate(zip(self._files, self._display, strict=True))
        ]
        self.last_run, self._shard = self.engine.run_kept(jobs, ResidentShard)
        self._shard.propose_fixes = False  # an edit's findings: their fixes are worked out when asked for
        return self.last_run

    def _outcome_of(self, display: str) -> tuple[list[Finding], list[Notice]]:
        if display in self._broken:
            return list(self._broken[display].findings), list(self._broken[display].notices)
        run = self.last_run
        if run is None:
            return [], []
        return [f for f in run.findings if f.path == display], [n for n in run.notices if n.path == display]


def _placeless_writer(writer: AtomicWriter) -> AtomicWriter:
    return replace(writer, span=Span.point(1))


def _placeless_call(site: CallSite) -> CallSite:
    return replace(site, line=0, column=0)


def _swap_facts(index: ProjectIndex, old_writers: list[AtomicWriter], new_writers: list[AtomicWriter], old_calls: list[CallSite], new_calls: list[CallSite]) -> None:
    """The index's writers and call sites of the file, as they are placed now (their positions are
    what findings in other files point at)."""
    gone = {id(w) for w in old_writers}
    for table, writers in index.writers.items():
        index.writers[table] = [w for w in writers if id(w) not in gone]
    index.add_atomic_writers(new_writers)
    gone = {id(c) for c in old_calls}
    for callee, sites in index.call_sites.items():
        index.call_sites[callee] = [c for c in sites if id(c) not in gone]
    index.add_call_sites(new_calls)
