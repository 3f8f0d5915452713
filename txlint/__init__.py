"""txlint: find transaction-safety bugs in Python database code.

Importing the package imports nothing else: `python -m txlint` imports it
before `__main__.py` can take the working folder off `sys.path` (see there),
so even the standard library is not imported here. `__version__` is looked
up when first asked for.
"""

from __future__ import annotations


def __getattr__(name: str) -> str:
    if name != "__version__":
        raise AttributeError(f"module 'txlint' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("txlint")
    except PackageNotFoundError:  # running from a source tree that is not installed
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found
