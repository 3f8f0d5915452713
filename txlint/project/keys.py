"""The keys of `[tool.txlint]`: what kind of value each takes, and what it means.

The one declaration of the table's keys. The reader (`settings`) checks a value by its key's kind,
and the JSON schema editors use (`schema`, committed as `docs/txlint-schema.json`) is written from
the same table, so the two cannot disagree on a key or a type. Defaults are `Config`'s; a test
checks that every `Config` setting has a key here and the other way round.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    """The kinds of value a key takes, as the reader checks them."""

    STRINGS = "a list of strings"
    STRINGS_BY_GLOB = "a table of glob = list of strings"
    STRING_BY_NAME = "a table of name = string"
    DIALECT = "an SQL dialect name"
    FLAG = "true or false"
    SIZE = "a positive integer"


@dataclass(frozen=True)
class Key:
    """One key of `[tool.txlint]`."""

    kind: Kind
    description: str


KEYS: dict[str, Key] = {
    "select": Key(Kind.STRINGS, "Rule codes or prefixes to run (`TX1`, `TX101`, `ALL`); replaces the default set, the rules on by default."),
    "extend-select": Key(Kind.STRINGS, "Rule codes or prefixes to run besides the selected ones (`TX206` turns on a rule that is off by default)."),
    "ignore": Key(Kind.STRINGS, "Rule codes or prefixes not to report."),
    "exclude": Key(Kind.STRINGS, "Files and folders not to check, in .gitignore syntax, relative to the configuration file."),
    "per-file-ignores": Key(Kind.STRINGS_BY_GLOB, "Rule codes or prefixes not to report in the files a glob matches (`\"tests/**\" = [\"TX101\"]`)."),
    "dialect": Key(
        Kind.DIALECT,
        "SQL dialect of SQL strings and .sql files, any sqlglot dialect name (postgres, mysql, sqlite, ...). "
        "Unset: PostgreSQL, and MySQL for a .sql file that quotes names with backticks.",
    ),
    "money-columns": Key(Kind.STRINGS, "Words that mark a column as money or stock (a whole word of its name): its in-database decrements are judged by TX105 and TX106."),
    "core-tables": Key(Kind.STRINGS, "Tables a transaction that writes them must lock rows of, besides those it reads and writes back (TX103)."),
    "lock-functions": Key(Kind.STRINGS, "The project's own lock helpers, as dotted names (`myapp.locks.lock_account`, `myapp.models.Account.lock`)."),
    "lock-parents": Key(Kind.STRING_BY_NAME, "Child table = parent table: a lock on the parent row serialises the child rows (`order_items = \"orders\"`)."),
    "non-negative-columns": Key(Kind.STRINGS, "Columns (`column` or `table.column`) the database keeps from going below zero, as a `CHECK (c >= 0)` would (TX106)."),
    "monotonic-columns": Key(Kind.STRINGS, "Columns (`column` or `table.column`) that only ever grow, such as sequence numbers: a compare-and-swap on their old value is safe (TX107)."),
    "version-fields": Key(Kind.STRINGS, "Column names that hold a row version for optimistic locking: a compare-and-swap on one is not TX107."),
    "atomic-requests": Key(Kind.FLAG, "Django's ATOMIC_REQUESTS is on: every view runs in a transaction."),
    "include-tests": Key(Kind.FLAG, "Also judge tests and migrations (otherwise read for the project index only)."),
    "max-file-size": Key(Kind.SIZE, "Files larger than this many bytes are skipped with a notice."),
}
