"""Run analysis code on a thread with a large stack and a high recursion limit.

libcst and the walker recurse once per nesting level of the code they read;
a generated file with a few thousand nested operators overflows Python's
default limit (RecursionError) or the C stack (a crash with no message).
Files CPython itself refuses for nesting are turned away before libcst sees
them; the rest run here, where the limit is high and the stack can hold it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

STACK_BYTES = 512 * 1024 * 1024  # virtual memory: only the pages touched are committed
RECURSION_LIMIT = 60_000


def run_deep(function: Callable[[], T]) -> T:
    """Call `function()` on a fresh thread with a deep stack; return its result or re-raise its error."""
    values: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            values.append(function())
        except BaseException as error:  # noqa: BLE001 - handed back to the caller's thread
            errors.append(error)

    previous_stack = threading.stack_size()
    previous_limit = sys.getrecursionlimit()
    threading.stack_size(STACK_BYTES)
    try:
        sys.setrecursionlimit(max(previous_limit, RECURSION_LIMIT))
        worker = threading.Thread(target=target, name="txlint-analysis", daemon=True)
        worker.start()
    finally:
        threading.stack_size(previous_stack)
    worker.join()
    sys.setrecursionlimit(previous_limit)
    if errors:
        raise errors[0]
    return values[0]
