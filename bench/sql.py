"""Time sqlglot's parse of typical database statements with whatever sqlglot build is installed.

Run it once in an environment with plain sqlglot and once with the `fast`
extra (`pip install "txlint[fast]"`, which adds sqlglot's compiled build
`sqlglotc`) and compare the two `us per statement` lines:

    python bench/sql.py [--statements N]
"""

from __future__ import annotations

import argparse
import importlib
import time

import sqlglot

SHAPES = (
    "SELECT balance, status FROM accounts_{i} WHERE id = %s FOR UPDATE",
    "UPDATE accounts_{i} SET balance = balance - %s, version = version + 1 WHERE id = %s AND balance >= %s AND version = %s",
    "INSERT INTO ledger_{i} (account_id, amount, created) VALUES (%s, %s, now()) ON CONFLICT (account_id) DO NOTHING",
    "SELECT o.id, sum(l.qty) FROM orders_{i} o JOIN lines l ON l.order_id = o.id WHERE o.status = 'open' GROUP BY o.id",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=2000, help="distinct statements to parse (default 2000)")
    args = parser.parse_args()
    statements = [SHAPES[n % len(SHAPES)].format(i=n) for n in range(args.statements)]
    # sqlglotc installs compiled modules into sqlglot's own package: the parser is one of them.
    compiled = str(getattr(importlib.import_module("sqlglot.parser"), "__file__", "")).endswith((".so", ".pyd"))
    start = time.perf_counter()
    for statement in statements:
        sqlglot.parse(statement, read="postgres")
    elapsed = time.perf_counter() - start
    print(f"sqlglot {sqlglot.__version__} ({'compiled: sqlglotc' if compiled else 'pure Python'})")
    print(f"{len(statements)} distinct statements in {elapsed:.3f} s: {elapsed / len(statements) * 1e6:.0f} us per statement")


if __name__ == "__main__":
    main()
