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
        known_problems=(
            "A `.sql` file is read as its client program runs it: psql meta-commands (`\\set`, "
            "`\\connect`, `\\i`, `\\gset`, `\\if`), `COPY ... FROM STDIN` data, MySQL `DELIMITER` and "
            "`source` lines, sqlite3 dot-commands and extension-script names (`@extschema@`) are not "
            "SQL and never TX000; nor are stored routine bodies (a body txlint cannot read is left "
            "unanalysed, silently). Valid PostgreSQL that sqlglot cannot parse is still TX000: custom "
            "operators (`&@~`, `<+>`), a function named `is(...)` (pgTAP), some array casts "
            "(`'{1,2}'::oid[]`). So is text a template engine fills in before it reaches the "
            "database (`{{ .Options }}`)."
        ),
    )
    INVALID = ["def withdraw(account_id, amount)  # error\n    pass\n"]
    VALID = ["def withdraw(account_id, amount):\n    pass\n"]
