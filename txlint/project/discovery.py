"""Which files a run checks.

Folders are walked for `.py`, `.pyi` and `.sql` files, skipping version
control, virtualenvs, `node_modules`, caches and build output, whatever the
`.gitignore` files on the way ignore, and the config's `exclude` patterns
(gitignore syntax, relative to the config's folder; they apply to files
named on the command line too, so a pre-commit hook honours them).
Symlinked folders are followed once: a loop is reported, not walked forever.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pathspec
from pathspec.pattern import Pattern

from txlint.core.ftypes import Notice
from txlint.project.sources import Unreadable, read_regular_file

# A compiled set of gitignore patterns.
Spec = pathspec.PathSpec[Pattern]

EXTENSIONS = frozenset({".py", ".pyi", ".sql"})
SKIPPED_DIRS = frozenset({
    ".git", ".hg", ".svn", ".bzr", "node_modules", "__pycache__", ".tox", ".nox", ".eggs",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".txlint_cache", ".venv", "venv",
    "build", "dist", "site-packages", "__pypackages__",
})  # fmt: skip
GITIGNORE_LIMIT = 100 * 1000 * 1000  # git's own limit for a pattern file


class PathError(Exception):
    """A path named on the command line does not exist (raised unless `discover` is told to go on)."""


MISSING = "no such file or directory"


@dataclass
class Discovery:
    """The files to check, in a stable order, and the notices about what was skipped.

    `missing`: the given paths that do not exist (as given), when `discover` went on without them.
    """

    files: list[Path] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def display_path(path: Path | str, cwd: str | None = None) -> str:
    """How a path is shown in findings: relative to the working folder (`cwd`, else asked) when under it."""
    text = os.fspath(path)
    if not os.path.isabs(text):
        return text
    here = os.getcwd() if cwd is None else cwd
    if not within(text, here):
        return text
    try:
        return os.path.relpath(text, here)
    except ValueError:  # another drive on Windows
        return text


def within(path: str, folder: str) -> bool:
    """Whether the absolute `path` is `folder` or under it, read off the names (as `PurePath.relative_to`)."""
    path, folder = os.path.normcase(path), os.path.normcase(folder).rstrip(os.sep) or os.sep
    return path == folder or path.startswith(folder if folder.endswith(os.sep) else folder + os.sep)


def relative_under(path: str, folder: str) -> str | None:
    """The absolute `path` relative to `folder` when under it (`""` for the folder itself), read
    off the names with strings (no `Path` per file on a warm run's hot path); None when not under it."""
    return path[len(folder) :].lstrip(os.sep) if within(path, folder) else None


def ignore_spec(lines: Iterable[str]) -> Spec | None:
    """gitignore lines as a spec whose regexes cannot backtrack for hours (see `without_backtracking`).

    A line with a `[...]` class keeps pathspec's own regex: the class is copied
    into it verbatim, so its text is not read as pieces of a pattern here.
    """
    patterns = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not patterns:
        return None
    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    for pattern, line in zip(spec.patterns, patterns, strict=True):
        regex = getattr(pattern, "regex", None)
        if isinstance(regex, re.Pattern) and "[" not in line:
            pattern.regex = re.compile(without_backtracking(regex.pattern), regex.flags)
    return pathspec.GitIgnoreSpec(spec.patterns)


# How pathspec writes `*` (within a name) and `/**/` (any folders) as regular expressions.
_STAR = "[^/]*"
_FOLDERS = "(?:/.+)?"
_TOKEN = re.compile(r"\[\^/\]\*|\(\?:/\.\+\)\?|\[\^/\]|\\.|.", re.DOTALL)
_PLAIN = re.compile(r"\\.|\[\^/\]|[^\\\[\](){}|*+?.^$/]", re.DOTALL)  # one character of a name


def without_backtracking(regex: str) -> str:
    """pathspec's regex for a gitignore pattern, rewritten to match without exponential backtracking.

    Python's `re` backtracks: `a*a*a*a*b` against a long name of `a`s, or
    `a/**/a/**/a/**/b` against a deep path of `a` folders, tries every way
    to share the text between the wildcards (minutes to hours, from one line
    of a `.gitignore` in the repository being checked). As CPython's own
    `fnmatch` does (bpo-40480), a wildcard followed by a fixed run and then
    another wildcard only needs the leftmost place where the run matches: the
    next wildcard can take up whatever a later place would have left. An
    atomic group commits to that place. For `/**/` the run is whole folders,
    so it must end where a name ends (`(?=/)`). Only regexes made of the
    pieces above are rewritten; callers leave patterns with `[...]` as they are.

    >>> without_backtracking("^(?:.+/)?a[^/]*a[^/]*b(?:(?P<ps_d>/)|$)")
    '^(?:.+/)?a(?>[^/]*?a)[^/]*b(?:(?P<ps_d>/)|$)'
    """
    return "".join(_rewrite(_TOKEN.findall(regex)))


def _rewrite(tokens: list[str]) -> list[str]:
    """Each wildcard that a fixed run and then a wildcard of the same kind follow becomes an atomic group."""
    out: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        end = _run_end(tokens, index + 1, folders=token == _FOLDERS) if token in (_STAR, _FOLDERS) else index + 1
        if end > index + 1 and end < len(tokens) and tokens[end] == token:
            lazy, after = ("[^/]*?", "") if token == _STAR else ("(?:/.+?)?", "(?=/)")
            out.append(f"(?>{lazy}{''.join(_rewrite(tokens[index + 1 : end]))}{after})")
            index = end  # the next wildcard opens a group of its own, or stays as it is when it is the last
        else:
            out.append(token)
            index += 1
    return out


def _run_end(tokens: list[str], start: int, *, folders: bool) -> int:
    """Where the fixed run after a wildcard ends: a name's literal characters and `?`s
    (for `/**/`, whole folders: slashes and `*`s too)."""
    end = start
    while end < len(tokens) and (_PLAIN.fullmatch(tokens[end]) or (folders and tokens[end] in ("/", _STAR))):
        end += 1
    return end


class _Walker:
    def __init__(self, root: Path, exclude: Iterable[str]) -> None:
        self.root = root.resolve()
        self.exclude = ignore_spec(exclude)
        self.result = Discovery()
        self._seen_dirs: set[tuple[int, int | str]] = set()
        self._seen_files: set[str] = set()

    def excluded(self, path: Path, is_dir: bool) -> bool:
        if self.exclude is None:
            return False
        try:
            relative = path.absolute().relative_to(self.root).as_posix()
        except ValueError:
            return False
        return self.exclude.match_file(relative + ("/" if is_dir else ""))

    def add_file(self, path: Path) -> None:
        key = os.path.normcase(os.path.abspath(path))
        if key not in self._seen_files:
            self._seen_files.add(key)
            self.result.files.append(path)

    def walk(self, folder: Path, ignores: list[tuple[Path, Spec]]) -> None:
        try:
            # The folder's identity, not its resolved path: one stat instead of one per path component.
            info = os.stat(folder)
            identity: tuple[int, int | str] = (info.st_dev, info.st_ino)
        except OSError:
            identity = (-1, os.path.realpath(folder))
        if identity in self._seen_dirs:
            if folder.is_symlink():
                self.result.notices.append(Notice(display_path(folder), "skipped: symlink loop (folder already visited)"))
            return
        self._seen_dirs.add(identity)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            self.result.notices.append(Notice(display_path(folder), f"skipped: cannot read folder: {error.strerror or error}", not_analysed=True))
            return
        local = _read_gitignore(folder) if any(e.name == ".gitignore" for e in entries) else None
        if local is not None:
            ignores = [*ignores, (folder, local)]
        for entry in entries:
            self._entry(entry, ignores)

    def _entry(self, entry: os.DirEntry[str], ignores: list[tuple[Path, Spec]]) -> None:
        """One entry of a folder; a file whose name has no checked extension costs no more than that look."""
        try:
            is_dir = entry.is_dir()
            is_file = entry.is_file()
        except OSError:
            is_dir = is_file = False
        if is_dir:
            if entry.name in SKIPPED_DIRS or entry.name.endswith(".egg-info") or os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                return
            path = Path(entry.path)
            if _ignored(path, True, ignores) or self.excluded(path, True):
                return
            self.walk(path, ignores)
            return
        if os.path.splitext(entry.name)[1] not in EXTENSIONS:
            return
        path = Path(entry.path)
        if is_file:
            if not _ignored(path, False, ignores) and not self.excluded(path, False):
                self.add_file(path)
        elif entry.is_symlink() and not path.exists():
            self.result.notices.append(Notice(display_path(path), "skipped: broken symlink"))


def _read_gitignore(folder: Path) -> Spec | None:
    """The folder's `.gitignore`; none when it is absent, unreadable, not a regular file or absurdly big.

    Git reads only regular files and skips pattern files over 100 MB; so does
    this (a FIFO named `.gitignore` would otherwise stop the run for good).
    """
    try:
        data = read_regular_file(folder / ".gitignore", GITIGNORE_LIMIT)
    except (OSError, Unreadable):
        return None
    return ignore_spec(data.decode("utf-8", errors="replace").splitlines())


def _ignored(path: Path, is_dir: bool, ignores: list[tuple[Path, Spec]]) -> bool:
    """The nearest `.gitignore` that has a say decides (negations included)."""
    ignored = False
    text = str(path)
    for base, spec in ignores:
        under = relative_under(text, str(base))
        relative = (under if under is not None else path.relative_to(base).as_posix()).replace(os.sep, "/")
        relative += "/" if is_dir else ""
        result = spec.check_file(relative)
        if result.include is not None:
            ignored = result.include
    return ignored


def discover(paths: Iterable[Path], root: Path, exclude: Iterable[str], *, missing_ok: bool = False) -> Discovery:
    """Expand the command line's paths into the files to check.

    A path that does not exist raises `PathError`; with `missing_ok` it is a
    not-analysed notice instead (as ruff's E902), so the other paths are still
    checked and the run still fails for the file it could not check.
    """
    walker = _Walker(root, exclude)
    for given in paths:
        path = Path(os.path.abspath(given))
        if not path.exists() and not path.is_symlink():
            if not missing_ok:
                raise PathError(f"{given}: {MISSING}")
            walker.result.missing.append(os.fspath(given))
            walker.result.notices.append(Notice(os.fspath(given), MISSING, not_analysed=True))
            continue
        if path.is_dir():
            if not walker.excluded(path, True):
                walker.walk(path, _parent_ignores(path))
        elif walker.excluded(path, False):
            continue
        elif path.suffix not in EXTENSIONS:
            walker.result.notices.append(Notice(display_path(path), "skipped: not a .py, .pyi or .sql file"))
        else:
            walker.add_file(path)
    return walker.result


def _parent_ignores(folder: Path) -> list[tuple[Path, Spec]]:
    """`.gitignore` files above `folder`, up to the repository's top (the folder holding `.git`)."""
    found: list[tuple[Path, Spec]] = []
    here = folder.absolute()
    for parent in here.parents:
        spec = _read_gitignore(parent)
        if spec is not None:
            found.insert(0, (parent, spec))
        if (parent / ".git").exists():
            break
    else:
        return []
    return found
