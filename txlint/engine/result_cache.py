"""The on-disk result cache: one JSON entry per file, keyed by everything its result depends on.

An entry is found under a key made of txlint's own code, the settings that
change the analysis, the file's name and its exact bytes; what the file
learned from the rest of the project is checked separately (`lookups`). The
folder is marked as a cache (`CACHEDIR.TAG`, so backup tools skip it) and
ignores itself (`.gitignore` with `*`). Writes are atomic (temporary file,
then rename), so a run that is killed, or two runs at once, never leave a
half-written entry; an entry that cannot be read is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from txlint.core.config import Config
from txlint.core.ftypes import Finding, Notice
from txlint.core.index import AtomicWriter, TableDecl
from txlint.core.summaries import CallSite, FunctionSummary, Symbol
from txlint.engine.lookups import Lookup
from txlint.engine.plain import from_plain, to_plain

FORMAT = 3
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by txlint.\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)


@dataclass
class Entry:
    """What one file contributed to a run: its pass-1 facts, pass-2 facts and findings."""

    decls: list[TableDecl] = field(default_factory=list)
    symbols: list[Symbol] = field(default_factory=list)  # what its module-level names import, are, derive from
    writers: list[AtomicWriter] | None = None  # None: not analysed yet (only its declarations are known)
    writer_lookups: list[Lookup] = field(default_factory=list)
    summaries: list[FunctionSummary] = field(default_factory=list)  # what its functions do for their callers
    calls: list[CallSite] = field(default_factory=list)  # its calls of project functions (clarification 16)
    findings: list[Finding] | None = None  # None: the file was only read for the index
    finding_lookups: list[Lookup] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    checked: bool = True
    # The project names its analysis kept functions for (`Shard._keeps_more`): without them a warm run
    # would find those names again in the cut code and analyse the file once more.
    words: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "decls": to_plain(self.decls),
            "symbols": to_plain(self.symbols),
            "writers": None if self.writers is None else to_plain(self.writers),
            "writer_lookups": [list(x) for x in self.writer_lookups],
            "summaries": to_plain(self.summaries),
            "calls": to_plain(self.calls),
            "findings": None if self.findings is None else to_plain(self.findings),
            "finding_lookups": [list(x) for x in self.finding_lookups],
            "notices": to_plain(self.notices),
            "checked": self.checked,
            "words": list(self.words),
        }

    @classmethod
    def from_json(cls, data: Any) -> Entry:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a txlint cache entry of this format")
        return cls(
            decls=[from_plain(TableDecl, d) for d in data["decls"]],
            symbols=[from_plain(Symbol, x) for x in data["symbols"]],
            writers=None if data["writers"] is None else [from_plain(AtomicWriter, w) for w in data["writers"]],
            writer_lookups=[_lookup(x) for x in data["writer_lookups"]],
            summaries=[from_plain(FunctionSummary, s) for s in data["summaries"]],
            calls=[from_plain(CallSite, c) for c in data["calls"]],
            findings=None if data["findings"] is None else [from_plain(Finding, f) for f in data["findings"]],
            finding_lookups=[_lookup(x) for x in data["finding_lookups"]],
            notices=[from_plain(Notice, n) for n in data["notices"]],
            checked=bool(data["checked"]),
            words=tuple(str(word) for word in data["words"]),
        )


def _lookup(data: Any) -> Lookup:
    if not (isinstance(data, list) and len(data) == 3 and isinstance(data[0], str) and isinstance(data[1], list) and isinstance(data[2], str)):
        raise ValueError("malformed lookup")
    return (data[0], data[1], data[2])


class ResultCache:
    """Entries under `folder`, for one txlint build and one analysis configuration."""

    def __init__(self, folder: Path, settings: object) -> None:
        self.folder = folder
        self._salt = f"{code_version()}\0{settings!r}"
        self.usable = _prepare(folder)

    def key(self, path: str, content: str) -> str:
        data = f"{self._salt}\0{path}\0".encode("utf-8", "surrogatepass") + content.encode("utf-8", "surrogatepass")
        return hashlib.sha256(data).hexdigest()

    @classmethod
    def for_run(cls, folder: Path, config: Config, enabled: frozenset[str]) -> ResultCache:
        """The cache of runs with these settings and rules, over this project."""
        return cls(folder, (config.analysis_key(), sorted(enabled), str(config.root.resolve())))

    def _file(self, key: str) -> str:
        """Where the entry of `key` is (a string: a warm run asks for every file's)."""
        return os.path.join(self.folder, f"v{FORMAT}", key[:2], f"{key}.json")

    def has(self, key: str) -> bool:
        """Whether an entry is stored under `key` (not whether it still holds: `lookups` decide that)."""
        return self.usable and os.path.isfile(self._file(key))

    def load(self, key: str) -> Entry | None:
        if not self.usable:
            return None
        try:
            return Entry.from_json(json.loads(Path(self._file(key)).read_bytes()))
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None

    def store(self, key: str, entry: Entry) -> None:
        """Write `entry` atomically; a cache that cannot be written is silently not used."""
        if not self.usable:
            return
        try:
            document = entry.to_json()
        except (TypeError, ValueError, RecursionError):
            return  # a fact this format cannot hold: that file is analysed again next time, the others are kept
        try:
            write_json(Path(self._file(key)), document)
        except (OSError, TypeError, ValueError):
            self.usable = False


def write_json(target: Path, document: object) -> None:
    """Write `document` as compact JSON atomically (temporary file, then rename), creating the
    folder: a run that is killed, or two runs at once, never leave half a file. Raises `OSError`,
    or `TypeError`/`ValueError` for what JSON cannot hold."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, separators=(",", ":"))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _prepare(folder: Path) -> bool:
    """Create the folder with its tag and `.gitignore`; False when it cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in (("CACHEDIR.TAG", CACHEDIR_TAG), (".gitignore", "# Created by txlint.\n*\n")):
            marker = folder / name
            if not marker.exists():
                marker.write_text(text, encoding="utf-8")
    except OSError:
        return False
    return os.access(folder, os.W_OK)


@cache
def code_version() -> str:
    """txlint's version plus a digest of its own modules' names, sizes and times.

    A released build changes only with its version; a development checkout
    changes with every edit, so a cache never outlives the code that wrote it.
    """
    import txlint
    import txlint.rules as rules  # shipped from the top-level `rules/` folder: not under txlint's own

    digest = hashlib.sha256(txlint.__version__.encode())
    for package in (Path(txlint.__file__).parent, Path(str(rules.__file__)).parent):
        for module in sorted(package.rglob("*.py")):
            if "runtime" in module.relative_to(package).parts:
                continue  # the runtime hook does not take part in a static run
            try:
                stat = module.stat()
            except OSError:
                continue
            digest.update(f"{module}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:16]
