"""The runtime trace analyser: the SQL a program really sends, judged by the static rules.

`analyser.TraceAnalyser` keeps per-connection state and judges each event;
`judgement` is how it judges (the rules on small units of IR), `records`
what it remembers, `values` how bound values compare.
"""

from txlint.runtime.trace.analyser import TraceAnalyser, forgetting
from txlint.runtime.trace.records import WINDOW, Where
from txlint.runtime.trace.values import MISSING, canonical, is_number

__all__ = ["MISSING", "WINDOW", "TraceAnalyser", "Where", "canonical", "forgetting", "is_number"]
