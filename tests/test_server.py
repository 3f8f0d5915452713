"""`txlint server` driven by a real LSP client (pygls' own) over stdio, as an editor drives it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conftest import LOCKED_UPDATE, LOST_UPDATE, LOST_UPDATE_COLUMN, LOST_UPDATE_LINE, Project

pytest.importorskip("pygls", reason="the language server is the `lsp` extra")
from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

MODELS = "from django.db import models\nclass Account(models.Model):\n    balance = models.IntegerField()\n"
WITHDRAW = "from bank.models import Account\n" + LOST_UPDATE
TIMEOUT = 60


class Editor:
    """An LSP client holding what the server published, by document."""

    def __init__(self) -> None:
        self.client = LanguageClient("test-editor", "1")
        self.published: dict[str, list[types.PublishDiagnosticsParams]] = {}
        self.arrived = asyncio.Event()
        self.logs: list[str] = []

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.published.setdefault(params.uri, []).append(params)
            self.arrived.set()

        self.shown: list[str] = []

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def on_message(params: types.ShowMessageParams) -> None:
            self.shown.append(params.message)

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params: types.LogMessageParams) -> None:
            self.logs.append(params.message)

    async def diagnostics(self, uri: str, version: int | None) -> list[types.Diagnostic]:
        """The diagnostics the server publishes for `uri` at `version` (waits for them)."""
        async def wait() -> list[types.Diagnostic]:
            while True:
                for params in self.published.get(uri, []):
                    if params.version == version:
                        return list(params.diagnostics)
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(wait(), TIMEOUT)

    def open(self, path: Path, text: str, version: int = 1) -> str:
        uri = str(from_fs_path(str(path)))
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)))
        return uri

    def change(self, uri: str, text: str, version: int) -> None:
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )


def _run(coroutine: object) -> None:
    asyncio.run(coroutine)  # type: ignore[arg-type]


def test_a_lost_update_is_published_then_cleared_by_the_fix(project: Project) -> None:
    async def scenario() -> None:
        async for editor in editor_session(project):
            path = project.write("bank/views.py", WITHDRAW)
            uri = editor.open(path, WITHDRAW)
            [diagnostic] = await editor.diagnostics(uri, 1)
            assert diagnostic.code == "TX101" and diagnostic.source == "txlint"
            assert diagnostic.severity == types.DiagnosticSeverity.Error
            assert (diagnostic.range.start.line, diagnostic.range.start.character) == (LOST_UPDATE_LINE, LOST_UPDATE_COLUMN - 1)
            assert diagnostic.code_description is not None and diagnostic.code_description.href.endswith("docs/rules/TX101.md")
            assert diagnostic.related_information and "read here" in diagnostic.related_information[0].message
            assert diagnostic.related_information[0].location.range.start.line == LOST_UPDATE_LINE - 2
            # The user locks the row, without saving: the unsaved text is what is judged.
            editor.change(uri, "from bank.models import Account\n" + LOCKED_UPDATE, 2)
            assert await editor.diagnostics(uri, 2) == []
            # Half-typed code: a parse error, not a crash, and the project's facts are kept.
            editor.change(uri, WITHDRAW + "def broken(:\n", 3)
            [broken] = await editor.diagnostics(uri, 3)
            assert broken.code == "TX000"
            editor.change(uri, WITHDRAW, 4)
            assert [d.code for d in await editor.diagnostics(uri, 4)] == ["TX101"]

    _run(scenario())


def test_hover_explains_and_a_code_action_ignores_the_finding(project: Project) -> None:
    async def scenario() -> None:
        async for editor in editor_session(project):
            path = project.write("bank/views.py", WITHDRAW)
            uri = editor.open(path, WITHDRAW)
            [diagnostic] = await editor.diagnostics(uri, 1)
            position = diagnostic.range.start
            hover = await asyncio.wait_for(editor.client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), position)), TIMEOUT)
            assert hover is not None and isinstance(hover.contents, types.MarkupContent)
            assert "# TX101 lost-update" in hover.contents.value and "## Use instead" in hover.contents.value
            actions = await asyncio.wait_for(
                editor.client.text_document_code_action_async(
                    types.CodeActionParams(types.TextDocumentIdentifier(uri), diagnostic.range, types.CodeActionContext(diagnostics=[diagnostic]))
                ),
                TIMEOUT,
            )
            assert actions is not None
            [ignore] = [a for a in actions if isinstance(a, types.CodeAction) and a.title == "Ignore TX101 on this line"]
            assert ignore.edit is not None and ignore.edit.changes is not None
            [edit] = ignore.edit.changes[uri]
            lines = WITHDRAW.splitlines()
            lines[edit.range.start.line] = edit.new_text
            edited = "\n".join(lines) + "\n"
            assert edit.new_text.endswith("# txlint: ignore[TX101]")
            editor.change(uri, edited, 2)
            assert await editor.diagnostics(uri, 2) == []

    _run(scenario())


def test_an_edit_to_a_helper_reaches_its_callers_open_in_the_editor(project: Project) -> None:
    """What the rest of the project sees changed (a helper now locks): every open file is judged again."""
    helper = "from bank.models import Account\ndef load(pk):\n    return Account.objects.get(pk=pk)\n"
    caller = (
        "from django.db import transaction\nfrom bank.queries import load\n"
        "def withdraw(pk, amount):\n    with transaction.atomic():\n        acct = load(pk)\n        acct.balance -= amount\n        acct.save()\n"
    )

    async def scenario() -> None:
        async for editor in editor_session(project):
            helper_path = project.write("bank/queries.py", helper)
            caller_uri = editor.open(project.write("bank/views.py", caller), caller)
            assert [d.code for d in await editor.diagnostics(caller_uri, 1)] == ["TX101"]
            helper_uri = editor.open(helper_path, helper)
            await editor.diagnostics(helper_uri, 1)
            editor.change(helper_uri, helper.replace("objects.get(", "objects.select_for_update().get("), 2)
            await editor.diagnostics(helper_uri, 2)
            assert await editor.diagnostics(caller_uri, None) == []

    _run(scenario())


def test_bad_settings_are_shown_to_the_user_not_a_crash(project: Project) -> None:
    project.write("pyproject.toml", "[tool.txlint]\nselect = 5\n")

    async def scenario() -> None:
        async for editor in editor_session(project):
            messages = editor.shown
            path = project.write("bank/views.py", WITHDRAW)
            editor.open(path, WITHDRAW)
            for _ in range(200):
                if messages:
                    break
                await asyncio.sleep(0.05)
            assert messages and messages[0].startswith("txlint: ") and "select" in messages[0]
            # ... and the server still answers.
            hover = await asyncio.wait_for(
                editor.client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(str(from_fs_path(str(path)))), types.Position(0, 0))), TIMEOUT
            )
            assert hover is None

    _run(scenario())


async def editor_session(project: Project) -> AsyncIterator[Editor]:
    """An editor connected to a fresh `txlint server` on the project, shut down cleanly after."""
    project.write("bank/__init__.py", "")
    project.write("bank/models.py", MODELS)
    editor = Editor()
    await editor.client.start_io(sys.executable, "-m", "txlint", "server")
    root = str(from_fs_path(str(project.root)))
    params = types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=root, workspace_folders=[types.WorkspaceFolder(uri=root, name="project")])
    result = await asyncio.wait_for(editor.client.initialize_async(params), TIMEOUT)
    assert result.server_info is not None and result.server_info.name == "txlint"
    editor.client.initialized(types.InitializedParams())
    try:
        yield editor
    finally:
        await asyncio.wait_for(editor.client.shutdown_async(None), TIMEOUT)
        editor.client.exit(None)
        await asyncio.wait_for(editor.client.stop(), TIMEOUT)
    assert not any("internal error" in message for message in editor.logs), editor.logs


def _applied(text: str, edits: list[types.TextEdit]) -> str:
    """`text` with LSP edits made (ASCII text: UTF-16 offsets are character offsets)."""
    lines = text.split("\n")
    starts = [sum(len(line) + 1 for line in lines[:n]) for n in range(len(lines) + 1)]
    spans = sorted(((starts[e.range.start.line] + e.range.start.character, starts[e.range.end.line] + e.range.end.character, e.new_text) for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def test_a_code_action_applies_a_fix_that_holds(project: Project) -> None:
    locks = "import redis\nr = redis.Redis()\ndef claim(j):\n    if r.setnx(j, 1):\n        r.expire(j, 60)\n        run(j)\n"

    async def scenario() -> None:
        async for editor in editor_session(project):
            path = project.write("bank/locks.py", locks)
            uri = editor.open(path, locks)
            [diagnostic] = await editor.diagnostics(uri, 1)
            assert diagnostic.code == "TX201"
            actions = await asyncio.wait_for(
                editor.client.text_document_code_action_async(
                    types.CodeActionParams(types.TextDocumentIdentifier(uri), diagnostic.range, types.CodeActionContext(diagnostics=[diagnostic]))
                ),
                TIMEOUT,
            )
            assert actions is not None
            [fix] = [a for a in actions if isinstance(a, types.CodeAction) and a.title.startswith("Fix TX201")]
            assert fix.is_preferred and "unsafe" not in fix.title
            assert fix.edit is not None and fix.edit.changes is not None
            fixed = _applied(locks, list(fix.edit.changes[uri]))
            assert "r.set(j, 1, nx=True, ex=60)" in fixed and "expire" not in fixed
            editor.change(uri, fixed, 2)
            assert await editor.diagnostics(uri, 2) == []

    _run(scenario())


def test_bad_settings_are_said_once_and_a_fix_of_them_is_picked_up(project: Project) -> None:
    project.write("pyproject.toml", "[tool.txlint]\nselect = 5\n")

    async def scenario() -> None:
        async for editor in editor_session(project):
            path = project.write("bank/views.py", WITHDRAW)
            uri = editor.open(path, WITHDRAW)
            for version in (2, 3):
                editor.change(uri, WITHDRAW + "\n" * version, version)
            await asyncio.wait_for(editor.client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(0, 0))), TIMEOUT)
            assert len(editor.shown) == 1
            project.write("pyproject.toml", '[tool.txlint]\nignore = ["TX111"]\n')
            settings = str(from_fs_path(str(project.root / "pyproject.toml")))
            editor.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams([types.FileEvent(settings, types.FileChangeType.Changed)]))
            assert [d.code for d in await editor.diagnostics(uri, 3)] == ["TX101"]

    _run(scenario())


def test_a_file_outside_any_project_is_judged_alone(project: Project, tmp_path: Path) -> None:
    """No workspace folder, no configuration, no git: the file's folder is not walked."""
    loose = tmp_path / "loose"
    loose.mkdir()
    # Were the folder read, the counter below would make the script's full save stale (TX111).
    (loose / "models.py").write_text(MODELS)
    (loose / "counters.py").write_text("from django.db.models import F\nfrom models import Account\ndef top_up(pk):\n    Account.objects.filter(pk=pk).update(balance=F('balance') + 1)\n")
    script = loose / "script.py"
    text = "from models import Account\ndef rename(pk, note):\n    a = Account.objects.get(pk=pk)\n    a.note = note\n    a.save()\n"
    script.write_text(text)

    async def scenario() -> None:
        editor = Editor()
        await editor.client.start_io(sys.executable, "-m", "txlint", "server")
        await asyncio.wait_for(editor.client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities())), TIMEOUT)
        editor.client.initialized(types.InitializedParams())
        uri = editor.open(script, text)
        assert await editor.diagnostics(uri, 1) == []
        locks = text + "import redis\nr = redis.Redis()\ndef claim(j):\n    if r.setnx(j, 1):\n        r.expire(j, 60)\n"
        editor.change(uri, locks, 2)
        assert [d.code for d in await editor.diagnostics(uri, 2)] == ["TX201"]
        await asyncio.wait_for(editor.client.shutdown_async(None), TIMEOUT)
        editor.client.exit(None)
        await asyncio.wait_for(editor.client.stop(), TIMEOUT)
        assert not editor.logs

    _run(scenario())


def test_positions_count_lines_as_python_does(project: Project) -> None:
    """A form feed inside a line is no line break for Python: the diagnostic is on the line Python says."""
    text = "import redis\n\x0c\nr = redis.Redis()  # \u2028 a separator in a comment\ndef claim(j):\n    if r.setnx(j, 1):\n        r.expire(j, 60)\n"

    async def scenario() -> None:
        async for editor in editor_session(project):
            uri = editor.open(project.write("bank/locks.py", text), text)
            [diagnostic] = await editor.diagnostics(uri, 1)
            assert (diagnostic.range.start.line, diagnostic.range.start.character) == (4, 7)

    _run(scenario())
