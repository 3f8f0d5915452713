"""JSON: an array of finding objects with exactly the `Finding` field names."""

from __future__ import annotations

import json
from collections.abc import Sequence

from txlint.core.ftypes import Finding


def render(findings: Sequence[Finding]) -> str:
    return json.dumps([f.to_dict() for f in findings], indent=2, ensure_ascii=True) + "\n"
