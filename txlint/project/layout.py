"""The project a run belongs to: its root, the files that feed its index, where its cache lives.

The pre-commit hook and an editor pass one or a few files, but two rules
need facts from the whole project (a model declared elsewhere, an atomic
counter updated elsewhere). So when only files are named, every other file
of the project is read for the index as well — from the cache, after the
first run — and findings are reported for the named files only.

The root is found from the checked paths, never from the working folder:
`cd /tmp && txlint check ~/proj` reads the same configuration, index and
cache as `cd ~/proj && txlint check .` (`Config.root` is already the first
checked path's folder, or its configuration file's).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from txlint.core.config import Config
from txlint.project.discovery import PathError, discover, display_path

CACHE_FOLDER_NAME = ".txlint_cache"


def project_root(config: Config) -> Path | None:
    """The folder of the configuration file, else the git work tree holding the checked paths
    (`config.root`: the first one's folder), else None: no project around them."""
    if config.source is not None:
        return config.root
    return git_work_tree(config.root)


def git_work_tree(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds `.git`."""
    here = start.resolve()
    return next((folder for folder in (here, *here.parents) if (folder / ".git").exists()), None)


def default_jobs() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cache_folder(config: Config, chosen: Path | None, disabled: bool) -> Path | None:
    """Where the result cache lives: `--cache-dir`, else `.txlint_cache` in the project root, else in
    the first checked path's folder (never the working folder, which may be any folder)."""
    if disabled:
        return None
    if chosen is not None:
        return chosen
    return (project_root(config) or config.root) / CACHE_FOLDER_NAME


@dataclass(frozen=True)
class IndexOnly:
    """Files read for the project index only, and the names they are shown under."""

    files: list[Path]
    display: list[str]


def index_companions(paths: tuple[str, ...], named: list[Path], config: Config) -> IndexOnly:
    """The project's other files when `paths` name files only (none when a folder or stdin is given)."""
    root = project_root(config)
    if root is None or not paths or any(p == "-" or not Path(p).is_file() for p in paths):
        return IndexOnly([], [])
    try:
        everything = discover([root], config.root, config.exclude).files
    except PathError:
        return IndexOnly([], [])
    taken = {os.path.realpath(p) for p in named}
    others = [p for p in everything if os.path.realpath(p) not in taken]
    return IndexOnly(others, [display_path(p) for p in others])
