"""The result of a whole run, kept beside the per-file cache: an unchanged tree is answered at once.

Per-file entries make a warm run cheap, but not free: every entry is read
back, and every question it asked of the project index is asked again
(`lookups`), because any other file may have changed the answer. When no
file changed, none did. A run's result depends on nothing but the files
(their names, their exact text, whether they are reported and judged) and
what the cache key of every entry already holds (txlint's code, the
settings, the selected rules, the project root), so a run whose files all
have the keys of an earlier run has that run's result.

A memo is written only for a run that finished cleanly (no file lost to an
internal error or a dead worker), and only the most recent few are kept:
each edit makes a new one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from txlint.core.ftypes import Finding, Notice
from txlint.engine.plain import from_plain, to_plain
from txlint.engine.result_cache import FORMAT, ResultCache, write_json
from txlint.engine.shard import FileJob

KEPT = 8  # memos kept; older ones are removed when a new one is written
# Notices that say a file was not (fully) analysed because of txlint itself: such a run is not memoised.
_NOT_CLEAN = ("internal error", "not analysed:")


@dataclass(frozen=True)
class RunKey:
    """What a run's result depends on, and how many of its files have no cache entry yet."""

    digest: str
    uncached: int


@dataclass
class Replayed:
    """A memoised run's result."""

    findings: list[Finding]
    notices: list[Notice]
    files_checked: int


class RunMemo:
    """Memos of whole runs in the folder of `cache` (one JSON file each)."""

    def __init__(self, cache: ResultCache) -> None:
        self.cache = cache
        self.folder = cache.folder / f"v{FORMAT}" / "runs"

    def key(self, jobs: list[FileJob], max_file_size: int) -> RunKey:
        """Read every file (as the run will) for its cache key; a file that cannot be read counts with its reason."""
        digest = hashlib.sha256(self.cache.key("", "").encode())
        uncached = 0
        for job in jobs:
            source = job.read(max_file_size)
            if isinstance(source, Notice):
                part = f"notice\0{source.reason}"
            else:
                part = self.cache.key(job.display, source.text)
                uncached += not self.cache.has(part)
            digest.update(f"{job.display}\0{job.report}\0{job.judged}\0{part}\n".encode("utf-8", "surrogatepass"))
        return RunKey(digest.hexdigest(), uncached)

    def load(self, key: RunKey) -> Replayed | None:
        if not self.cache.usable:
            return None
        try:
            data = json.loads((self.folder / f"{key.digest}.json").read_bytes())
            return Replayed(
                findings=[from_plain(Finding, f) for f in data["findings"]],
                notices=[from_plain(Notice, n) for n in data["notices"]],
                files_checked=int(data["files_checked"]),
            )
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None

    def store(self, key: RunKey, findings: list[Finding], notices: list[Notice], files_checked: int) -> None:
        """Keep a clean run's result (written atomically); older memos beyond the last few go."""
        if not self.cache.usable or any(n.reason.startswith(_NOT_CLEAN) for n in notices):
            return
        document: dict[str, Any] = {"findings": to_plain(findings), "notices": to_plain(notices), "files_checked": files_checked}
        try:
            write_json(self.folder / f"{key.digest}.json", document)
            self._prune()
        except (OSError, TypeError, ValueError):
            return

    def _prune(self) -> None:
        memos = sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in memos[KEPT:]:
            old.unlink(missing_ok=True)
