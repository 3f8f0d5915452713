"""The shared labelled corpus, scored by its own `score.py` through the installed console script.

Precision must be perfect; every code txlint implements must find every
labelled case of it. Codes not implemented yet only count against recall.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from txlint.core.registry import all_rules

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("TXLINT_CORPUS", ROOT.parent / "shared" / "corpus"))
LINE = re.compile(r"^(?P<code>TX\d+)\s+tp\s+(?P<tp>\d+)\s+fn\s+(?P<fn>\d+)\s+fp\s+(?P<fp>\d+)", re.M)

pytestmark = pytest.mark.skipif(not (CORPUS / "score.py").exists(), reason=f"labelled corpus not found at {CORPUS}")


# Corpus folders whose front-end has landed: every implemented code must reach full recall there.
RECALL_FOLDERS = ["core/shop", "core/seeds", "core/tickets", "core/ledger", "core/sql", "core/locks"]


def score(folder: Path) -> tuple[dict[str, tuple[int, int, int]], str]:
    script = Path(sys.executable).parent / "txlint"
    proc = subprocess.run(
        [sys.executable, str(CORPUS / "score.py"), str(folder), "--txlint", str(script), "--verbose"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    per_code = {m["code"]: (int(m["tp"]), int(m["fn"]), int(m["fp"])) for m in LINE.finditer(proc.stdout)}
    assert per_code, proc.stdout
    return per_code, proc.stdout


def test_no_false_alarm_anywhere_in_the_corpus() -> None:
    per_code, output = score(CORPUS)
    assert not {code: fp for code, (_, _, fp) in per_code.items() if fp}, output


@pytest.mark.parametrize("folder", RECALL_FOLDERS)
def test_implemented_codes_find_every_labelled_case(folder: str) -> None:
    per_code, output = score(CORPUS / folder)
    implemented = set(all_rules()) - {"TX000"}
    assert not {code: fn for code, (_, fn, _) in per_code.items() if code in implemented and fn}, output
    assert any(tp for code, (tp, _, _) in per_code.items() if code in implemented), output
