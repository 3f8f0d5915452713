"""A file txlint was asked to check and could not analyse never drops out unseen.

An internal error, an unreadable or undecodable file: its notice goes to standard error even with
`--quiet`, the text summary counts it, and the run fails (exit 1) as a parse error (TX000) does,
since its bugs would otherwise pass the gate. A skip the configuration asks for (a file over
`max-file-size`) is only shown, and `--quiet` hides it.
"""

from __future__ import annotations

from typing import Any

import pytest

from txlint.engine.shard import Shard

CLEAN = "def total(rows):\n    return sum(rows)\n"

# `update_fields` naming a field twice (real code: pretix's cart service) was reported (issue 14) to
# make txlint raise inside the file's analysis, skipping the file; it is a save of that one field.
DUPLICATE_UPDATE_FIELDS = """\
from django.db import models


class Position(models.Model):
    price = models.IntegerField()


def reprice(position_id, delta):
    position = Position.objects.get(pk=position_id)
    position.price = position.price + delta
    position.save(update_fields=["price", "price"])
"""


def _fail_on(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Shard._analyse

    def analyse(self: Shard, item: Any) -> None:
        if item.job.display.endswith(name):
            raise RuntimeError("a bug of ours")
        real(self, item)

    monkeypatch.setattr(Shard, "_analyse", analyse)


@pytest.mark.parametrize("quiet", [[], ["-q"]])
def test_a_file_lost_to_an_internal_error_is_shown_and_fails_the_run(project, run_txlint, monkeypatch, quiet):
    project.write("ok.py", CLEAN)
    project.write("broken_for_us.py", CLEAN)
    _fail_on("broken_for_us.py", monkeypatch)
    run = run_txlint("check", "--jobs", "1", "--no-cache", *quiet, ".")
    assert run.exit_code == 1, run.output
    assert run.stderr.count("broken_for_us.py: internal error") == 1, run.stderr
    if not quiet:
        assert "1 could not be analysed" in run.stdout


def test_a_file_lost_to_an_internal_error_fails_a_json_run(project, run_txlint, monkeypatch):
    project.write("broken_for_us.py", CLEAN)
    _fail_on("broken_for_us.py", monkeypatch)
    run = run_txlint("check", "--jobs", "1", "--no-cache", "--format", "json", ".")
    assert run.exit_code == 1
    assert run.json() == []
    assert "broken_for_us.py: internal error" in run.stderr


def test_exit_zero_still_exits_0(project, run_txlint, monkeypatch):
    project.write("broken_for_us.py", CLEAN)
    _fail_on("broken_for_us.py", monkeypatch)
    run = run_txlint("check", "--jobs", "1", "--no-cache", "-q", "--exit-zero", ".")
    assert run.exit_code == 0
    assert "broken_for_us.py: internal error" in run.stderr


def test_an_undecodable_file_is_shown_with_quiet_and_fails_the_run(project, run_txlint):
    project.write("ok.py", CLEAN)
    project.write("latin.py", b'NAME = "caf\xe9"\n')
    run = run_txlint("check", "-q", ".")
    assert run.exit_code == 1
    assert run.stderr.count("latin.py: skipped") == 1
    assert run.stdout == ""


def test_a_file_over_the_configured_size_is_only_shown(project, run_txlint):
    project.config("max-file-size = 100\n")
    project.write("ok.py", CLEAN)
    project.write("huge.py", "x = 1\n" * 100)
    shown = run_txlint("check", ".")
    assert shown.exit_code == 0
    assert shown.stderr.count("huge.py: skipped") == 1
    quiet = run_txlint("check", "-q", ".")
    assert quiet.exit_code == 0
    assert quiet.stderr == ""


def test_a_field_named_twice_in_update_fields_is_analysed(project, run_txlint):
    project.write("app.py", DUPLICATE_UPDATE_FIELDS)
    run = run_txlint("check", "--no-cache", "--format", "json", ".")
    assert run.stderr == ""
    assert run.findings() == [("TX101", "app.py", 11)]
