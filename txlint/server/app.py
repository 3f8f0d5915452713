"""The language server's handlers: documents in, diagnostics, hovers and code actions out.

An edit is judged where it arrives: the workspace answers one file in tens of
milliseconds, so there is no queue of stale work to cancel. An edit that the
rest of the project can see (a helper's summary changed) re-runs the project
from the cache, and every open file's diagnostics are published again.
A failure of ours is logged to the editor and costs that one answer, never
the server.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from txlint import __version__
from txlint.cli.add_ignore import ignored_line
from txlint.core.ftypes import Applicability, Edit, Finding
from txlint.core.registry import SelectionError, all_rules
from txlint.project.settings import ConfigError
from txlint.server.diagnostics import code_point_column, line_end, lines_of, position, to_diagnostic, uri_of
from txlint.server.project import SUFFIXES, Project

log = logging.getLogger("txlint.server")


class TxlintServer(LanguageServer):
    """pygls' server with the projects it has open (one per root)."""

    def __init__(self) -> None:
        super().__init__("txlint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.projects: dict[Path, Project] = {}
        self.roots: list[Path] = []
        self.failures: dict[Path, str] = {}  # a root whose settings are wrong, and why (shown once)

    def project_of(self, path: Path) -> Project | None:
        """The project holding `path`: the innermost workspace folder, else the project around the
        file (`Project.root_of`); None when its settings are wrong (said once, until they change)."""
        inside = [root for root in self.roots if path.is_relative_to(root)]
        alone = None
        if inside:
            root = max(inside, key=lambda r: len(r.parts))
        else:
            root, by_itself = Project.root_of(path)
            alone = path if by_itself else None
        key = alone or root
        if key in self.failures:
            return None
        if key not in self.projects:
            try:
                self.projects[key] = Project.at(root, alone)
            except (ConfigError, SelectionError) as error:
                self.failures[key] = str(error)
                self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"txlint: {error}"))
                return None
        return self.projects[key]

    def settings_changed(self) -> None:
        """A configuration file changed: every project is read again, with its settings."""
        self.projects.clear()
        self.failures.clear()


def build() -> TxlintServer:
    """A server with every handler registered."""
    server = TxlintServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: TxlintServer, params: types.InitializeParams) -> None:
        folders = [f.uri for f in params.workspace_folders or []] or ([params.root_uri] if params.root_uri else [])
        ls.roots = [Path(p).resolve() for uri in folders if (p := to_fs_path(uri))]

    @server.feature(types.INITIALIZED)
    def initialized(ls: TxlintServer, params: types.InitializedParams) -> None:
        capabilities = ls.client_capabilities.workspace
        watched = capabilities.did_change_watched_files if capabilities is not None else None
        if watched is not None and watched.dynamic_registration:
            watchers = [types.FileSystemWatcher(glob_pattern=f"**/*{suffix}") for suffix in (*SUFFIXES, "pyproject.toml")]
            options = types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers)
            registration = types.Registration(id="txlint-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options)
            ls.client_register_capability(types.RegistrationParams(registrations=[registration]))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: TxlintServer, params: types.DidOpenTextDocumentParams) -> None:
        _judge(ls, params.text_document.uri, params.text_document.text, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: TxlintServer, params: types.DidChangeTextDocumentParams) -> None:
        document = ls.workspace.get_text_document(params.text_document.uri)
        _judge(ls, params.text_document.uri, document.source, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: TxlintServer, params: types.DidSaveTextDocumentParams) -> None:
        document = ls.workspace.get_text_document(params.text_document.uri)
        _judge(ls, params.text_document.uri, document.source, document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: TxlintServer, params: types.DidCloseTextDocumentParams) -> None:
        path = _path_of(params.text_document.uri)
        project = ls.project_of(path) if path is not None else None
        if project is not None and path is not None:
            _guarded(ls, "closing", lambda: project.judge(path, None))
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched(ls: TxlintServer, params: types.DidChangeWatchedFilesParams) -> None:
        """Files changed outside the editor (a checkout, a formatter): the project follows them."""
        paths = [(path, change.type) for change in params.changes if (path := _path_of(change.uri)) is not None]
        if any(path.name == "pyproject.toml" for path, _ in paths):
            ls.settings_changed()
            for document in list(ls.workspace.text_documents.values()):
                _judge(ls, document.uri, document.source, document.version)
            return
        for path, kind in paths:
            if path.suffix not in SUFFIXES:
                continue
            project = ls.project_of(path)
            if project is None or not project.loaded or project.display(path) in project.open_texts:
                continue
            if kind == types.FileChangeType.Deleted:
                _guarded(ls, "forgetting a deleted file", lambda p=project, f=path: p.forget(f))
            else:
                _guarded(ls, "reading a changed file", lambda p=project, f=path: p.judge(f, None))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: TxlintServer, params: types.HoverParams) -> types.Hover | None:
        found = _findings_at(ls, params.text_document.uri, params.position.line, params.position.line, params.position.character)
        if not found:
            return None
        rules = all_rules()
        text = "\n\n---\n\n".join(rules[f.code].explain() for f in found if f.code in rules)
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text)) if text else None

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    def code_action(ls: TxlintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return _guarded(ls, "computing code actions", lambda: _code_actions(ls, params)) or []

    return server


def _path_of(uri: str) -> Path | None:
    path = to_fs_path(uri)
    return Path(path).resolve() if path else None


def _judge(ls: TxlintServer, uri: str, text: str, version: int | None) -> None:
    path = _path_of(uri)
    if path is None or path.suffix not in SUFFIXES:
        return
    project = ls.project_of(path)
    if project is None:
        return
    project.open_uris[project.display(path)] = uri
    report = _guarded(ls, f"checking {path.name}", lambda: project.judge(path, text))
    if report is None:
        return
    _publish(ls, project, uri, text, report.findings, version)
    if report.whole_run:  # the other open files were judged again too
        for shown, other_text in project.open_texts.items():
            other = project.open_uris.get(shown, uri_of(project.root, shown))
            if other != uri:
                _publish(ls, project, other, other_text, project.findings_of(shown), None)
    elif report.moved:  # what the other open files point at here moved: judge them again (each alone)
        for shown, other_text in list(project.open_texts.items()):
            other = project.open_uris.get(shown, uri_of(project.root, shown))
            if other != uri and (other_path := _path_of(other)) is not None:
                again = _guarded(ls, f"checking {other_path.name}", lambda p=other_path, t=other_text: project.judge(p, t))
                if again is not None:
                    _publish(ls, project, other, other_text, again.findings, None)


def _publish(ls: TxlintServer, project: Project, uri: str, text: str, findings: list[Finding], version: int | None) -> None:
    lines = lines_of(text)
    diagnostics = [to_diagnostic(f, lines, project.root) for f in findings]
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version))


def _findings_at(ls: TxlintServer, uri: str, first: int, last: int, character: int | None = None) -> list[Finding]:
    """The current findings of the document at `uri` on lines `first`..`last` (0-based; with
    `character`, those whose span holds that position)."""
    path = _path_of(uri)
    project = ls.project_of(path) if path is not None else None
    if project is None or path is None:
        return []
    shown = project.display(path)
    lines = lines_of(project.open_texts.get(shown, ""))
    found = []
    for finding in project.findings_of(shown):
        if not (first + 1 <= finding.line <= last + 1 or finding.line <= first + 1 <= finding.end_line):
            continue
        if character is not None and finding.line == finding.end_line:
            row = lines[finding.line - 1] if finding.line - 1 < len(lines) else ""
            column = code_point_column(row, character)
            if not finding.column <= column <= max(finding.end_column, finding.column + 1):
                continue
        found.append(finding)
    return found


def _code_actions(ls: TxlintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    path = _path_of(uri)
    project = ls.project_of(path) if path is not None else None
    if project is None or path is None:
        return []
    shown = project.display(path)
    text = project.open_texts.get(shown)
    if text is None:
        return []
    lines = lines_of(text)
    actions: list[types.CodeAction] = []
    here = _findings_at(ls, uri, params.range.start.line, params.range.end.line)
    wanted_kinds = params.context.only
    if here and (wanted_kinds is None or types.CodeActionKind.QuickFix in wanted_kinds):
        for fixed in project.verified_fixes(path, unsafe=True):
            if any(_same_place(fixed, f) for f in here) and fixed.fix is not None:
                unsafe = fixed.fix.applicability is Applicability.UNSAFE
                actions.append(
                    types.CodeAction(
                        title=f"Fix {fixed.code}: {fixed.fix.message}" + (" (unsafe: changes behaviour)" if unsafe else ""),
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[to_diagnostic(fixed, lines, project.root)],
                        is_preferred=not unsafe,
                        edit=types.WorkspaceEdit(changes={uri: [_text_edit(e, lines) for e in fixed.fix.edits]}),
                    )
                )
    for finding in here:
        diagnostic = to_diagnostic(finding, lines, project.root)
        edited = ignored_line(text, finding.line, finding.code, sql=path.suffix == ".sql")
        if edited is not None:
            row = finding.line - 1
            end = line_end(lines, row)
            edit = types.TextEdit(range=types.Range(start=types.Position(line=row, character=0), end=types.Position(line=row, character=end)), new_text=edited)
            actions.append(
                types.CodeAction(
                    title=f"Ignore {finding.code} on this line",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    edit=types.WorkspaceEdit(changes={uri: [edit]}),
                )
            )
    return actions


def _same_place(a: Finding, b: Finding) -> bool:
    return (a.code, a.line, a.column) == (b.code, b.line, b.column)


def _text_edit(edit: Edit, lines: list[str]) -> types.TextEdit:
    edited = types.Range(start=position(lines, edit.line, edit.column), end=position(lines, edit.end_line, edit.end_column))
    return types.TextEdit(range=edited, new_text=edit.content)


def _guarded(ls: TxlintServer, doing: str, work: Any) -> Any:
    """Run `work()`; a bug of ours is logged to the editor and costs this answer only."""
    try:
        return work()
    except Exception as error:
        log.exception("txlint failed while %s", doing)
        ls.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=f"txlint: internal error while {doing}: {type(error).__name__}: {error}"))
        return None


def serve() -> None:
    """Serve one editor over stdin and stdout until it says exit."""
    build().start_io()
