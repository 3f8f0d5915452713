"""SARIF 2.1.0, in the shape GitHub code scanning accepts.

One run, `tool.driver` with every rule of the run, results with a
repository-relative `artifactLocation.uri` (base `%SRCROOT%`), 1-based
regions, related locations and `partialFingerprints.primaryLocationLineHash`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from txlint import __version__
from txlint.core.ftypes import Finding
from txlint.core.registry import all_rules

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/txlint/txlint"


def _uri(path: str, root: Path) -> str:
    absolute = Path(os.path.abspath(path))
    try:
        relative = PurePosixPath(absolute.relative_to(root.resolve()).as_posix())
    except ValueError:
        return absolute.as_uri()
    # fsencode: a file name that is not valid UTF-8 is percent-encoded byte for byte, not a crash.
    return quote(os.fsencode(str(relative)))


def _rules(codes: Iterable[str]) -> list[dict[str, Any]]:
    rules = all_rules()
    return [
        {
            "id": code,
            "name": rules[code].name,
            "shortDescription": {"text": rules[code].summary},
            "fullDescription": {"text": rules[code].doc.what_it_does.strip()},
            "help": {"text": rules[code].explain(), "markdown": rules[code].explain()},
            "defaultConfiguration": {"level": rules[code].severity.sarif_level, "enabled": rules[code].default_enabled},
            "properties": {"tags": ["concurrency", "correctness"]},
        }
        for code in sorted(codes)
        if code in rules
    ]


def _location(path: str, root: Path, line: int, column: int, end_line: int | None = None, end_column: int | None = None) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": max(line, 1), "startColumn": max(column, 1)}
    if end_line is not None and end_column is not None:
        region["endLine"] = max(end_line, line, 1)
        region["endColumn"] = max(end_column, 1)
    return {"physicalLocation": {"artifactLocation": {"uri": _uri(path, root), "uriBaseId": "%SRCROOT%"}, "region": region}}


def _result(f: Finding, root: Path, rule_index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.code,
        "level": f.severity.sarif_level,
        "message": {"text": f.message},
        "locations": [_location(f.path, root, f.line, f.column, f.end_line, f.end_column)],
        "partialFingerprints": {"primaryLocationLineHash": f"{f.fingerprint}:1"},
    }
    if f.code in rule_index:
        result["ruleIndex"] = rule_index[f.code]
    if f.related:
        result["relatedLocations"] = [
            {"id": i, **_location(r.path, root, r.line, r.column), "message": {"text": r.message}}
            for i, r in enumerate(f.related, start=1)
        ]
    return result


def render(findings: Sequence[Finding], root: Path, codes: Iterable[str]) -> str:
    rules = _rules(set(codes) | {f.code for f in findings})
    rule_index = {rule["id"]: i for i, rule in enumerate(rules)}
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "txlint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}},
                "results": [_result(f, root, rule_index) for f in findings],
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"
