"""Progress on stderr for long runs: only on a terminal, only after a while, never with --quiet.

The engine reports `progress(done, total)` and prints nothing; the CLI draws
it (`txlint.cli.progress`) when stderr is a terminal, and erases it before
the report, so what a user reads (or a pipe receives) is unchanged.
"""

from __future__ import annotations

import io

import pytest

from conftest import LOST_UPDATE
from txlint.cli import main as cli_main
from txlint.cli import progress as progress_module
from txlint.cli.progress import Progress
from txlint.core.config import Config
from txlint.core.registry import all_rules
from txlint.engine.runner import Engine
from txlint.project.discovery import discover, display_path


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_drawn_before_the_delay_and_the_line_is_erased_after():
    stream, clock = io.StringIO(), Clock()
    shown = Progress(stream, 12, delay=2.0, clock=clock)
    shown(5, 36)
    assert stream.getvalue() == ""  # a short run shows nothing
    clock.now += 2.5
    shown(18, 36)
    assert stream.getvalue() == "\rtxlint: checking 12 files... 50%"
    clock.now += 0.01
    shown(19, 36)
    assert stream.getvalue().count("\r") == 1  # not redrawn more than every INTERVAL
    clock.now += 1
    shown(36, 36)
    assert stream.getvalue().endswith("\rtxlint: checking 12 files... 100%")
    shown.close()
    assert stream.getvalue().endswith("\r" + " " * len("txlint: checking 12 files... 100%") + "\r")


def test_a_run_shorter_than_the_delay_writes_nothing_at_all():
    stream = io.StringIO()
    shown = Progress(stream, 1, delay=2.0, clock=Clock())
    shown(3, 3)
    shown.close()
    assert stream.getvalue() == ""


def test_a_closed_terminal_does_not_end_the_run():
    stream = io.StringIO()
    stream.close()
    shown = Progress(stream, 1, delay=0)
    shown(1, 3)
    shown.close()


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_engine_counts_every_file_of_every_phase(project, jobs):
    for n in range(8):  # enough for two processes with --jobs 2
        project.write(f"app{n}.py", LOST_UPDATE)
    found = discover([project.root], project.root, ())
    calls: list[tuple[int, int]] = []
    engine = Engine(Config(root=project.root), frozenset(all_rules()), jobs=jobs, progress=lambda done, total: calls.append((done, total)))
    result = engine.check_files(found.files, [display_path(p) for p in found.files])
    assert len(result.findings) == 8
    assert result.processes == jobs
    assert calls[-1] == (24, 24)  # 8 files x 3 phases that count
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_the_cli_draws_progress_on_a_terminal_stderr(project, run_txlint, monkeypatch):
    project.write("app.py")
    monkeypatch.setattr(progress_module, "DELAY", 0.0)
    monkeypatch.setattr(cli_main, "_is_terminal", lambda stream: stream is cli_main.sys.stderr)
    run = run_txlint("check", ".")
    assert run.exit_code == 1
    assert "\rtxlint: checking 1 file... " in run.stderr
    assert run.stderr.endswith("\r")  # erased before the report
    assert "\r" not in run.stdout
    assert run_txlint("check", "--quiet", ".").stderr == ""


def test_no_progress_when_stderr_is_not_a_terminal(project, run_txlint, monkeypatch):
    project.write("app.py")
    monkeypatch.setattr(progress_module, "DELAY", 0.0)
    assert "\r" not in run_txlint("check", ".").stderr
