"""`python -m txlint` runs the CLI.

`python -m` puts the working folder first on `sys.path`, so a `json.py`,
`csv.py` or `click.py` at the top of the repository being checked would be
imported, and run, in place of the real module. txlint never runs the code
it reads: that entry is taken off before anything else is imported (the
package's `__init__` imports nothing). Under `python -P` there is no such
entry and nothing is removed.
"""

import os
import sys

if sys.path and os.path.abspath(sys.path[0] or os.curdir) == os.getcwd():
    del sys.path[0]

from txlint.cli.main import main  # only once the working folder is off sys.path

main()
