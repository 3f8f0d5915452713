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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from txlint.ftypes import Notice

EXTENSIONS = frozenset({".py", ".pyi", ".sql"})
SKIPPED_DIRS = frozenset({
    ".git", ".hg", ".svn", ".bzr", "node_modules", "__pycache__", ".tox", ".nox", ".eggs",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".txlint_cache", ".venv", "venv",
    "build", "dist", "site-packages", "__pypackages__",
})  # fmt: skip


class PathError(Exception):
    """A path named on the command line does not exist."""


@dataclass
class Discovery:
    """The files to check, in a stable order, and the notices about what was skipped."""

    files: list[Path] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


def display_path(path: Path) -> str:
    """How a path is shown in findings: relative to the working folder when under it."""
    try:
        return os.path.relpath(path) if path.is_absolute() and _under(path, Path.cwd()) else str(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _under(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _spec(lines: Iterable[str]) -> pathspec.PathSpec | None:
    patterns = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return pathspec.GitIgnoreSpec.from_lines(patterns) if patterns else None


class _Walker:
    def __init__(self, root: Path, exclude: Iterable[str]) -> None:
        self.root = root.resolve()
        self.exclude = _spec(exclude)
        self.result = Discovery()
        self._seen_dirs: set[str] = set()
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

    def walk(self, folder: Path, ignores: list[tuple[Path, pathspec.PathSpec]]) -> None:
        real = os.path.realpath(folder)
        if real in self._seen_dirs:
            if folder.is_symlink():
                self.result.notices.append(Notice(display_path(folder), "skipped: symlink loop (folder already visited)"))
            return
        self._seen_dirs.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            self.result.notices.append(Notice(display_path(folder), f"skipped: cannot read folder: {error.strerror or error}"))
            return
        local = _read_gitignore(folder)
        if local is not None:
            ignores = [*ignores, (folder, local)]
        for entry in entries:
            self._entry(Path(entry.path), entry, ignores)

    def _entry(self, path: Path, entry: os.DirEntry[str], ignores: list[tuple[Path, pathspec.PathSpec]]) -> None:
        try:
            is_dir = entry.is_dir()
            is_file = entry.is_file()
        except OSError:
            is_dir = is_file = False
        if is_dir:
            if entry.name in SKIPPED_DIRS or entry.name.endswith(".egg-info") or (path / "pyvenv.cfg").exists():
                return
            if _ignored(path, True, ignores) or self.excluded(path, True):
                return
            self.walk(path, ignores)
        elif is_file and path.suffix in EXTENSIONS:
            if not _ignored(path, False, ignores) and not self.excluded(path, False):
                self.add_file(path)
        elif entry.is_symlink() and not path.exists():
            if path.suffix in EXTENSIONS:
                self.result.notices.append(Notice(display_path(path), "skipped: broken symlink"))


def _read_gitignore(folder: Path) -> pathspec.PathSpec | None:
    try:
        text = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return _spec(text.splitlines())


def _ignored(path: Path, is_dir: bool, ignores: list[tuple[Path, pathspec.PathSpec]]) -> bool:
    """The nearest `.gitignore` that has a say decides (negations included)."""
    ignored = False
    for base, spec in ignores:
        relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        result = spec.check_file(relative)
        if result.include is not None:
            ignored = result.include
    return ignored


def discover(paths: Iterable[Path], root: Path, exclude: Iterable[str]) -> Discovery:
    """Expand the command line's paths into the files to check."""
    walker = _Walker(root, exclude)
    for given in paths:
        path = Path(os.path.abspath(given))
        if not path.exists() and not path.is_symlink():
            raise PathError(f"{given}: no such file or folder")
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


def _parent_ignores(folder: Path) -> list[tuple[Path, pathspec.PathSpec]]:
    """`.gitignore` files above `folder`, up to the repository's top (the folder holding `.git`)."""
    found: list[tuple[Path, pathspec.PathSpec]] = []
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
