"""Tests and one-off code: files that are not run concurrently, so not judged by default (clarification 23).

A `test/` folder counts as `tests/` (test factories and helpers live there: `oscar/test/`).

Tests (`tests/`, `test_*.py`, `*_test.py`, `conftest.py`) run one request at a
time against a throwaway database; migrations (Django's `migrations/`,
Alembic's `versions/`) run once, alone. Their races are not the application's.
They are still read: their models and atomic writers feed the project index.
`include-tests = true` judges them too.
"""

from __future__ import annotations

from pathlib import PurePath

from txlint.project.discovery import relative_under

TEST_FOLDERS = frozenset({"tests", "test"})
MIGRATION_FOLDERS = frozenset({"migrations"})
ALEMBIC_PARENTS = frozenset({"alembic", "migrations", "migration"})


def is_one_off(path: str | PurePath) -> bool:
    """Whether a file is a test, a test helper or a migration, by its path."""
    pure = PurePath(path)
    name = pure.name
    if name == "conftest.py" or (name.startswith("test_") and name.endswith(".py")) or name.endswith("_test.py"):
        return True
    folders = pure.parts[:-1]
    if any(part in TEST_FOLDERS or part in MIGRATION_FOLDERS for part in folders):
        return True
    # Alembic keeps its revisions in `versions/` beside its `env.py`, under `alembic/` or `migrations/`.
    return any(part == "versions" and index > 0 and folders[index - 1] in ALEMBIC_PARENTS for index, part in enumerate(folders))


def is_one_off_in(path: str, root: str) -> bool:
    """Whether a file is one-off code, judged by its path below the project root (`root`, absolute;
    as given when it lies elsewhere): `tests/` above the project does not make everything a test."""
    relative = relative_under(path, root)
    return is_one_off(relative if relative is not None else path)
