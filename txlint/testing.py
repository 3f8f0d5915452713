"""Helpers for turning a txlint warning into a failing test of your own.

`race(fn, n=8)` runs `fn` in `n` threads that a barrier releases at the same
moment, the way concurrent requests hit a server:

    def test_two_withdrawals_do_not_lose_money(engine):
        race(lambda: withdraw(account_id=1, amount=10), n=8)
        assert balance(1) == 100 - 8 * 10    # fails while withdraw() has TX101

Each thread should use its own connection or session (as requests do). A race
window that is only a few microseconds wide (read, compute, write) may close
before the other threads reach it; real code often has a wider one (a call to
a payment provider, a template render). To make a test deterministic, widen
it where the code waits anyway, e.g. with a short `time.sleep()` injected
between the read and the write in the test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["RaceError", "race"]


class RaceError(Exception):
    """Some racers raised; `results` holds each racer's return value (None where it raised),
    `errors` each racer's exception (None where it returned)."""

    def __init__(self, results: list[object], errors: list[BaseException | None]) -> None:
        self.results = results
        self.errors = errors
        failed = [e for e in errors if e is not None]
        super().__init__(f"{len(failed)} of {len(errors)} racers raised; the first: {type(failed[0]).__name__}: {failed[0]}")


class _Racer(Generic[T]):
    def __init__(self, fn: Callable[[], T], barrier: threading.Barrier, timeout: float) -> None:
        self.fn = fn
        self.barrier = barrier
        self.timeout = timeout
        self.result: T | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.barrier.wait(self.timeout)
            self.result = self.fn()
        except BaseException as error:  # noqa: BLE001 - reported to the caller of race(), never lost in a thread
            self.error = error


def race(fn: Callable[[], T], n: int = 8, *, timeout: float = 30.0, errors: str = "raise") -> list[T | BaseException | None]:
    """Run `fn()` in `n` threads released together; return their results in thread order.

    Args:
        fn: the code one request runs (no arguments; use a closure or `functools.partial`).
        n: how many concurrent calls.
        timeout: seconds to wait for the barrier and for the threads to finish.
        errors: "raise" (default): when any racer raised, raise `RaceError` after all have
            finished; "return": put each exception in the result list in place of a result.

    >>> sorted(race(lambda: 1, n=3))
    [1, 1, 1]
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    if errors not in {"raise", "return"}:
        raise ValueError('errors must be "raise" or "return"')
    barrier = threading.Barrier(n)
    racers = [_Racer(fn, barrier, timeout) for _ in range(n)]
    threads = [threading.Thread(target=r.run, name=f"txlint-race-{i}", daemon=True) for i, r in enumerate(racers)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f"racers still running after {timeout} s")
    failures = [r.error for r in racers]
    if errors == "raise" and any(failures):
        raise RaceError([r.result for r in racers], failures)
    return [r.error if r.error is not None else r.result for r in racers]
