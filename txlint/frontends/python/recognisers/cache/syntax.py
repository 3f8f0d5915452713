"""What the cache recogniser reads off the code around a command: arguments, keys, values, work.

Keys are compared as text: a local variable bound exactly once stands for
the expression bound to it, so `key = f"lock:{id}"; r.set(key, ...)` and
`r.delete(f"lock:{id}")` name one key. A value written is a marker (a
literal, a variable, a token or a timestamp) or computed data (a cache
fill). A call is "work" a cache check may guard unless it is a conversion,
an id or time maker, a string method or logging.
"""

from __future__ import annotations

import re

import libcst as cst

from txlint.frontends.python.imports import dotted_name
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.expressions import source_text
from txlint.frontends.python.interpret.values import Data
from txlint.frontends.python.recognisers.cache.clients import (
    CLIENT_TYPES,
    DJANGO,
    DJANGO_CACHE,
    DJANGO_CACHES,
    FLASK,
    MEMCACHE,
    PYMEMCACHE,
    CacheModuleFacts,
    CacheObject,
    Client,
    LockHandle,
    Pipeline,
    Script,
    constant_text,
    is_compare_and_delete,
    module_facts,
)

# Parameters naming the expiry, per library (redis-py `set` has several, handled apart).
EXPIRY = {DJANGO: "timeout", FLASK: "timeout", PYMEMCACHE: "expire", MEMCACHE: "time"}
# The libraries whose caches have a default timeout (an add/set without one still expires).
DEFAULT_TIMEOUT = {DJANGO, FLASK}
# Calls whose result is a marker value (a token, a timestamp) rather than computed data.
MARKER_CALLS = {
    "uuid.uuid1", "uuid.uuid4", "time.time", "time.monotonic", "time.time_ns", "secrets.token_hex",
    "secrets.token_urlsafe", "secrets.token_bytes", "django.utils.timezone.now", "datetime.datetime.now",
    "datetime.datetime.utcnow", "os.getpid", "socket.gethostname",
}  # fmt: skip
# Calls that are not "work" a cache check guards: conversions, id/time makers, logging.
_NOT_WORK_BUILTINS = {
    "str", "int", "float", "bool", "bytes", "len", "repr", "isinstance", "issubclass", "hasattr", "getattr",
    "dict", "list", "tuple", "set", "frozenset", "min", "max", "abs", "round", "sorted", "reversed", "range",
    "enumerate", "zip", "any", "all", "type", "hash", "id", "format", "print", "sum", "divmod", "ord", "chr", "hex",
}  # fmt: skip
_NOT_WORK_MODULES = (
    "uuid.", "time.", "datetime.", "secrets.", "hashlib.", "hmac.", "json.", "math.", "base64.", "binascii.", "re.",
    "logging.", "warnings.", "django.utils.timezone.", "os.getpid", "socket.gethostname",
)  # fmt: skip
_NOT_WORK_METHODS = {
    "format", "encode", "decode", "join", "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "replace",
    "startswith", "endswith", "hex", "hexdigest", "isoformat", "strftime", "timestamp", "total_seconds",
}  # fmt: skip
_LOGGERS = re.compile(r"^_*(log|logger|logging)$", re.I)
# Words that name an owner token in a variable: `token`, `lock_token`, `uniqid`, `owner_id`, `self.nonce`.
_TOKEN_WORDS = {"token", "uuid", "guid", "uniqid", "uniq", "unique", "nonce", "owner", "holder", "ident", "identifier", "identity", "secret"}
_CONVERSIONS = {"str", "bytes", "int", "float", "repr"}


def facts(ctx: Context) -> CacheModuleFacts:
    """The module-level cache facts of the file (built on first use)."""
    return ctx.file.facts(CacheModuleFacts, module_facts)


def named(ctx: Context, node: cst.BaseExpression) -> CacheObject | None:
    """The client, script or lock an expression names: a local, a module global, Django's cache."""
    if isinstance(node, cst.Name):
        value = ctx.lookup(node.value)
        if value is not None:
            return value if isinstance(value, (Client, Pipeline, LockHandle, Script)) else None
        found = facts(ctx).objects.get(node.value)
        if found is None:
            qualified = ctx.imports.resolve(node)
            if qualified == DJANGO_CACHE:
                found = Client(DJANGO)
            elif qualified is not None and ctx.imports.in_project(qualified) and (library := ctx.file.index.library_class_of(qualified)) in CLIENT_TYPES:
                found = Client(CLIENT_TYPES[library])  # an instance of a project subclass of a client (`CTFdCache()`)
        if found is None or ctx.uses.is_local(node.value):
            return None  # a local bound later in the function (a loop) is not the global
        return found
    if isinstance(node, cst.Subscript):
        return Client(DJANGO) if ctx.imports.resolve(node.value) == DJANGO_CACHES else None
    return None


def is_local(ctx: Context, func: cst.BaseExpression) -> bool:
    """The head of a dotted name is a local variable, not the imported module it shadows."""
    head = dotted_name(func)
    return head is not None and ctx.lookup(head.split(".")[0]) is not None


def is_work(ctx: Context, node: cst.Call) -> bool:
    """A call of other code, which a cache check may be guarding."""
    func = node.func
    if isinstance(func, cst.Name) and func.value in _NOT_WORK_BUILTINS and ctx.lookup(func.value) is None:
        return False
    qualified = ctx.imports.resolve(func) or ""
    if qualified in MARKER_CALLS or qualified.startswith(_NOT_WORK_MODULES):
        return False
    if isinstance(func, cst.Attribute):
        if func.attr.value in _NOT_WORK_METHODS:
            return False
        owner = dotted_name(func.value)
        if owner is not None and _LOGGERS.match(owner.rsplit(".", 1)[-1]):
            return False
    return True


def token_named(node: cst.BaseExpression, depth: int = 0) -> bool:
    """`token`, `self.lock_token`, `token.encode()`, `str(owner_id)`: a variable named like an owner token."""
    if depth > 5:
        return False
    if isinstance(node, (cst.Name, cst.Attribute)):
        name = node.value if isinstance(node, cst.Name) else node.attr.value
        words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower().split("_")
        return any(word in _TOKEN_WORDS for word in words)
    if isinstance(node, cst.Call):
        if isinstance(node.func, cst.Attribute):
            return token_named(node.func.value, depth + 1)  # `token.encode()`
        if isinstance(node.func, cst.Name) and node.func.value in _CONVERSIONS and node.args:
            return token_named(node.args[0].value, depth + 1)
    return False


def generated(ctx: Context, node: cst.BaseExpression, depth: int = 0) -> bool:
    """The value comes from an id or time maker called here (`uuid.uuid4()`, `time.time()`,
    `os.getpid()`), perhaps converted or formatted, possibly through a variable bound once."""
    if depth > 5:
        return False
    if isinstance(node, cst.Name):
        bound = ctx.uses.bound_once(node.value)
        return bound is not None and generated(ctx, bound, depth + 1)
    if isinstance(node, cst.Attribute):
        return generated(ctx, node.value, depth + 1)  # `uuid4().hex`
    if isinstance(node, cst.Call):
        if ctx.imports.resolve(node.func) in MARKER_CALLS:
            return True
        if isinstance(node.func, cst.Attribute):
            return generated(ctx, node.func.value, depth + 1)  # `token.encode()`
        if isinstance(node.func, cst.Name) and node.func.value in _CONVERSIONS:
            return any(generated(ctx, a.value, depth + 1) for a in node.args)
        return False
    if isinstance(node, cst.FormattedString):
        return any(isinstance(p, cst.FormattedStringExpression) and generated(ctx, p.expression, depth + 1) for p in node.parts)
    if isinstance(node, cst.BinaryOperation):
        return generated(ctx, node.left, depth + 1) or generated(ctx, node.right, depth + 1)
    return False


def key_text(ctx: Context, node: cst.BaseExpression) -> str:
    """A key's normalised text: a local bound exactly once stands for the expression bound to it."""
    for _ in range(5):
        if not isinstance(node, cst.Name):
            break
        bound = ctx.uses.bound_once(node.value)
        if bound is None:
            break
        node = bound
    return source_text(node)


def constant_key(ctx: Context, node: cst.BaseExpression, depth: int = 0) -> bool:
    """The key is built from constant strings alone (literals, module string constants)."""
    if depth > 5:
        return False
    if isinstance(node, cst.SimpleString):
        return True
    if isinstance(node, cst.ConcatenatedString):
        left = node.left
        return isinstance(left, cst.BaseExpression) and constant_key(ctx, left, depth + 1) and constant_key(ctx, node.right, depth + 1)
    if isinstance(node, cst.FormattedString):
        return all(
            isinstance(part, cst.FormattedStringText)
            or (isinstance(part, cst.FormattedStringExpression) and constant_key(ctx, part.expression, depth + 1))
            for part in node.parts
        )
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return constant_key(ctx, node.left, depth + 1) and constant_key(ctx, node.right, depth + 1)
    if isinstance(node, cst.Name):
        if ctx.uses.is_local(node.value):
            bound = ctx.uses.bound_once(node.value)
            return bound is not None and constant_key(ctx, bound, depth + 1)
        return node.value in ctx.file.constants
    return False


def marker(ctx: Context, node: cst.BaseExpression | None, depth: int = 0) -> bool:
    """The value written is a marker: a literal, a variable or parameter, a token or a timestamp —
    not data computed by some other call (a cache fill)."""
    if node is None or depth > 5:
        return False
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.Name):
        bound = ctx.uses.bound_once(node.value)
        return True if bound is None else marker(ctx, bound, depth + 1)
    if isinstance(node, cst.Attribute):
        return marker(ctx, node.value, depth + 1) if isinstance(node.value, cst.Call) else True
    if isinstance(node, cst.Call):
        if ctx.imports.resolve(node.func) in MARKER_CALLS:
            return True
        if isinstance(node.func, cst.Name) and node.func.value in {"str", "int", "float"} and len(node.args) == 1:
            return marker(ctx, node.args[0].value, depth + 1)
    return False


def script_of_text(ctx: Context, node: cst.BaseExpression | None) -> Script | None:
    if node is None:
        return None
    if isinstance(node, cst.Name) and ctx.lookup(node.value) is not None:
        value = ctx.lookup(node.value)
        text = value.text if isinstance(value, Data) else None
    else:
        text = constant_text(node, ctx.file.constants)
    return Script(is_compare_and_delete(text)) if text is not None else None


def arg(node: cst.Call, position: int | None, keyword: str) -> cst.BaseExpression | None:
    """The argument passed as `keyword=` or at `position` (None once a `*args` comes before it)."""
    for each in node.args:
        if each.keyword is not None and each.keyword.value == keyword:
            return each.value
    positional = [a for a in node.args if a.keyword is None]
    if any(a.star for a in positional[: (position or 0) + 1]):
        return None
    if position is not None and len(positional) > position:
        return positional[position].value
    return None


def has_star_kwargs(node: cst.Call) -> bool:
    return any(a.star == "**" for a in node.args)


def script_keys(node: cst.Call) -> list[cst.BaseExpression]:
    """The keys a registered script is called with: `script(keys=[k], args=[...])` or `script([k], [...])`."""
    keys = arg(node, 0, "keys")
    if isinstance(keys, (cst.List, cst.Tuple)):
        return [e.value for e in keys.elements if not isinstance(e, cst.StarredElement)]
    return []


def expiry(node: cst.Call, api: str, position: int, default_expires: bool = True) -> bool | None:
    """Whether an add/set/touch gives an expiry. Django and Flask-Caching: the default timeout is
    one (300 s) unless the project configured it away (`default_expires`); `None` is none for
    Django, the default for Flask-Caching; memcached: the default 0 is none."""
    value = arg(node, position, EXPIRY[api])
    if value is None:
        return None if has_star_kwargs(node) else api in DEFAULT_TIMEOUT and default_expires
    if is_none(value):
        return api == FLASK and default_expires  # Flask-Caching: `None` is the default timeout
    if isinstance(value, cst.Integer) and int(value.value) == 0:
        return api == DJANGO  # Django: 0 expires at once; memcached and Flask-Caching: never
    return True


def is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def is_true(node: cst.BaseExpression | None) -> bool:
    return (isinstance(node, cst.Name) and node.value == "True") or (isinstance(node, cst.Integer) and int(node.value, 0) != 0)


def is_false(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def is_literal_bool(node: cst.BaseExpression) -> bool:
    return (isinstance(node, cst.Name) and node.value in {"True", "False", "None"}) or isinstance(node, cst.Integer)

