"""TX000 parse-error: a file txlint could not parse."""

from __future__ import annotations

from txlint.core.ftypes import Severity
from txlint.core.rule import Rule, RuleDoc


class ParseError(Rule):
    code = "TX000"
    name = "parse-error"
    severity = Severity.ERROR
    summary = "A Python file or SQL script could not be parsed, so nothing in it was checked."
    engine_emitted = True
    doc = RuleDoc(
        what_it_does=(
            "Reports a file that the Python parser (libcst) or the SQL parser (sqlglot) rejects, "
            "with the parser's message and position. The other files of the run are still checked."
        ),
        why_is_this_bad=(
            "A file that cannot be parsed cannot be analysed: any transaction bug in it goes unseen. "
            "The run reports it instead of silently passing it."
        ),
        example="def withdraw(account_id, amount)\n    ...  # missing colon",
        use_instead="def withdraw(account_id, amount):\n    ...",
    )
    INVALID = ["def withdraw(account_id, amount)  # error\n    pass\n"]
    VALID = ["def withdraw(account_id, amount):\n    pass\n"]
