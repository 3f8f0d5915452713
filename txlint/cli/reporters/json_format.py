"""JSON: an array of finding objects with the `Finding` field names, and each rule's page as `url`."""

from __future__ import annotations

import json
from collections.abc import Sequence

from txlint.core.ftypes import Finding
from txlint.core.links import rule_doc_url


def render(findings: Sequence[Finding]) -> str:
    return json.dumps([{**f.to_dict(), "url": rule_doc_url(f.code)} for f in findings], indent=2, ensure_ascii=True) + "\n"
