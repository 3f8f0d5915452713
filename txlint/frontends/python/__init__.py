"""The Python front-end: parse with libcst, summarise for the index, interpret every function.

`parse` (`parsing`) is separate from `analyse` (`analysis`) so the engine can
build the project index from every file's declarations (pass 1,
`declarations`) before any function is interpreted (pass 2, `interpret`
over the control-flow graphs of `flow`, with the library knowledge of
`recognisers`).
"""

from txlint.frontends.python.analysis import analyse
from txlint.frontends.python.parsing import Irrelevant, Outline, ParsedPython, Planned, PythonSyntaxError, TooDeep, parse, plan

__all__ = ["Irrelevant", "Outline", "ParsedPython", "Planned", "PythonSyntaxError", "TooDeep", "analyse", "parse", "plan"]
