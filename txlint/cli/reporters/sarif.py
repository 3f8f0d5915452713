"""SARIF 2.1.0, in the shape GitHub code scanning accepts.

One run, `tool.driver` with every rule of the run (each with its page as `helpUri`), results with a
repository-relative `artifactLocation.uri` (base `%SRCROOT%`), 1-based
regions, related locations and `partialFingerprints.primaryLocationLineHash`.

A result's message links its related locations the SARIF way (§3.11.6, "Messages with embedded
links"): `... ([read here without a row lock](1))`, where `1` is the `id` of a related location;
GitHub code scanning shows each as a link to that line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from txlint import __version__
from txlint.core.ftypes import Applicability, Finding, Fix, Related
from txlint.core.links import REPOSITORY_URL, rule_doc_url
from txlint.core.registry import all_rules

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = REPOSITORY_URL


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
            "helpUri": rule_doc_url(code),
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


def _link_text(text: str) -> str:
    """The text of an embedded link: a backslash and square brackets are escaped with a backslash
    (elsewhere in the message they may stand as they are)."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _message(f: Finding) -> str:
    """The finding's message, then a link to each related location by its id (1, 2, ...)."""
    if not f.related:
        return f.message
    links = "; ".join(f"[{_link_text(r.message)}]({i})" for i, r in enumerate(f.related, start=1))
    return f"{f.message} ({links})"


def _related(r: Related, i: int, root: Path) -> dict[str, Any]:
    return {"id": i, **_location(r.path, root, r.line, r.column), "message": {"text": r.message}}


def _result(f: Finding, root: Path, rule_index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.code,
        "level": f.severity.sarif_level,
        "message": {"text": _message(f)},
        "locations": [_location(f.path, root, f.line, f.column, f.end_line, f.end_column)],
        "partialFingerprints": {"primaryLocationLineHash": f"{f.fingerprint}:1"},
    }
    if f.code in rule_index:
        result["ruleIndex"] = rule_index[f.code]
    if f.related:
        result["relatedLocations"] = [_related(r, i, root) for i, r in enumerate(f.related, start=1)]
    if f.fix is not None:
        result["fixes"] = [_fix(f, f.fix, root)]
    return result


def _fix(f: Finding, fix: Fix, root: Path) -> dict[str, Any]:
    """A fix as SARIF's `fix` object (§3.55): the replacements in the finding's file; SARIF has no
    word for a fix's safety, so an unsafe one says so in its description."""
    replacements = [
        {
            "deletedRegion": {"startLine": e.line, "startColumn": e.column, "endLine": e.end_line, "endColumn": e.end_column},
            "insertedContent": {"text": e.content},
        }
        for e in fix.edits
    ]
    description = fix.message if fix.applicability is Applicability.SAFE else f"{fix.message} (unsafe: changes behaviour, applied with --unsafe-fixes)"
    return {
        "description": {"text": description},
        "artifactChanges": [{"artifactLocation": {"uri": _uri(f.path, root), "uriBaseId": "%SRCROOT%"}, "replacements": replacements}],
    }


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
