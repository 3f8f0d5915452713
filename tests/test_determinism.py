"""The same code gives the same report on every run: no message may depend on the string hash seed.

A branch often tests a value computed from several columns; which one a
message names used to follow a frozenset's iteration order, which Python
salts per process (`PYTHONHASHSEED`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BUCKET = '''\
from django.db import models
from django.utils.timezone import now


class TokenBucket(models.Model):
    value = models.CharField(max_length=80, unique=True)
    tokens = models.FloatField(default=1.0)
    updated = models.DateTimeField(default=now)


def authorize(value, capacity, refill):
    stamp = now()
    obj, created = TokenBucket.objects.get_or_create(value=value)
    if not created:
        elapsed = (stamp - obj.updated).total_seconds()
        obj.tokens = min(1.0, obj.tokens + elapsed / refill)
    obj.tokens -= 1.0 / capacity
    if obj.tokens < 0:
        return False
    obj.updated = stamp
    obj.save()
    return True
'''


def _report(folder: Path, seed: int) -> list[tuple[str, int, str]]:
    environment = {**os.environ, "PYTHONHASHSEED": str(seed)}
    command = [sys.executable, "-m", "txlint", "check", "--no-cache", "--format", "json", "--exit-zero", "."]
    done = subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, check=True)
    return [(f["code"], f["line"], f["message"]) for f in json.loads(done.stdout)]


def test_a_check_on_several_columns_names_the_same_one_whatever_the_hash_seed(tmp_path: Path) -> None:
    (tmp_path / "bucket.py").write_text(BUCKET)
    reports = {tuple(_report(tmp_path, seed)) for seed in range(6)}
    assert len(reports) == 1, reports
    (report,) = reports
    assert any(code == "TX102" for code, _, _ in report)  # the check-then-act is reported, and named one way
