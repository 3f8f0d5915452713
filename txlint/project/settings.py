"""Configuration files: `[tool.txlint]` in the nearest `pyproject.toml`, validated.

A typo in a key must not silently switch a rule off, so unknown keys and
values of the wrong type are a `ConfigError` that names the key and the file
(the CLI turns it into exit status 2).
"""

from __future__ import annotations

import tomllib
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from txlint.core.config import Config
from txlint.project.keys import KEYS, Kind
from txlint.project.layout import git_work_tree


class ConfigError(Exception):
    """A configuration problem the user must fix; the message names key and file."""


def _check_str_list(key: str, value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: `{key}` must be a list of strings")
    return tuple(value)


def _convert(key: str, value: Any, where: str) -> Any:
    kind = KEYS[key].kind if key in KEYS else None  # the schema of the table is written from KEYS too
    if kind is Kind.STRINGS:
        return _check_str_list(key, value, where)
    if kind is Kind.STRINGS_BY_GLOB:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: `{key}` must be a table of glob = [codes]")
        return {str(k): _check_str_list(f"{key}.{k}", v, where) for k, v in value.items()}
    if kind is Kind.STRING_BY_NAME:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ConfigError(f"{where}: `{key}` must be a table of child = parent table names")
        return dict(value)
    if kind is Kind.DIALECT:
        from txlint.sql import dialect_names

        if not isinstance(value, str) or value.lower() not in dialect_names():
            raise ConfigError(f"{where}: `{key}` must be one of {', '.join(sorted(dialect_names()))}")
        return value.lower()
    if kind is Kind.FLAG:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: `{key}` must be true or false")
        return value
    if kind is Kind.SIZE:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{where}: `{key}` must be a positive number of bytes")
        return value
    raise ConfigError(f"{where}: unknown key `{key}` in [tool.txlint]")


def config_from_table(table: dict[str, Any], root: Path, source: Path | None, base: Config | None = None) -> Config:
    """Validate a `[tool.txlint]` table and build a `Config` on top of `base`."""
    where = str(source) if source else "configuration"
    known = {f.name.replace("_", "-") for f in fields(Config)} - {"root", "source"}
    changes: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown key `{key}` in [tool.txlint]")
        changes[key.replace("-", "_")] = _convert(key, value, where)
    return replace(base or Config(), root=root, source=source, **changes)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None


def load_file(path: Path) -> Config:
    """Load an explicit `--config` file: a `pyproject.toml` or a `txlint.toml` holding the table itself."""
    data = _read_toml(path)
    if path.name == "pyproject.toml" or "tool" in data:
        tool = data.get("tool", {})
        table = tool.get("txlint", {}) if isinstance(tool, dict) else {}
    else:
        table = data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.txlint] must be a table")
    return config_from_table(table, path.resolve().parent, path)


def find_config(start: Path) -> Path | None:
    """The nearest `pyproject.toml` with a `[tool.txlint]` table, walking up from `start`."""
    here = start.resolve()
    if not here.is_dir():
        here = here.parent
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            tool = _read_toml(candidate).get("tool", {})
            if isinstance(tool, dict) and "txlint" in tool:
                return candidate
    return None


def discover(start: Path) -> Config:
    """The configuration that applies to `start`, or the defaults when there is none: rooted then at
    the git work tree holding `start`, else at its folder. The root names the project's modules and
    keys its result cache, so `txlint check app/x.py`, stdin named `app/x.py` and `txlint check .`
    must agree on it."""
    found = find_config(start)
    if found is None:
        here = start.resolve()
        folder = here if here.is_dir() else here.parent
        return Config(root=git_work_tree(folder) or folder)
    return load_file(found)
