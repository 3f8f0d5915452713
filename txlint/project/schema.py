"""The JSON schema of `[tool.txlint]`, for editors (Even Better TOML, VS Code) and SchemaStore.

Written from the table of keys the reader checks values by (`keys.KEYS`) and from `Config`'s
defaults, so it names every key the reader accepts and no other. It is committed as
`docs/txlint-schema.json` (`python -m txlint.cli.docs_pages` writes it; a test checks it is
current). Draft-07, as SchemaStore's `pyproject.json` that a tool section plugs into.

The schema is never looser about a type than the reader, and never stricter: the dialect is any
string here, since the reader takes sqlglot's dialect names in any case, and that list changes
with sqlglot releases.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from txlint.core.config import Config
from txlint.project.keys import KEYS, Kind

DRAFT = "http://json-schema.org/draft-07/schema#"

_STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
_VALUE: dict[Kind, dict[str, Any]] = {
    Kind.STRINGS: _STRINGS,
    Kind.STRINGS_BY_GLOB: {"type": "object", "additionalProperties": _STRINGS},
    Kind.STRING_BY_NAME: {"type": "object", "additionalProperties": {"type": "string"}},
    Kind.DIALECT: {"type": "string", "examples": ["postgres", "mysql", "sqlite"]},
    Kind.FLAG: {"type": "boolean"},
    Kind.SIZE: {"type": "integer", "minimum": 1},
}


def _defaults() -> dict[str, Any]:
    """Each key's default as JSON, where there is one to show: unset (`None`, `""`) means "decided
    per file" and has no value a user could write."""
    config = Config()
    found: dict[str, Any] = {}
    for f in fields(Config):
        value = getattr(config, f.name)
        if value is None or value == "" or f.name in {"root", "source"}:
            continue
        found[f.name.replace("_", "-")] = list(value) if isinstance(value, tuple) else value
    return found


def _property(key: str, default: Any) -> dict[str, Any]:
    spec = KEYS[key]
    schema: dict[str, Any] = {"description": spec.description, **_VALUE[spec.kind]}
    if default is not None:
        schema["default"] = default
    return schema


def txlint_schema() -> dict[str, Any]:
    """The schema of the `[tool.txlint]` table (also of a `txlint.toml` holding the table itself)."""
    defaults = _defaults()
    return {
        "$schema": DRAFT,
        "title": "txlint",
        "description": "txlint's settings: [tool.txlint] in pyproject.toml. Unknown keys are an error (exit status 2).",
        "type": "object",
        "additionalProperties": False,
        "properties": {key: _property(key, defaults.get(key)) for key in KEYS},
    }
