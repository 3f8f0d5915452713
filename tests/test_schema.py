"""The JSON schema of `[tool.txlint]` (`docs/txlint-schema.json`) is the generated one, and it
accepts and refuses what the reader (`txlint.project.settings`) accepts and refuses.

Validated with `jsonschema` when it is installed; otherwise with the small validator below, which
knows every keyword the schema uses (a test checks that it uses no other).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from txlint.core.config import Config
from txlint.project.keys import KEYS, Kind
from txlint.project.schema import DRAFT, txlint_schema
from txlint.project.settings import ConfigError, config_from_table

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "docs" / "txlint-schema.json"
KEYWORDS = {"$schema", "title", "description", "type", "properties", "additionalProperties", "items", "minimum", "default", "examples"}

# For each kind: values the reader takes, and values of a wrong type it refuses.
GOOD: dict[Kind, list[Any]] = {
    Kind.STRINGS: [[], ["TX1", "TX101"]],
    Kind.STRINGS_BY_GLOB: [{}, {"tests/**": ["TX101"]}],
    Kind.STRING_BY_NAME: [{}, {"order_items": "orders"}],
    Kind.DIALECT: ["postgres", "mysql", "sqlite"],
    Kind.FLAG: [True, False],
    Kind.SIZE: [1, 2097152],
}
WRONG_TYPE: dict[Kind, list[Any]] = {
    Kind.STRINGS: ["TX101", [1], {"a": "b"}, True],
    Kind.STRINGS_BY_GLOB: [["TX101"], {"tests/**": "TX101"}, {"tests/**": [1]}],
    Kind.STRING_BY_NAME: [["orders"], {"order_items": 1}, "orders"],
    Kind.DIALECT: [1, ["postgres"], True],
    Kind.FLAG: ["true", 1, 0],
    Kind.SIZE: ["1MB", 1.5, True, 0, -1],
}


def _valid_here(schema: dict[str, Any], value: Any) -> bool:
    """The keywords of `KEYWORDS`, as draft-07 defines them."""
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            return False
        properties, extra = schema.get("properties", {}), schema.get("additionalProperties", True)
        return all(
            _valid_here(properties[k], v) if k in properties else extra is not False and (extra is True or _valid_here(extra, v)) for k, v in value.items()
        )
    if kind == "array":
        return isinstance(value, list) and all(_valid_here(schema.get("items", {}), v) for v in value)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool) and value >= schema.get("minimum", value)
    return kind is None


def _valid(value: Any) -> bool:
    schema = txlint_schema()
    try:
        import jsonschema
    except ImportError:
        return _valid_here(schema, value)
    return jsonschema.Draft7Validator(schema).is_valid(value)


def _reader_takes(table: dict[str, Any]) -> bool:
    try:
        config_from_table(table, ROOT, None)
    except ConfigError:
        return False
    return True


def _keywords(schema: Any) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    found = set(schema)
    for key, value in schema.items():
        if key == "properties":
            for sub in value.values():
                found |= _keywords(sub)
        elif key in {"items", "additionalProperties"}:
            found |= _keywords(value)
    return found


def test_committed_schema_is_the_generated_one() -> None:
    committed = COMMITTED.read_text(encoding="utf-8")
    assert json.loads(committed) == txlint_schema(), "docs/txlint-schema.json is stale: run `python -m txlint.cli.docs_pages`"


def test_the_table_of_keys_is_the_settings_of_config() -> None:
    settings = {f.name.replace("_", "-") for f in fields(Config)} - {"root", "source"}
    assert set(KEYS) == settings
    assert set(txlint_schema()["properties"]) == settings


def test_schema_is_draft_07_and_uses_only_known_keywords() -> None:
    schema = txlint_schema()
    assert schema["$schema"] == DRAFT == "http://json-schema.org/draft-07/schema#"
    assert _keywords(schema) <= KEYWORDS
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed: the structural check above stands")
    jsonschema.Draft7Validator.check_schema(schema)


def test_schema_accepts_the_projects_own_configuration() -> None:
    table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["txlint"]
    assert table and _valid(table) and _reader_takes(table)


def test_schema_accepts_the_readme_example() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```toml\n(\[tool\.txlint\]\n.*?)```", readme, re.S)
    table = tomllib.loads(block)["tool"]["txlint"]
    assert set(table) == set(KEYS), "the README's example shows every key"
    assert _valid(table) and _reader_takes(table)


def test_defaults_are_valid_values() -> None:
    for key, schema in txlint_schema()["properties"].items():
        if "default" in schema:
            assert _valid({key: schema["default"]}) and _reader_takes({key: schema["default"]}), key


@pytest.mark.parametrize("key", sorted(KEYS))
def test_schema_and_reader_agree_on_each_key(key: str) -> None:
    kind = KEYS[key].kind
    for value in GOOD[kind]:
        assert _valid({key: value}) and _reader_takes({key: value}), (key, value)
    for value in WRONG_TYPE[kind]:
        assert not _valid({key: value}), f"the schema takes {key} = {value!r}"
        assert not _reader_takes({key: value}), f"the reader takes {key} = {value!r}"


def test_schema_and_reader_refuse_an_unknown_key() -> None:
    assert not _valid({"selekt": ["TX101"]})
    assert not _reader_takes({"selekt": ["TX101"]})


def test_the_validator_here_agrees_with_jsonschema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft7Validator(txlint_schema())
    for key in KEYS:
        kind = KEYS[key].kind
        for value in [*GOOD[kind], *WRONG_TYPE[kind]]:
            assert _valid_here(txlint_schema(), {key: value}) == validator.is_valid({key: value}), (key, value)
