"""How fast `txlint trace` reads a statement log, and in how much memory.

    python bench/trace.py [--megabytes 1024] [--log-format postgres|mysql] [--style orm|terse] [--keep FILE]

Writes a log of the given size (a web application's traffic: 200 connections taking turns, each
request a transaction that reads an account, writes its new balance and a ledger line and commits,
then a read outside it; the SQL as Django, SQLAlchemy and asyncpg send it to PostgreSQL, as Laravel
and Django send it to MySQL, or `--style terse`: short hand-written statements, the most per
megabyte; one request in fifty reads without a lock: a lost update), then reads it the way
`txlint trace` does, in this process on one core, and prints MB/s (CPU and wall), the findings,
the peak resident memory, and a baseline of the same run: the same lines split into words by
Python (the machine's speed varies by the hour; the ratio much less). The log is written to a
temporary file and removed unless `--keep` names one.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from txlint.runtime.logs import mysql, postgres
from txlint.runtime.logs.replay import LogReplay


# What three client libraries send for the same request (read the account, charge it, write a
# ledger line): Django (psycopg, values inlined, quoted names, every field saved), SQLAlchemy
# (psycopg2, values inlined, labelled columns) and asyncpg (the extended protocol, values bound).
def _django_pg(account: int, amount: int, balance: int, lock: str, stamp: str, note: str) -> list[tuple[str, str | None]]:
    columns = ", ".join(f'"shop_account"."{c}"' for c in ("id", "owner_id", "balance", "currency", "updated_at"))
    return [
        ("BEGIN", None),
        (f'SELECT {columns} FROM "shop_account" WHERE "shop_account"."id" = {account} LIMIT 21{lock}', None),
        (
            f'UPDATE "shop_account" SET "owner_id" = {account // 7}, "balance" = \'{balance}.00\'::numeric, "currency" = \'EUR\', '
            f'"updated_at" = \'{stamp}+00:00\'::timestamptz WHERE "shop_account"."id" = {account}',
            None,
        ),
        (
            f'INSERT INTO "shop_ledgerentry" ("account_id", "amount", "note", "created_at") VALUES ({account}, \'-{amount}.00\'::numeric, '
            f'\'{note}\', \'{stamp}+00:00\'::timestamptz) RETURNING "shop_ledgerentry"."id"',
            None,
        ),
        ("COMMIT", None),
    ]


def _sqlalchemy_pg(account: int, amount: int, balance: int, lock: str, stamp: str, note: str) -> list[tuple[str, str | None]]:
    return [
        ("BEGIN", None),
        (f"SELECT accounts.id AS accounts_id, accounts.owner_id AS accounts_owner_id, accounts.balance AS accounts_balance FROM accounts WHERE accounts.id = {account}{lock}", None),
        (f"UPDATE accounts SET balance={balance}, updated_at='{stamp}'::timestamp WHERE accounts.id = {account}", None),
        (f"INSERT INTO ledger (account_id, amount, note, created_at) VALUES ({account}, {-amount}, '{note}', '{stamp}'::timestamp) RETURNING ledger.id", None),
        ("COMMIT", None),
    ]


def _asyncpg_pg(account: int, amount: int, balance: int, lock: str, stamp: str, note: str) -> list[tuple[str, str | None]]:
    return [
        ("BEGIN;", None),
        (f"SELECT id, owner_id, balance FROM accounts WHERE id = $1{lock}", f"$1 = '{account}'"),
        ("UPDATE accounts SET balance = $1, updated_at = now() WHERE id = $2", f"$1 = '{balance}', $2 = '{account}'"),
        ("INSERT INTO ledger (account_id, amount, note) VALUES ($1, $2, $3)", f"$1 = '{account}', $2 = '{-amount}', $3 = '{note}'"),
        ("COMMIT;", None),
    ]


# And hand-written SQL, as short as statements get (`--style terse`): the most statements per megabyte.
def _terse_pg(account: int, amount: int, balance: int, lock: str, stamp: str, note: str) -> list[tuple[str, str | None]]:
    return [
        ("BEGIN", None),
        (f"SELECT id, balance FROM accounts WHERE id = {account}{lock}", None),
        (f"UPDATE accounts SET balance = {balance} WHERE id = {account}", None),
        (f"INSERT INTO ledger (account_id, amount) VALUES ({account}, {amount})", None),
        ("COMMIT", None),
    ]


def _terse_mysql(account: int, amount: int, balance: int, lock: str, stamp: str, note: str) -> list[str]:
    return [sql for sql, _ in _terse_pg(account, amount, balance, lock, stamp, note)]


STYLES = ("orm", "terse")


def _postgres_request(rng: random.Random, pid: int, stamp: str, lost: bool, style: str) -> list[str]:
    """One request's lines. A safe request locks the row it charges; one in fifty does not."""
    account, amount = rng.randrange(1, 100_000), rng.randrange(1, 500)
    client = (_django_pg, _sqlalchemy_pg, _asyncpg_pg)[pid % 3] if style == "orm" else _terse_pg
    statements = client(account, amount, rng.randrange(0, 10_000), "" if lost else " FOR UPDATE", stamp.replace(" UTC", ""), f"order {rng.randrange(10**9)}")
    statements.append((f'SELECT "shop_product"."id", "shop_product"."name", "shop_product"."price" FROM "shop_product" WHERE "shop_product"."category_id" = {rng.randrange(100)} ORDER BY "shop_product"."name" ASC LIMIT 20', None))
    head = f"{stamp} [{pid}] app@shop "
    lines = []
    for sql, parameters in statements:
        if parameters is None:
            lines.append(f"{head}LOG:  statement: {sql}\n")
        else:
            lines += [f"{head}LOG:  execute __asyncpg_stmt_{len(sql) % 97:x}__: {sql}\n", f"{head}DETAIL:  parameters: {parameters}\n"]
    return lines


# And what two send to MySQL: Laravel (PDO, values inlined and quoted) and Django.
def _laravel_mysql(account: int, amount: int, balance: int, lock: str, stamp: str, note: str) -> list[str]:
    return [
        "START TRANSACTION",
        f"select * from `accounts` where `accounts`.`id` = '{account}' limit 1{lock}",
        f"update `accounts` set `balance` = '{balance}', `accounts`.`updated_at` = '{stamp}' where `id` = '{account}'",
        f"insert into `ledger_entries` (`account_id`, `amount`, `note`, `updated_at`, `created_at`) values ('{account}', '{-amount}', '{note}', '{stamp}', '{stamp}')",
        "COMMIT",
    ]


def _django_mysql(account: int, amount: int, balance: int, lock: str, stamp: str, note: str) -> list[str]:
    columns = ", ".join(f"`shop_account`.`{c}`" for c in ("id", "owner_id", "balance", "currency", "updated_at"))
    return [
        "set autocommit=0",
        f"SELECT {columns} FROM `shop_account` WHERE `shop_account`.`id` = {account} LIMIT 21{lock}",
        f"UPDATE `shop_account` SET `owner_id` = {account // 7}, `balance` = '{balance}.00', `currency` = 'EUR', `updated_at` = '{stamp}' WHERE `shop_account`.`id` = {account}",
        f"INSERT INTO `shop_ledgerentry` (`account_id`, `amount`, `note`, `created_at`) VALUES ({account}, '-{amount}.00', '{note}', '{stamp}')",
        "commit",
        "set autocommit=1",
    ]


def _mysql_request(rng: random.Random, conn: int, lost: bool, style: str) -> list[str]:
    account, amount = rng.randrange(1, 100_000), rng.randrange(1, 500)
    stamp = f"2026-12-05 16:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
    client = (_laravel_mysql, _django_mysql)[conn % 2] if style == "orm" else _terse_mysql
    statements = client(account, amount, rng.randrange(0, 10_000), "" if lost else " for update", stamp, f"order {rng.randrange(10**9)}")
    statements.append(f"select * from `products` where `category_id` = {rng.randrange(100)} order by `name` asc limit 20")
    head = f"\t\t{conn:>6} Query\t"
    return [f"{head}{sql}\n" for sql in statements]


def write_log(path: Path, megabytes: int, log_format: str, style: str = "orm") -> int:
    rng = random.Random(7)
    limit, written, requests = megabytes * 1_000_000, 0, 0
    with path.open("w", encoding="utf-8") as out:
        if log_format == "mysql":
            out.write("Time\t\t    Id Command\tArgument\n")
        while written < limit:
            chunk: list[str] = []
            for _ in range(500):
                requests += 1
                lost = requests % 50 == 0
                conn = 1000 + rng.randrange(200)
                if log_format == "postgres":
                    chunk += _postgres_request(rng, conn, f"2026-12-05 16:{requests // 60000 % 60:02d}:{requests // 1000 % 60:02d}.{requests % 1000:03d} UTC", lost, style)
                else:
                    chunk += _mysql_request(rng, conn, lost, style)
            text = "".join(chunk)
            out.write(text)
            written += len(text)
    return requests


def _baseline(path: Path) -> float:
    """CPU seconds to read the log's lines and split each into words: the least a reader written in
    Python does per line, measured in the same run (this machine's speed varies by the hour)."""
    cpu = time.process_time()
    with path.open(encoding="utf-8", errors="replace", newline="\n") as stream:
        for line in stream:
            line.split()
    return time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--log-format", choices=["postgres", "mysql"], default="postgres")
    parser.add_argument("--style", choices=STYLES, default="orm", help="the SQL as ORMs write it (default), or hand-written and short")
    parser.add_argument("--keep", type=Path)
    options = parser.parse_args()
    path = options.keep or Path(tempfile.mkstemp(suffix=".log")[1])
    try:
        requests = write_log(path, options.megabytes, options.log_format, options.style)
        size = path.stat().st_size
        base = _baseline(path)
        cpu, wall = time.process_time(), time.perf_counter()
        replay = LogReplay(str(path), options.log_format)
        with path.open(encoding="utf-8", errors="replace", newline="\n") as stream:
            source = postgres.any_events(stream) if options.log_format == "postgres" else mysql.events(stream)
            findings = sum(1 for _ in replay.feed(source))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{options.log_format} log ({options.style}): {size / 1e6:.0f} MB, {requests} requests, {replay.statements} statements, {findings} findings")
        print(f"read in {cpu:.1f} s CPU ({size / 1e6 / cpu:.1f} MB/s, {replay.statements / cpu / 1000:.0f} k statements/s), {wall:.1f} s wall ({size / 1e6 / wall:.1f} MB/s)")
        print(f"baseline, the same lines split into words by Python: {base:.1f} s CPU ({size / 1e6 / base:.1f} MB/s): txlint trace takes {cpu / base:.1f}x its time")
        print(f"peak resident memory of the process: {peak:.0f} MB")
    finally:
        if options.keep is None:
            os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())
