"""A statement as a log shows it, with its values inlined, turned into text with placeholders and
the values beside it: what the trace analyser takes from a driver.

A log shows `UPDATE accounts SET balance = 90 WHERE id = 7` where a driver would have sent
`... = $1 WHERE id = $2` with (90, 7). Normalised, the analyser judges the two alike (a number
written over a money column read earlier), and parses each distinct text once however many values
go through it. Quoted names are kept, comments dropped, string and number literals replaced (a
literal typed by a keyword, `INTERVAL '1 day'`, `DATE '...'`, `B'01'`, is kept: it is part of the
SQL's shape, not a value). A minus sign stays in the text (`-$1`): it is an operator as often as a
sign (`balance -5`).

Speed matters here (every statement of a log of gigabytes goes through it):
- one `split` finds everything in one call. Its pattern is one character class, captured, then the
  alternatives told apart by that character: the regular-expression engine skips the letters and
  spaces that are most of a statement in a fast loop (a pattern starting with a look-around or with
  alternatives of groups is tried at every position, three to five times slower), and the
  alternatives fill one of three groups (a value, a part of the shape, a comment), so what was found
  is sorted without a line of Python;
- a statement's template (its text with placeholders, and where its values are) is made once: the
  next statement with the same text around its values, the same kinds of values and the same names
  is only a dictionary look-up and a conversion of its values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# What a split gives for each thing found: its first character, then the rest of it in one of three
# groups: a value (a number, a string), a part of the shape kept as written (a run of quoted names:
# `"t"."id", "t"."c"`, a placeholder, a cast with its modifiers: `::numeric(12, 2)`), a comment.
_POSTGRES = re.compile(
    r"""(["'\-/$:\d])(?:"""
    r"""((?<=\d)(?<![\w$.]\d)\d*(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])|(?<=[eE]')(?<![\w$][eE]')[^'\\]*+(?:(?:\\.|'')[^'\\]*+)*+'|(?<=')[^']*+(?:''[^']*+)*+')"""
    r"""|((?<=")[^"]*+(?:""[^"]*+)*+"(?:[^"'\-/$:\d]*+"[^"]*+(?:""[^"]*+)*+")*+|(?<=\$)\d+|(?<=:):\w+(?:\s*\(\s*\d+(?:\s*,\s*\d+)*\s*\))?(?:\[\])*)"""
    r"""|((?<=-)-[^\n]*|(?<=/)\*.*?\*/))""",
    re.DOTALL,
)
_MYSQL = re.compile(
    r"""([`'"\-\#/\d])(?:"""
    r"""((?<=\d)(?<![\w$.]\d)\d*(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])|(?<=')[^'\\]*+(?:(?:\\.|'')[^'\\]*+)*+'|(?<=")[^"\\]*+(?:(?:\\.|"")[^"\\]*+)*+")"""
    r"""|((?<=`)[^`]*+(?:``[^`]*+)*+`(?:[^`'"\-\#/\d]*+`[^`]*+(?:``[^`]*+)*+`)*+)"""
    r"""|((?<=-)-[^\n]*|(?<=\#)[^\n]*|(?<=/)\*.*?\*/))""",
    re.DOTALL,
)
_FIELDS = 5  # per thing found, in a split: the text before it, its first character, its rest as a value, as shape, as comment
# A string typed by the keyword before it is part of the SQL's shape, not a value.
_TYPED = re.compile(r"(?<![\w$])(?:interval|date|time|timestamp|timestamptz)\Z", re.IGNORECASE)
_TYPE_ENDS = frozenset("lLeEpPzZ")  # the last letters of those keywords
_ESCAPES = re.compile(r"\\(.)", re.DOTALL)
# A quoted value written as a number, not as a code (`'007'` keeps its zeros: it is text).
_NUMERIC = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?\Z")
_NUMBER_STARTS = frozenset("-0123456789")
_FLOAT = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][-+]?\d+)?\Z|[-+]?(?:inf|nan)", re.IGNORECASE)
_PLACEHOLDERS = tuple(f"${at}" for at in range(64))

# Where a statement's values are (start, end) and how each is read.
Spans = tuple[tuple[int, int, Callable[[str], object]], ...]
# Templates by the text around the values, the kinds of the values and the names (what a split found).
_TEMPLATES: dict[tuple[object, ...], _Template] = {}
_TEMPLATES_MAX = 1024
# Templates by the statement with each digit made a 0: a statement alike but for the digits of its
# values (ids, amounts, times) is read without a split at all.
# (Bytes: a translation of bytes by a table is twenty times quicker than one of a string by a dict.)
_BY_DIGITS: dict[tuple[bool, bytes], tuple[str, Spans]] = {}
_DIGITS_ONCE: set[tuple[bool, bytes]] = set()  # digits keys seen once
ZEROS = bytes.maketrans(b"123456789", b"000000000")
# Values read before, by their text as written (`'7'` and `7` are both 7; a row's id comes back in
# every statement of its request), for PostgreSQL (False) and MySQL (True): `'\\n'` is two
# characters in one, a line break in the other.
_VALUES: dict[bool, dict[str, object]] = {False: {}, True: {}}
_VALUES_MAX = 4096
# Statements seen whole before (`COMMIT`, a lookup of a small table): their normalised form.
_SEEN: dict[bool, dict[str, tuple[str, tuple[object, ...]]]] = {False: {}, True: {}}
_SEEN_MAX = 1024
_SEEN_AFTER: dict[tuple[str, int], tuple[str, tuple[object, ...]]] = {}  # the same, of statements with placeholders of their own


def number(text: str) -> int | float | str:
    """A literal's value: an int, a float, or the text itself when it is neither."""
    try:
        if text.isdigit():
            return int(text)
        return float(text) if _FLOAT.match(text) else int(text)
    except ValueError:
        return text


def normalised(sql: str, dialect: str, after: int = 0) -> tuple[str, tuple[object, ...]]:
    """`sql` with its literals replaced by placeholders (`$1`... for PostgreSQL, `%s` for MySQL),
    and their values in order. `after`: the statement has placeholders `$1`...`$after` of its own
    (the extended protocol's, bound by the server), and its literals are numbered after them
    (`UPDATE t SET balance = $1 WHERE id = 7`: a client that binds some values and writes others)."""
    if after:
        key = (sql, after)
        found = _SEEN_AFTER.get(key)
        if found is None:
            if len(_SEEN_AFTER) >= _SEEN_MAX:
                _SEEN_AFTER.clear()
            found = _SEEN_AFTER[key] = _normalised(sql, False, after)
        return found
    mysql = dialect == "mysql"
    seen = _SEEN[mysql]
    found = seen.get(sql)
    if found is None:
        if len(seen) >= _SEEN_MAX:
            seen.clear()
        found = seen[sql] = _normalised(sql, mysql)
    return found


def _normalised(sql: str, mysql: bool, after: int = 0) -> tuple[str, tuple[object, ...]]:
    digits_key = (mysql, sql.encode("utf-8", "surrogatepass").translate(ZEROS))
    known = _BY_DIGITS.get(digits_key) if not after else None  # (its placeholders have digits: never kept by them)
    if known is not None:  # the same statement but for the digits of its values
        return known[0], values_at(sql, known[1], mysql)
    parts = (_MYSQL if mysql else _POSTGRES).split(sql)
    if len(parts) == 1:  # nothing found: no literal
        return sql, ()
    firsts, values = parts[1::_FIELDS], parts[2::_FIELDS]
    key = (mysql, after, tuple(parts[0::_FIELDS]), tuple(firsts), tuple(parts[3::_FIELDS]))
    template = _TEMPLATES.get(key)
    if template is None:
        template = _template(sql, parts, mysql, after)
        if template.cacheable:
            if len(_TEMPLATES) >= _TEMPLATES_MAX:
                _TEMPLATES.clear()
            _TEMPLATES[key] = template
    found = [(firsts[at] + values[at], read) for at, read in template.reads]
    if template.digits_in_values_only and not after:  # (numbered after bound ones: no other statement's)
        _remember_digits(digits_key, template, found)
    return template.text, _read(mysql, found)


def _remember_digits(key: tuple[bool, bytes], template: _Template, found: list[tuple[str, Callable[[str], object]]]) -> None:
    """Keep where the values of a statement are, by its digits key, the second time the key comes:
    a statement whose strings hold words that change (a name, an e-mail) has a key of its own each
    time, and would only push out the keys that come back."""
    if key not in _DIGITS_ONCE:
        if len(_DIGITS_ONCE) >= _TEMPLATES_MAX * 4:
            _DIGITS_ONCE.clear()
        _DIGITS_ONCE.add(key)
        return
    spans, end = [], 0
    for (raw, read), (before, _) in zip(found, template.spans, strict=True):
        start = end + before
        end = start + len(raw)
        spans.append((start, end, _faster(raw, read)))
    if len(_BY_DIGITS) >= _TEMPLATES_MAX:
        _BY_DIGITS.clear()
    _BY_DIGITS[key] = (template.text, tuple(spans))


def known_by_digits(sql: str, mysql: bool) -> tuple[str, Spans] | None:
    """The template of a statement alike but for the digits of its values, if one is known: its
    text with placeholders, and where in `sql` its values are and how each is read."""
    return _BY_DIGITS.get((mysql, sql.encode("utf-8", "surrogatepass").translate(ZEROS)))


def _faster(raw: str, read: Callable[[str], object]) -> Callable[[str], object]:
    """How to read a value of the same digits key as `raw` (digits where `raw` has digits): an
    integer written bare or quoted is read without the general reader."""
    if len(raw) > 20:  # (the same length for every value of the key: a number past 4 300 digits is no int to Python)
        return read
    if read is number and raw.isdigit() and raw.isascii():
        return int
    if read is not number and raw[1:-1].isdigit() and raw[1:-1].isascii():
        return _quoted_integer
    return read


def _quoted_integer(text: str) -> object:
    """`'42'`: 42; `'007'`: the text (a code, not a number)."""
    body = text[1:-1]
    return int(body) if body[0] != "0" or len(body) == 1 else body


def values_at(text: str, spans: Spans, mysql: bool, offset: int = 0) -> tuple[object, ...]:
    """The values of a statement found in `text` at `spans` (moved by `offset`), each read once
    however often it comes back (an integer is read at once: quicker than looking it up)."""
    cache = _VALUES[mysql]
    got: list[object] = []
    for start, end, read in spans:
        raw = text[start + offset : end + offset]
        if read is int or read is _quoted_integer:
            got.append(read(raw))
            continue
        value = cache.get(raw, cache)
        if value is cache:
            if len(cache) >= _VALUES_MAX:
                cache.clear()
            value = cache[raw] = read(raw)
        got.append(value)
    return tuple(got)


def _read(mysql: bool, found: list[tuple[str, Callable[[str], object]]]) -> tuple[object, ...]:
    """The values of the literals `found`, each read once however often it comes back."""
    known = _VALUES[mysql]
    values: list[object] = []
    for raw, read in found:
        value = known.get(raw, known)
        if value is known:
            if len(known) >= _VALUES_MAX:
                known.clear()
            value = known[raw] = read(raw)
        values.append(value)
    return tuple(values)


@dataclass(frozen=True)
class _Template:
    """A statement's text with placeholders, and where its values are: by their place among what
    its split found (`reads`), and by how long the text before each is, from the last value (`spans`):
    the same for every statement with the template's key."""

    text: str
    reads: tuple[tuple[int, Callable[[str], object]], ...]
    spans: tuple[tuple[int, Callable[[str], object]], ...]
    # Whether each string the split found is a value: else one is part of the shape (`B'01'`), its
    # text in `text`, and the template holds for no other statement.
    cacheable: bool
    # Whether every digit of the statement is in a value, and it has no comment: else a name (`t2`),
    # a placeholder (`$1`) or a cast (`numeric(12, 2)`) has digits, and a statement alike but for its
    # digits is another; a comment's length is no part of the template's key.
    digits_in_values_only: bool


def _template(sql: str, parts: list[str], mysql: bool, bound: int = 0) -> _Template:
    """The template of a statement split into `parts`: its text, its values replaced by placeholders
    and its comments by a space, and where its values are (numbered after the `bound` placeholders
    it has of its own)."""
    out = [parts[0]]
    reads: list[tuple[int, Callable[[str], object]]] = []
    spans: list[tuple[int, Callable[[str], object]]] = []
    start = len(parts[0])  # where the thing found starts in `sql`
    since = start  # the length of the text since the last value
    strings_kept, digits_elsewhere, comments = False, _has_digit(parts[0]), False
    for place, at in enumerate(range(1, len(parts), _FIELDS)):
        first, value, shape, comment, after = parts[at : at + _FIELDS]
        found = first + (value if value is not None else shape if shape is not None else comment)
        if value is not None and (first.isdigit() or _string_is_value(sql, start, mysql)):
            read = number if first.isdigit() else _mysql_string if mysql else _postgres_string
            reads.append((place, read))
            spans.append((since, read))
            since = 0
            if not mysql and first == "'" and out[-1][-1:] in ("e", "E") and not _name_char(out[-1][-2:-1]):
                out[-1] = out[-1][:-1]  # `E'...'`: an escape string, the value is what follows
            placeholder = bound + len(reads)
            out.append("%s" if mysql else _PLACEHOLDERS[placeholder] if placeholder < len(_PLACEHOLDERS) else f"${placeholder}")
        else:
            since += len(found)
            digits_elsewhere = digits_elsewhere or _has_digit(found)
            if comment is not None:
                # A comment is no part of what a statement does, and one that names the request
                # (`/* request 7 */`, sqlcommenter's tags) would make each statement a text of its own.
                out.append(" ")
                comments = True
            else:
                out.append(found)
                strings_kept = strings_kept or value is not None
        out.append(after)
        digits_elsewhere = digits_elsewhere or _has_digit(after)
        since += len(after)
        start += len(found) + len(after)
    return _Template("".join(out), tuple(reads), tuple(spans), not strings_kept, not (strings_kept or digits_elsewhere or comments))


def _has_digit(text: str) -> bool:
    """Whether `text` has a digit the digits key makes a 0."""
    return any(char in "0123456789" for char in text)


def _string_is_value(sql: str, start: int, mysql: bool) -> bool:
    """Whether the string starting at `start` is a value: not right after a name's character
    (`B'01'`, `X'1f'`; PostgreSQL's `E'...'` is a value), not typed by a keyword (`INTERVAL '1 day'`)."""
    last = sql[start - 1] if start else ""
    if _name_char(last):
        return not mysql and last in ("e", "E") and not _name_char(sql[start - 2] if start > 1 else "")
    tail = sql[:start].rstrip()
    return not (tail[-1:] in _TYPE_ENDS and _TYPED.search(tail[-12:]))


def _name_char(char: str) -> bool:
    return char.isalnum() or char in ("_", "$")


def _postgres_string(text: str) -> object:
    body = text[1:-1]
    if body.isdigit() and body.isascii() and (body[0] != "0" or len(body) == 1) and len(body) < 20:
        return int(body)  # the common case first, without another call
    return _string(text, mysql=False)


def _mysql_string(text: str) -> object:
    body = text[1:-1]
    if body.isdigit() and body.isascii() and (body[0] != "0" or len(body) == 1) and len(body) < 20:
        return int(body)
    return _string(text, mysql=True)


def _string(text: str, mysql: bool) -> object:
    """A string literal's value; a number when it is written as one (`'50'`: PDO and other clients
    quote every value they inline, and the database compares it as the number)."""
    quote = text[-1]
    body = text[1:-1]
    if body[:1] in _NUMBER_STARTS and _NUMERIC.match(body):
        return number(body)
    if mysql and "\\" in body:
        body = _ESCAPES.sub(lambda m: {"n": "\n", "t": "\t", "0": "\0"}.get(m.group(1), m.group(1)), body)
    return body.replace(quote * 2, quote)
