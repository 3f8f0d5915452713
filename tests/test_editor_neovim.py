"""`txlint server` in a real editor: Neovim's own LSP client, headless (skipped where Neovim is not installed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Project

pytest.importorskip("pygls", reason="the language server is the `lsp` extra")
NVIM = shutil.which("nvim")
SCRIPT = Path(__file__).parent / "editors" / "neovim_fix.lua"
LOCKS = "import redis\nr = redis.Redis()\ndef claim(j):\n    if r.setnx(j, 1):\n        r.expire(j, 60)\n        run(j)\n"


@pytest.mark.skipif(NVIM is None, reason="Neovim is not installed (apt-get install neovim)")
def test_neovim_shows_the_finding_and_applies_its_fix(project: Project, tmp_path: Path) -> None:
    project.write(".git/HEAD", "ref: refs/heads/main\n")
    path = project.write("app/locks.py", LOCKS)
    out = tmp_path / "out.txt"
    txlint = Path(sys.executable).parent / "txlint"
    environment = {**os.environ, "TXLINT": str(txlint), "ROOT": str(project.root), "FILE": str(path), "OUT": str(out)}
    assert NVIM is not None
    subprocess.run([NVIM, "--headless", "--clean", "-u", str(SCRIPT)], env=environment, timeout=180, check=True, capture_output=True)
    lines = out.read_text().splitlines()
    assert "diagnostic txlint TX201 4:8" in lines
    assert lines[lines.index("diagnostic txlint TX201 4:8") + 1].startswith("action Fix TX201: ")
    assert "remaining 0" in lines
    assert "|     if r.set(j, 1, nx=True, ex=60):" in lines and not any("expire" in line for line in lines if line.startswith("|"))
