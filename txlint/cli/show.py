"""`check --show-settings` and `check --show-files`: what a run would use, without running it.

When txlint does something unexpected the first questions are which
configuration file it read, which rules are on, and which files it looked
at. These answer them as text (the CLI prints it); every `[tool.txlint]` key
is listed with its resolved value, defaults included, written as TOML so a
line can be pasted into `pyproject.toml`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from txlint.cli.reporters.text import clean
from txlint.core.config import Config

INDEX_ONLY = "(index only)"
STDIN = "(stdin)"


def settings_text(config: Config, enabled: frozenset[str], project_root: Path, cache: Path | None) -> str:
    """The resolved settings of a run: where they came from, the root, the cache, the rules on, every key."""
    lines = [
        f"Settings file: {clean(str(config.source.resolve())) if config.source is not None else 'none (the defaults)'}",
        f"Project root: {clean(str(project_root))}",
        f"Cache folder: {clean(str(cache.resolve())) if cache is not None else 'none (--no-cache)'}",
        f"Enabled codes ({len(enabled)}): {', '.join(sorted(enabled))}",
        "",
        "[tool.txlint]",
    ]
    for field in fields(Config):
        if field.name in {"root", "source"}:
            continue
        key, value = field.name.replace("_", "-"), getattr(config, field.name)
        lines.append(f"# {key}: not set (the rules that are on by default)" if value is None else f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def files_text(checked: Sequence[str], index_only: Sequence[str], stdin: bool = False) -> str:
    """The files a run would check, one a line, then the files it would read for the project index only."""
    lines = [f"{clean(path)} {STDIN}" if stdin else clean(path) for path in checked]
    lines += [f"{clean(path)} {INDEX_ONLY}" for path in index_only]
    return "".join(line + "\n" for line in lines)


def _toml(value: object) -> str:
    """A TOML value: json's strings are TOML basic strings (non-ASCII and controls escaped)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + " }" if value else "{}"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))
