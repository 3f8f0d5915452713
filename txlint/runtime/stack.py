"""Where in the application a database event comes from.

A finding must point at the application's own line (`orders.py:42`), not at
SQLAlchemy's `_exec_single_context`. The first frame, walking out from the
event, whose file is not part of a database library, an ORM, txlint itself or
the standard library's context-manager plumbing is that line.

The walk runs for every traced read (and for the writes a finding may point
at), so it is kept cheap: one dictionary look-up per frame, the verdict for
each file name cached for good (a process has a bounded number of source
files), and it starts from the frame the source's event came from, not from
txlint's own frames. Under SQLAlchemy's asyncio layer the statement runs in a
greenlet whose stack ends inside SQLAlchemy; the walk goes on in the parent
greenlet, where the application's coroutine waits.
"""

from __future__ import annotations

import functools
import os
import sys
from types import FrameType
from typing import NamedTuple

# Packages whose frames are never the application's: database drivers, ORMs and
# their helpers, txlint, and the stdlib modules that sit between a `with` block
# and the library (`contextlib`) or run user code (`threading`).
LIBRARY_MODULES = (
    "sqlalchemy",
    "psycopg",
    "psycopg2",
    "psycopg_binary",
    "psycopg_c",
    "psycopg_pool",
    "pymysql",
    "MySQLdb",
    "mysql",
    "sqlite3",
    "django",
    "greenlet",
    "txlint",
    "contextlib",
    "threading",
    "concurrent",
)


class Site(NamedTuple):
    """A line of application code: the file as Python knows it, and a 1-based line.

    A named tuple rather than a frozen dataclass: one is made per traced statement."""

    path: str
    line: int

    def display_path(self) -> str:
        """The path relative to the working directory when it lies below it, else as it is."""
        return _display_path(self.path, os.getcwd())


UNKNOWN_SITE = Site("<unknown>", 1)


@functools.lru_cache(maxsize=1024)
def _display_path(path: str, cwd: str) -> str:
    """Cached: a finding that recurs in a hot loop asks again and again (`relpath` is dear)."""
    try:
        relative = os.path.relpath(path, cwd)
    except ValueError:  # another drive (Windows)
        return path
    return path if relative.startswith("..") else relative

_verdicts: dict[str, bool] = {}
_roots: tuple[str, ...] | None = None
_roots_seen: frozenset[str] = frozenset()
_modules_seen = -1


def _library_roots() -> tuple[str, ...]:
    """Folders (packages) and files (single-module libraries) of the library modules imported so far."""
    global _roots, _roots_seen, _modules_seen
    if _roots is not None and len(sys.modules) == _modules_seen:
        return _roots
    _modules_seen = len(sys.modules)
    loaded = frozenset(name for name in LIBRARY_MODULES if name in sys.modules)
    if _roots is not None and loaded == _roots_seen:
        return _roots
    roots: list[str] = []
    for name in loaded:
        module = sys.modules.get(name)
        filename = getattr(module, "__file__", None)
        if not filename:
            continue
        filename = os.path.normcase(os.path.abspath(filename))
        if os.path.basename(filename) == "__init__.py":
            roots.append(os.path.dirname(filename) + os.sep)
        else:
            roots.append(filename)
    if "txlint" in loaded:
        # `txlint.rules` lives in a folder of its own in a source checkout.
        rules = sys.modules.get("txlint.rules")
        for folder in getattr(rules, "__path__", ()):
            roots.append(os.path.normcase(os.path.abspath(folder)) + os.sep)
    _roots, _roots_seen = tuple(roots), loaded
    _verdicts.clear()  # a library imported since may own files judged before
    return _roots


def _is_library(filename: str) -> bool:
    if filename.startswith("<"):  # generated code (`<string>`, frozen importlib)
        return True
    normal = os.path.normcase(os.path.abspath(filename))
    return any(normal == root or normal.startswith(root) for root in _library_roots())


def is_library_file(filename: str) -> bool:
    """Whether `filename` belongs to a database library, an ORM, txlint or the standard library's
    plumbing listed above: never the line a finding points at (nor, in a failing test's traceback,
    a frame the pytest plugin shows)."""
    _library_roots()
    return _is_library(filename)


def app_site(skip: int = 1) -> Site:
    """The innermost frame of the caller's stack that belongs to the application."""
    try:
        frame = sys._getframe(skip)
    except ValueError:
        return UNKNOWN_SITE
    return app_site_from(frame)


def app_site_from(frame: FrameType | None) -> Site:
    """The innermost frame, from `frame` outwards, that belongs to the application.

    A source that knows the frame its event came from (the caller of its listener or wrapper)
    starts there: the frames of txlint in between are not walked (each costs a frame object)."""
    if _roots is None or len(sys.modules) != _modules_seen:
        _library_roots()  # refreshes the verdicts when a library was imported since
    verdicts = _verdicts
    parents = 0
    while frame is not None:
        filename = frame.f_code.co_filename
        library = verdicts.get(filename)
        if library is None:
            library = verdicts[filename] = _is_library(filename)
        if not library:
            return Site(filename, frame.f_lineno)
        frame = frame.f_back
        if frame is None and parents < _MAX_GREENLET_PARENTS:
            frame = _parent_greenlet_frame(parents)
            parents += 1
    return UNKNOWN_SITE


_MAX_GREENLET_PARENTS = 4


def _parent_greenlet_frame(level: int) -> FrameType | None:
    """The frame a parent greenlet is suspended in, when the stack walked so far was all library code.

    SQLAlchemy's asyncio layer runs the synchronous engine (and so every event listener) in a
    child greenlet whose stack ends in SQLAlchemy; the application's coroutine waits in the
    parent greenlet, suspended inside SQLAlchemy's `greenlet_spawn`. Its frames are the rest
    of the stack. Only looked at when greenlet is already imported (nothing is imported here).
    """
    greenlet = sys.modules.get("greenlet")
    if greenlet is None:
        return None
    try:
        current = greenlet.getcurrent()
        for _ in range(level + 1):
            current = current.parent
            if current is None:
                return None
        frame: FrameType | None = current.gr_frame
        return frame
    except Exception:  # noqa: BLE001 - an unusual greenlet implementation: no line rather than a crash
        return None
