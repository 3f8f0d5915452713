"""Which request a statement belongs to: a read of an earlier request is not the read behind a write.

A test that posts twice through Django's or Flask's test client runs both
requests on one connection, often inside the one transaction the test case
wraps around the test; the second request's write would otherwise be linked to
the first one's read, which no user's concurrent request can interleave with.
Each thread counts the requests it has started (a web server handles a
request on one thread); a read remembers the count it was made under, and a
write looks back only at the reads of its own request. A thread id Python
reuses for a new thread inherits the old count: only whether two counts
differ matters.

The count follows the frameworks' own "request started" signals, connected once
when a source is installed and the framework is imported: Django's
`django.core.signals.request_started`, Flask's `flask.request_started`.
Outside a request the count does not move: a script or a task is one run.
"""

from __future__ import annotations

import sys
import threading

_counts: dict[int, int] = {}  # thread id -> requests started on it (a dict: a threading.local is dearer to read)
_get_ident = threading.get_ident
MAX_THREADS = 4096  # a server that makes a thread per request: the counts of finished ones are let go
_followed: set[str] = set()
_lock = threading.Lock()


def current() -> int:
    """The number of requests this thread has started (0 before the first)."""
    return _counts.get(_get_ident(), 0)


def started(*_args: object, **_kwargs: object) -> None:
    """A request starts on this thread (a signal receiver: any arguments)."""
    ident = _get_ident()
    if len(_counts) >= MAX_THREADS and ident not in _counts:
        _counts.clear()
    _counts[ident] = _counts.get(ident, 0) + 1


def follow() -> None:
    """Connect `started` to the request signals of the frameworks imported so far (once each)."""
    with _lock:
        if "django" in sys.modules and "django" not in _followed:
            try:
                from django.core.signals import request_started

                request_started.connect(started, dispatch_uid="txlint.runtime.request_count")
                _followed.add("django")
            except Exception:  # noqa: BLE001 - no signal to follow: every statement is of one request
                pass
        if "flask" in sys.modules and "flask" not in _followed:
            try:
                signal = getattr(sys.modules["flask"], "request_started", None)
                if signal is not None:
                    signal.connect(started)
                _followed.add("flask")
            except Exception:  # noqa: BLE001 - an old Flask without blinker: no signal to follow
                pass
