"""What of a statement a finding may show: its SQL with every value replaced by `?`.

A finding carries the SQL of the statements it names, and findings end up in
test reports, CI logs and log aggregators. The bound parameters are never in
it (a driver's SQL text has placeholders), but a program that builds SQL with
f-strings puts card numbers and passwords in the text itself: literal
strings and numbers are masked too. Identifiers, keywords, placeholders
(`?`, `%s`, `%(name)s`, `:name`, `$1`) and comments stay. Display only: no
rule reads this (rules never look at SQL text).

The user opts in to values with `show_values=True` on a monitor; then the SQL
is shown as sent and the bound values follow it (`params_text`).

>>> mask_literals("UPDATE cards SET number = '4111 1111' WHERE id = 7 AND v = $1")
'UPDATE cards SET number = ? WHERE id = ? AND v = $1'
"""

from __future__ import annotations

import functools
import re

SHOWN_PARAMS = 200  # characters of bound values shown when the user asked for them

# One alternation, scanned left to right, so a quote inside a comment or a `--` inside a string
# is read as what it is: comments and quoted identifiers are kept, quoted strings and numbers
# masked, anything else (identifiers, placeholders, `$1`, `t1.c2`) kept by the last branch.
_COMMENT = r"--[^\n]*|/\*.*?(?:\*/|$)"
_IDENTIFIER = r"`[^`]*`?|\[[^\]]*\]?"
_DOUBLE_QUOTED = r'"(?:[^"\\]|""|\\.)*"?'
_STRING = r"(?:[EeBbXxNn])?'(?:[^'\\]|''|\\.)*'?|\$(?P<tag>[A-Za-z_]*)\$.*?(?:\$(?P=tag)\$|$)"
_NUMBER = r"(?<![\w$.:@])(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![\w$])"
_OTHER = r"[\w$:@%.]+|."


def _tokens(double_quoted_is_string: bool) -> re.Pattern[str]:
    keep = f"{_COMMENT}|{_IDENTIFIER}" if double_quoted_is_string else f"{_COMMENT}|{_IDENTIFIER}|{_DOUBLE_QUOTED}"
    string = f"{_DOUBLE_QUOTED}|{_STRING}" if double_quoted_is_string else _STRING
    return re.compile(f"(?P<keep>{keep})|(?P<string>{string})|(?P<number>{_NUMBER})|(?P<other>{_OTHER})", re.DOTALL)


_TOKENS = _tokens(double_quoted_is_string=False)
_MYSQL_TOKENS = _tokens(double_quoted_is_string=True)  # MySQL's default mode reads "..." as a string


@functools.lru_cache(maxsize=1024)
def mask_literals(sql: str, dialect: str = "postgres") -> str:
    """`sql` with its literal strings and numbers replaced by `?` (cached: findings recur)."""
    pattern = _MYSQL_TOKENS if dialect == "mysql" else _TOKENS
    return pattern.sub(_masked, sql)


def _masked(match: re.Match[str]) -> str:
    if match.lastgroup in {"string", "number", "tag"}:
        return "?"
    return match.group(0)


def params_text(params: object) -> str:
    """Bound values as shown to a user who asked for them (`show_values=True`), shortened."""
    try:
        text = repr(params)
    except Exception:  # noqa: BLE001 - a value whose repr fails is shown by its type
        text = f"<{type(params).__name__}>"
    return text if len(text) <= SHOWN_PARAMS else text[: SHOWN_PARAMS - 3] + "..."
