"""The seeds in their own language: `examples/php/` run with PHP against MariaDB and PostgreSQL, their
statement logs judged by `txlint trace` (CI installs php-cli, php-mysql and php-pgsql)."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from conftest import Project, Run
from log_support import general_log, mariadb_admin, postgres_admin, traced, unavailable

PHP_DIR = Path(__file__).resolve().parents[1] / "examples" / "php"
PHP = shutil.which("php")


def _php(*args: str) -> None:
    if PHP is None:
        unavailable("php is not installed (apt-get install php-cli php-mysql php-pgsql)")
    assert PHP is not None
    done = subprocess.run([PHP, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def _codes(run_txlint: Callable[..., Run], project: Project, log: str, log_format: str) -> list[str]:
    return sorted(f["code"] for f in traced(run_txlint, project, log, log_format))


def _tables(suffix: str) -> dict[str, str]:
    return {name: f"{name}_{suffix}" for name in ("t_account", "users", "goods", "orders")}


def _schema(tables: dict[str, str]) -> list[str]:
    return [
        f"CREATE TABLE {tables['t_account']} (id int primary key, money int)",
        f"CREATE TABLE {tables['users']} (id int primary key, balance int)",
        f"CREATE TABLE {tables['goods']} (id int primary key, stock int)",
        f"CREATE TABLE {tables['orders']} (request_id varchar(40) primary key, user_id int, goods_id int)",
        f"INSERT INTO {tables['t_account']} VALUES (1, 100)",
        f"INSERT INTO {tables['users']} VALUES (1, 100)",
        f"INSERT INTO {tables['goods']} VALUES (1, 5)",
    ]


def _scripts(dsn: str, user: str, tables: dict[str, str], variant: str) -> list[list[str]]:
    return [
        [str(PHP_DIR / "seed001_deduction.php"), dsn, user, tables["t_account"], variant, "50"],
        [str(PHP_DIR / "seed003_purchase.php"), dsn, user, tables["users"], tables["goods"], tables["orders"], variant, uuid.uuid4().hex],
    ]


EXPECTED = {"bad": [["TX101"], ["TX106", "TX106"]], "fixed": [[], []]}  # seed 003: the balance and the stock


def test_php_seeds_on_mariadb(project: Project, run_txlint: Callable[..., Run]) -> None:
    admin = mariadb_admin()
    cursor = admin.cursor()
    tables = _tables(uuid.uuid4().hex[:8])
    for statement in _schema(tables):
        cursor.execute(statement)
    try:
        for variant, expected in EXPECTED.items():
            for script, codes in zip(_scripts("mysql:host=127.0.0.1;port=3306;dbname=test", "root", tables, variant), expected, strict=True):
                with general_log(cursor) as log:
                    _php(*script)
                    time.sleep(0.1)
                written = log.read_text(encoding="utf-8", errors="replace")
                log.unlink(missing_ok=True)
                assert _codes(run_txlint, project, written, "mysql") == codes, (variant, script[0])
    finally:
        for table in tables.values():
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        admin.close()


def test_php_seeds_on_postgresql(project: Project, run_txlint: Callable[..., Run]) -> None:
    admin, log = postgres_admin()
    tables = _tables(uuid.uuid4().hex[:8])
    for statement in _schema(tables):
        admin.execute(statement)
    dsn = "pgsql:host=127.0.0.1;port=5432;dbname=test;options='-c log_statement=all'"
    try:
        for variant, expected in EXPECTED.items():
            for script, codes in zip(_scripts(dsn, "postgres", tables, variant), expected, strict=True):
                start = log.stat().st_size
                _php(*script)
                time.sleep(0.2)
                with log.open(encoding="utf-8", errors="replace") as stream:
                    stream.seek(start)
                    written = stream.read()
                assert _codes(run_txlint, project, written, "postgres") == codes, (variant, script[0])
    finally:
        for table in tables.values():
            admin.execute(f"DROP TABLE IF EXISTS {table}")
        admin.close()
