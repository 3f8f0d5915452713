"""How long `txlint server` takes from an edit to its diagnostics, as an editor sees it.

    python bench/lsp.py PROJECT FILE [--edits 20]

Starts the server over stdio with pygls' client, opens FILE of PROJECT (the
first open analyses the project, warm from `.txlint_cache` when a `txlint
check` ran there), then makes `--edits` edits, each a different line of the
file changed, and waits for the diagnostics of each version. Prints the
median and worst of the edits in wall time (client side) and in the server
process's CPU time (from /proc), beside a bare libcst parse of the same file
(the baseline: what any libcst-based linter pays per edit).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import libcst
from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _edited(text: str, number: int) -> str:
    """The text with one more line changed: a comment appended to a line that is code."""
    lines = text.split("\n")
    code = [i for i, line in enumerate(lines) if line.strip() and not line.rstrip().endswith(("\\", ",", "(", "[", "{")) and '"""' not in line and "'''" not in line]
    target = code[(number * 7) % len(code)]
    lines[target] += f"  # edit {number}"
    return "\n".join(lines)


async def measure(project: Path, file: Path, edits: int) -> None:
    client = LanguageClient("bench", "1")
    published: dict[int | None, float] = {}
    arrived = asyncio.Event()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        published[params.version] = time.perf_counter()
        arrived.set()

    async def wait(version: int) -> None:
        while version not in published:
            arrived.clear()
            await asyncio.wait_for(arrived.wait(), 600)

    await client.start_io(sys.executable, "-m", "txlint", "server", cwd=str(project))
    assert client._server is not None
    pid = client._server.pid
    root = str(from_fs_path(str(project)))
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=root))
    client.initialized(types.InitializedParams())
    uri = str(from_fs_path(str(file)))
    text = file.read_text()
    started, cpu = time.perf_counter(), _cpu_seconds(pid)
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    await wait(1)
    print(f"first open (loads the project): wall {published[1] - started:.2f} s, server CPU {_cpu_seconds(pid) - cpu:.2f} s")
    walls, cpus = [], []
    for number in range(edits):
        version = number + 2
        changed = _edited(text, number)
        cpu, started = _cpu_seconds(pid), time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=changed)],
            )
        )
        await wait(version)
        walls.append(published[version] - started)
        await asyncio.sleep(0.05)  # let the server finish its bookkeeping before reading its CPU time
        cpus.append(_cpu_seconds(pid) - cpu)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    baseline = []
    for _ in range(5):
        begin = time.process_time()
        libcst.parse_module(text)
        baseline.append(time.process_time() - begin)
    ms = lambda seconds: f"{seconds * 1000:.0f} ms"  # noqa: E731
    print(f"{edits} edits of {file} ({len(text.splitlines())} lines):")
    print(f"  wall, edit to diagnostics: median {ms(statistics.median(walls))}, worst {ms(max(walls))}")
    print(f"  server CPU per edit (10 ms ticks): median {ms(statistics.median(cpus))}, worst {ms(max(cpus))}")
    print(f"  baseline, bare libcst parse of the file, CPU: median {ms(statistics.median(baseline))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("file", type=Path)
    parser.add_argument("--edits", type=int, default=20)
    options = parser.parse_args()
    project = options.project.resolve()
    file = (project / options.file).resolve() if not options.file.is_absolute() else options.file
    asyncio.run(measure(project, file, options.edits))


if __name__ == "__main__":
    main()
