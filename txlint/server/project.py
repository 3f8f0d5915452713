"""The project an editor has open: its settings, its files, and the workspace judging them.

The root is the editor's workspace folder holding the file; without one, the
project around the file as `txlint check FILE` finds it (the folder of its
configuration, else its git work tree); a file in neither is a project of its
own, never its whole folder (a script in the home folder must not make the
server read the home folder). The settings are found as `txlint check` finds
them, and the result cache is the one `txlint check` writes, so the first open
after a command-line run is warm. Paths are shown relative to the root, as
`txlint check` run there shows them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from txlint.core.config import Config
from txlint.core.ftypes import Finding
from txlint.core.registry import enabled_codes
from txlint.engine.workspace import FileReport, Workspace
from txlint.fixes.apply import fix_text
from txlint.fixes.propose import with_fixes
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
    alone: Path | None = None  # a file outside any project: the only file read
    loaded: bool = False
    open_texts: dict[str, str] = field(default_factory=dict)  # display -> the text the editor holds
    open_uris: dict[str, str] = field(default_factory=dict)  # display -> the URI the editor opened it by

    @classmethod
    def at(cls, root: Path, alone: Path | None = None) -> Project:
        """The project rooted at `root` (raises `ConfigError`, `SelectionError` for bad settings)."""
        config = discover(root)
        enabled = enabled_codes(config.select, config.extend_select, config.ignore)
        home = config.root if config.source is not None else git_work_tree(root) or root
        return cls(root, config, Workspace(config, enabled, None if alone is not None else home / CACHE_FOLDER_NAME), alone)

    @staticmethod
    def root_of(path: Path) -> tuple[Path, bool]:
        """Where the project of a file outside the editor's folders is rooted, and whether the file
        is alone (no configuration, no git work tree around it)."""
        config = discover(path.parent)
        if config.source is not None:
            return config.root, False
        tree = git_work_tree(path.parent)
        return (tree, False) if tree is not None else (path.parent, True)

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
            files = [self.alone] if self.alone is not None else discover_files([self.root], self.config.root, self.config.exclude).files
        except PathError:
            files = []
        self.workspace.load(files, [self.display(p) for p in files])
        self.loaded = True

    def forget(self, path: Path) -> None:
        """A file deleted on disk: no longer part of the project."""
        if self.loaded:
            self.workspace.forget(self.display(path))

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

    def verified_fixes(self, path: Path, unsafe: bool) -> list[Finding]:
        """The open file's findings whose fix holds (the file analysed again with it, without the
        finding and with nothing new), each checked on its own; the workspace is left as it was."""
        shown = self.display(path)
        text = self.open_texts.get(shown)
        if text is None:
            return []
        findings = with_fixes(self.findings_of(shown), text)

        def recheck(candidate: str) -> list[Finding]:
            return self.workspace.update(shown, path, candidate.encode("utf-8", "surrogatepass")).findings

        held = []
        try:
            for finding in findings:
                if finding.fix is None:
                    continue
                alone = [f if f is finding else _without_fix(f) for f in findings]
                if fix_text(text, alone, unsafe, recheck).fixed:
                    held.append(finding)
        finally:
            self.workspace.update(shown, path, text.encode("utf-8", "surrogatepass"))
        return held


def _without_fix(finding: Finding) -> Finding:
    return replace(finding, fix=None)
