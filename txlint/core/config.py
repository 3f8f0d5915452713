"""The settings of one run, as rules and front-ends read them.

Reading them from `[tool.txlint]` (and rejecting a typo in a key) is
`txlint.project.settings`; this module holds only the resolved values and
their defaults, so the rule API does not depend on how they were found.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_MONEY_COLUMNS: tuple[str, ...] = (
    "balance", "money", "amount", "credit", "credits", "points", "coins", "wallet",
    "stock", "quantity", "qty", "inventory", "quota", "remaining", "available",
    "seats", "tickets",
)  # fmt: skip
DEFAULT_VERSION_FIELDS: tuple[str, ...] = ("version", "version_id", "revision", "row_version", "lock_version")
DEFAULT_MAX_FILE_SIZE = 2 * 1024 * 1024


@dataclass(frozen=True)
class Config:
    """The resolved settings of one run. Field names are the TOML keys with `_` for `-`."""

    select: tuple[str, ...] | None = None  # None: the rules that are on by default
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # SQL dialect of SQL strings and `.sql` files. A `.sql` file may ask for its own: a first-line
    # `-- txlint: dialect=mysql` comment wins, then its name (`*.mysql.sql`, `*.mariadb.sql`,
    # `*.pg.sql`, `*.postgres.sql`, `*.postgresql.sql`, `*.psql.sql`, `*.sqlite.sql`), then this
    # setting (`txlint.frontends.sql_script.dialect_of`). Unset (""): PostgreSQL, except that a
    # `.sql` file quoting names with backticks is MySQL's; `sql_dialect` is the one to parse with.
    dialect: str = ""
    money_columns: tuple[str, ...] = DEFAULT_MONEY_COLUMNS
    core_tables: tuple[str, ...] = ()
    lock_functions: tuple[str, ...] = ()
    lock_parents: dict[str, str] = field(default_factory=dict)
    non_negative_columns: tuple[str, ...] = ()
    monotonic_columns: tuple[str, ...] = ()
    version_fields: tuple[str, ...] = DEFAULT_VERSION_FIELDS
    atomic_requests: bool = False
    include_tests: bool = False  # judge tests and migrations too (clarification 23)
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    # Where the settings came from; not TOML keys.
    root: Path = field(default_factory=Path.cwd)
    source: Path | None = None

    def analysis_key(self) -> tuple[object, ...]:
        """The settings that change what the analysis finds (for caches)."""
        return tuple(
            (f.name, _freeze(getattr(self, f.name)))
            for f in fields(self)
            if f.name not in {"root", "source", "exclude", "max_file_size"}
        )


    @property
    def sql_dialect(self) -> str:
        """The dialect SQL strings in code are parsed with: the configured one, else PostgreSQL."""
        return self.dialect or "postgres"

def _freeze(value: object) -> object:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value
