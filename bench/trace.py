"""How fast `txlint trace` reads a statement log, and in how much memory.

    python bench/trace.py [--megabytes 1024] [--log-format postgres|mysql] [--keep FILE]

Writes a log of the given size (a web application's traffic: 200 connections taking turns,
each request a transaction of a locked read, a guarded decrement, an insert and a commit, with
reads outside transactions, both the simple and the extended protocol for PostgreSQL, and one
request in fifty with a lost update), then reads it the way `txlint trace` does, in this process on
one core, and prints MB/s (CPU and wall), the findings, and the peak resident memory. The log is
written to a temporary file and removed unless `--keep` names one.
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


def _postgres_request(rng: random.Random, pid: int, stamp: str, lost: bool) -> list[str]:
    account = rng.randrange(1, 100_000)
    amount = rng.randrange(1, 500)
    head = f"{stamp} [{pid}] app@shop "
    lock = "" if lost else " FOR UPDATE"
    lines = [f"{head}LOG:  statement: BEGIN\n"]
    if rng.random() < 0.5:
        lines.append(f"{head}LOG:  statement: SELECT id, balance, owner_id FROM accounts WHERE id = {account}{lock}\n")
    else:
        lines += [f"{head}LOG:  execute <unnamed>: SELECT id, balance, owner_id FROM accounts WHERE id = $1{lock}\n", f"{head}DETAIL:  parameters: $1 = '{account}'\n"]
    if lost:
        lines.append(f"{head}LOG:  statement: UPDATE accounts SET balance = {rng.randrange(0, 10_000)} WHERE id = {account}\n")
    else:
        lines += [
            f"{head}LOG:  execute <unnamed>: UPDATE accounts SET balance = balance - $1 WHERE id = $2 AND balance >= $3\n",
            f"{head}DETAIL:  parameters: $1 = '{amount}', $2 = '{account}', $3 = '{amount}'\n",
        ]
    lines += [
        f"{head}LOG:  statement: INSERT INTO ledger (account_id, amount, note) VALUES ({account}, -{amount}, 'order {rng.randrange(10**9)}')\n",
        f"{head}LOG:  statement: COMMIT\n",
        f"{head}LOG:  statement: SELECT id, name, price FROM products WHERE category_id = {rng.randrange(100)} ORDER BY name LIMIT 20\n",
    ]
    return lines


def _mysql_request(rng: random.Random, conn: int, lost: bool) -> list[str]:
    account = rng.randrange(1, 100_000)
    amount = rng.randrange(1, 500)
    lock = "" if lost else " FOR UPDATE"
    head = f"\t\t{conn:>6} Query\t"
    update = f"UPDATE accounts SET balance = {rng.randrange(0, 10_000)} WHERE id = {account}" if lost else f"UPDATE accounts SET balance = balance - {amount} WHERE id = {account} AND balance >= {amount}"
    return [
        f"{head}START TRANSACTION\n",
        f"{head}SELECT id, balance, owner_id FROM accounts WHERE id = {account}{lock}\n",
        f"{head}{update}\n",
        f"{head}INSERT INTO ledger (account_id, amount, note) VALUES ({account}, -{amount}, 'order {rng.randrange(10**9)}')\n",
        f"{head}COMMIT\n",
        f"{head}SELECT id, name, price FROM products WHERE category_id = {rng.randrange(100)} ORDER BY name LIMIT 20\n",
    ]


def write_log(path: Path, megabytes: int, log_format: str) -> int:
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
                    chunk += _postgres_request(rng, conn, f"2026-12-05 16:{requests // 60000 % 60:02d}:{requests // 1000 % 60:02d}.{requests % 1000:03d} UTC", lost)
                else:
                    chunk += _mysql_request(rng, conn, lost)
            text = "".join(chunk)
            out.write(text)
            written += len(text)
    return requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--log-format", choices=["postgres", "mysql"], default="postgres")
    parser.add_argument("--keep", type=Path)
    options = parser.parse_args()
    path = options.keep or Path(tempfile.mkstemp(suffix=".log")[1])
    try:
        requests = write_log(path, options.megabytes, options.log_format)
        size = path.stat().st_size
        cpu, wall = time.process_time(), time.perf_counter()
        replay = LogReplay(str(path), options.log_format)
        with path.open(encoding="utf-8", errors="replace") as stream:
            source = postgres.events(stream) if options.log_format == "postgres" else mysql.events(stream)
            findings = sum(1 for _ in replay.feed(source))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{options.log_format} log: {size / 1e6:.0f} MB, {requests} requests, {replay.statements} statements, {findings} findings")
        print(f"read in {cpu:.1f} s CPU ({size / 1e6 / cpu:.1f} MB/s), {wall:.1f} s wall ({size / 1e6 / wall:.1f} MB/s)")
        print(f"peak resident memory of the process: {peak:.0f} MB")
    finally:
        if options.keep is None:
            os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())
