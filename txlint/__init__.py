"""txlint: find transaction-safety bugs in Python database code.

Importing the package imports nothing outside it: `python -m txlint` imports
it before `__main__.py` can take the working folder off `sys.path` (see
there), so not even the standard library is imported here.
"""

from txlint._version import __version__

__all__ = ["__version__"]
