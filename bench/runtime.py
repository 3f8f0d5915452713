"""Overhead of the runtime hook (`txlint.runtime.watch`) on SQLAlchemy, in one run.

    python bench/runtime.py [--postgres URL] [--rounds N] [--statements N] [--transactions N]

Two measurements, each on SQLite in memory and on PostgreSQL (skipped with a
note when the server does not answer):

* per-statement overhead: one cached Core statement (`SELECT balance FROM
  accounts WHERE id = :id`, compiled once, parsed by txlint once) executed
  `--statements` times on one connection without the hook, then the same with
  it; the overhead of a round is the difference of the two per-statement
  times; the figure is the median over the rounds (µs);
* ORM workload: `--transactions` transactions of a small shop (load an
  account `with_for_update`, change its balance, add a ledger row, commit:
  the locked, clean code the hook sees most in production), without and with
  the hook; the slowdown is median(with) / median(without) - 1 of the wall
  time.

The hook's own cost is also measured directly: the listeners are wrapped so
that the time spent inside them is added up ("inside the hook"). On a machine
shared with other jobs, or over a network, the difference of two wall times
is noisy (a PostgreSQL round trip varies by more than the hook costs); the
time inside the hook is not. SQLAlchemy's own cost of calling a listener is
not in it; a no-op listener costs nothing measurable.

Rounds alternate without/with, so load from other processes weighs on both
sides alike. One monitor (mode "collect": reporting costs nothing) is
removed for the rounds without and installed again for the rounds with the
hook, so the figures are the steady state: each statement text parsed once,
each table's constraints read once, as in a long-running process. Targets (issue 6): at most 25 µs per
cached statement, at most 10 % on the PostgreSQL workload.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from sqlalchemy import Column, ForeignKey, Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.pool import StaticPool

from txlint.runtime.options import RuntimeOptions
from txlint.runtime.sources.sqlalchemy_events import SQLAlchemyMonitor

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STATEMENT_TARGET_US = 25.0
POSTGRES_TARGET = 0.10


def models(suffix: str) -> tuple[Any, Any, Any]:
    class Base(DeclarativeBase):
        pass

    class Account(Base):
        __tablename__ = f"bench_accounts_{suffix}"
        id = Column(Integer, primary_key=True)
        balance = Column(Integer, nullable=False)

    class Ledger(Base):
        __tablename__ = f"bench_ledger_{suffix}"
        id = Column(Integer, primary_key=True)
        account_id = Column(Integer, ForeignKey(Account.id), nullable=False)
        amount = Column(Integer, nullable=False)
        note = Column(String(40))

    return Base, Account, Ledger


class Round(NamedTuple):
    wall: float  # seconds
    cpu: float  # seconds of CPU time of this process
    inside: float  # seconds spent inside txlint's listeners (0 without the hook)


# The timing wrapper is compiled under a `<...>` file name, which txlint's stack walk treats as
# library code: a wrapper defined in this file would be the "application" frame nearest to the
# hook, and the walk for a finding's line would stop there instead of going up to the workload's
# own line as it does in a real program (that walk is part of the cost being measured).
_TIMED = """
def make(fn, clock, perf_counter):
    def timed(*args, **kwargs):
        start = perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            clock.spent += perf_counter() - start
    return timed
"""
_timed_namespace: dict[str, Any] = {}
exec(compile(_TIMED, "<txlint bench clock>", "exec"), _timed_namespace)


class HookClock:
    """Wraps a monitor's listeners so the time spent inside them is added up: the hook's own cost,
    measured directly instead of as the difference of two noisy totals."""

    def __init__(self) -> None:
        self.spent = 0.0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return _timed_namespace["make"](fn, self, time.perf_counter)


def statement_round(engine: Any, account: Any, count: int, clock: HookClock) -> Round:
    """Per execution of one cached statement."""
    query = select(account.balance).where(account.id == 7)
    with engine.connect() as conn:
        before = clock.spent
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            conn.execute(query).scalar_one()
        return Round((time.perf_counter() - wall) / count, (time.process_time() - cpu) / count, (clock.spent - before) / count)


def workload_round(engine: Any, account: Any, ledger: Any, count: int, clock: HookClock) -> Round:
    """For `count` shop transactions."""
    before = clock.spent
    wall, cpu = time.perf_counter(), time.process_time()
    for n in range(count):
        with Session(engine) as session, session.begin():
            acct = session.get(account, 1 + n % 50, with_for_update=True)
            acct.balance -= 1
            session.add(ledger(account_id=acct.id, amount=-1, note="bench"))
    return Round(time.perf_counter() - wall, time.process_time() - cpu, clock.spent - before)


def alternate(rounds: int, measure: Callable[[HookClock], Round], engine: Any) -> tuple[list[Round], list[Round]]:
    """(without, with) measurements of `rounds` alternating rounds, after a warm-up round of each.

    One monitor serves every round: it is installed for the rounds with the hook and removed for
    the others, so what is measured is the steady state (statements parsed once, table schemas
    read once), not the monitor's start-up."""
    clock = HookClock()
    monitor = SQLAlchemyMonitor(engine, RuntimeOptions("collect"))
    monitor._listeners = [(target, name, clock.wrap(fn)) for target, name, fn in monitor._listeners]
    without: list[Round] = []
    watched: list[Round] = []
    try:
        for n in range(rounds + 1):
            monitor.close()
            plain = measure(clock)
            monitor.install()
            hooked = measure(clock)
            if n:  # round 0 warms the caches (SQLAlchemy's compiled cache, txlint's parse cache)
                without.append(plain)
                watched.append(hooked)
    finally:
        monitor.close()
    if monitor.errors or monitor.findings:
        raise SystemExit(f"the benchmark workload is not clean: {monitor.errors} errors, {monitor.findings}")
    return without, watched


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def bench(engine: Any, args: argparse.Namespace) -> dict[str, float]:
    suffix = uuid.uuid4().hex[:8]
    base, account, ledger = models(suffix)
    base.metadata.create_all(engine)
    try:
        with Session(engine) as session, session.begin():
            session.add_all([account(id=n, balance=10**9) for n in range(1, 51)])
        plain, hooked = alternate(args.rounds, lambda clock: statement_round(engine, account, args.statements, clock), engine)
        plain_w, hooked_w = alternate(args.rounds, lambda clock: workload_round(engine, account, ledger, args.transactions, clock), engine)
        base_wall = median(p.wall for p in plain_w)
        return {
            "statement_us": median(p.wall for p in plain) * 1e6,
            "inside_us": median(h.inside for h in hooked) * 1e6,
            "difference_us": median(h.wall - p.wall for p, h in zip(plain, hooked, strict=True)) * 1e6,
            "workload_s": base_wall,
            "workload_hooked_s": median(h.wall for h in hooked_w),
            "slowdown": median(h.wall for h in hooked_w) / base_wall - 1,
            "inside_share": median(h.inside for h in hooked_w) / base_wall,
            "inside_per_tx_us": median(h.inside for h in hooked_w) / args.transactions * 1e6,
        }
    finally:
        base.metadata.drop_all(engine)
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="SQLAlchemy URL of a PostgreSQL database (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--statements", type=int, default=1000, help="statements per round")
    parser.add_argument("--transactions", type=int, default=100, help="ORM transactions per round")
    args = parser.parse_args(argv)

    results: dict[str, dict[str, float] | str] = {}
    sqlite = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    results["SQLite (memory)"] = bench(sqlite, args)
    try:
        postgres = create_engine(args.postgres, connect_args={"connect_timeout": 3})
        with postgres.connect():
            pass
    except Exception as error:  # noqa: BLE001 - no server: say so, measure the rest
        results["PostgreSQL"] = f"not measured: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    else:
        results["PostgreSQL"] = bench(postgres, args)

    print(f"txlint runtime hook overhead ({args.rounds} rounds; {args.statements} statements, {args.transactions} ORM transactions per round)")
    print()
    print("| database        | statement (µs) | inside the hook (µs/stmt) | with - without (µs/stmt) | ORM workload without (s) | with hook (s) | slowdown (wall) | inside the hook (share; µs/tx) |")
    print("|-----------------|---------------:|--------------------------:|-------------------------:|-------------------------:|--------------:|----------------:|-------------------------------:|")
    for name, row in results.items():
        if isinstance(row, str):
            print(f"| {name:<15} | {row} |")
            continue
        print(
            f"| {name:<15} | {row['statement_us']:14.1f} | {row['inside_us']:25.1f} | {row['difference_us']:24.1f} | "
            f"{row['workload_s']:24.3f} | {row['workload_hooked_s']:13.3f} | {row['slowdown'] * 100:14.1f}% | "
            f"{row['inside_share'] * 100:13.1f}%; {row['inside_per_tx_us']:6.0f} |"
        )
    print()
    statement_ok = all(isinstance(r, str) or r["inside_us"] <= STATEMENT_TARGET_US for r in results.values())
    print(f"target ≤ {STATEMENT_TARGET_US:.0f} µs per cached statement (inside the hook): {'met' if statement_ok else 'NOT met'}")
    pg = results.get("PostgreSQL")
    if isinstance(pg, dict):
        print(
            f"target ≤ {POSTGRES_TARGET * 100:.0f} % on the PostgreSQL workload: "
            f"wall-time slowdown {pg['slowdown'] * 100:.1f} % ({'met' if pg['slowdown'] <= POSTGRES_TARGET else 'NOT met'}), "
            f"time inside the hook {pg['inside_share'] * 100:.1f} % of the run ({'met' if pg['inside_share'] <= POSTGRES_TARGET else 'NOT met'})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
