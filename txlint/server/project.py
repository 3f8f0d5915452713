"""The project an editor has open: its settings, its files, and the workspace judging them.

The root is the editor's workspace folder (or, without one, the folder of the
first file opened); the settings are found from there as `txlint check`
finds them, and the result cache is the one `txlint check` writes, so the
first open after a command-line run is warm. Paths are shown relative to the
root, as `txlint check` run there shows them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from txlint.core.config import Config
from txlint.core.ftypes import Finding
from txlint.core.registry import enabled_codes
from txlint.engine.workspace import FileReport, Workspace
from txlint.project.discovery import PathError
from txlint.project.discovery import discover as discover_files
from txlint.project.layout import CACHE_FOLDER_NAME, git_work_tree
from txlint.project.settings import discover

SUFFIXES = (".py", ".pyi", ".sql")


@dataclass
class Project:
    """One root's settings and workspace; loaded on the first file the editor opens."""

    root: Path
    config: Config
    workspace: Workspace
    loaded: bool = False
    open_texts: dict[str, str] = field(default_factory=dict)  # display -> the text the editor holds

    @classmethod
    def at(cls, root: Path) -> Project:
        """The project rooted at `root` (raises `ConfigError`, `SelectionError` for bad settings)."""
        config = discover(root)
        enabled = enabled_codes(config.select, config.extend_select, config.ignore)
        home = config.root if config.source is not None else git_work_tree(root) or root
        return cls(root, config, Workspace(config, enabled, home / CACHE_FOLDER_NAME))

    def display(self, path: Path) -> str:
        """How `path` is named in findings: relative to the root when it is inside it."""
        try:
            return Path(os.path.relpath(path, self.root)).as_posix() if path.is_relative_to(self.root) else str(path)
        except ValueError:
            return str(path)

    def load(self) -> None:
        """Analyse every file of the project once (warm from the cache of an earlier run)."""
        if self.loaded:
            return
        try:
            files = discover_files([self.root], self.config.root, self.config.exclude).files
        except PathError:
            files = []
        self.workspace.load(files, [self.display(p) for p in files])
        self.loaded = True

    def judge(self, path: Path, text: str | None) -> FileReport:
        """The findings of the file at `path` holding `text` (None: as on disk)."""
        self.load()
        shown = self.display(path)
        if text is None:
            self.open_texts.pop(shown, None)
        else:
            self.open_texts[shown] = text
        data = None if text is None else text.encode("utf-8", "surrogatepass")
        return self.workspace.update(shown, path, data)

    def findings_of(self, shown: str) -> list[Finding]:
        return self.workspace.findings_of(shown)
