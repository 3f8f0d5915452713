"""A function's control-flow graph, with what the file knows about names that change control flow.

The graph builder knows Python; which calls never return, which context
managers swallow exceptions and which handlers catch everything depend on
names, resolved here through the file's imports.
"""

from __future__ import annotations

import libcst as cst

from txlint.frontends.python.flow.builder import GraphBuilder
from txlint.frontends.python.flow.cfg import Graph
from txlint.frontends.python.imports import ImportTable, dotted_name
from txlint.frontends.python.interpret.context import FileContext
from txlint.frontends.python.literals import text_value

# Calls that end the path: they raise, or end the process.
NEVER_RETURNS = frozenset({
    "sys.exit", "os._exit", "os.abort", "flask.abort", "werkzeug.exceptions.abort", "quart.abort",
    "typing.assert_never", "typing_extensions.assert_never", "pytest.fail", "pytest.skip", "pytest.exit",
})  # fmt: skip
BUILTIN_EXITS = frozenset({"exit", "quit"})
NO_RETURN_TYPES = frozenset({"typing.NoReturn", "typing.Never", "typing_extensions.NoReturn", "typing_extensions.Never"})
SUPPRESSING = frozenset({"contextlib.suppress"})
CATCH_ALL = frozenset({"Exception", "BaseException"})
# Errors of the program's own data that no database call raises (its errors are the driver's or
# SQLAlchemy's classes): an `except` naming only these does not catch a failed commit.
NOT_DATABASE_ERRORS = frozenset({
    "AssertionError", "KeyError", "IndexError", "LookupError", "ValueError", "TypeError", "AttributeError",
    "UnicodeError", "UnicodeDecodeError", "UnicodeEncodeError", "ZeroDivisionError", "ArithmeticError",
    "NotImplementedError", "StopIteration", "json.JSONDecodeError", "json.decoder.JSONDecodeError",
    "decimal.InvalidOperation", "marshmallow.ValidationError", "marshmallow.exceptions.ValidationError",
    "pydantic.ValidationError", "pydantic_core.ValidationError", "jsonschema.ValidationError",
    "jsonschema.exceptions.ValidationError", "wtforms.validators.ValidationError",
})  # fmt: skip


def function_graph(file: FileContext, func: cst.FunctionDef) -> Graph:
    imports = file.imports

    def never_returns(call: cst.Call) -> bool:
        qualified = imports.resolve(call.func)
        if qualified is not None:
            return qualified in NEVER_RETURNS
        name = call.func.value if isinstance(call.func, cst.Name) else None
        return name is not None and (name in BUILTIN_EXITS or name in file.never_returns)

    def suppresses(item: cst.BaseExpression) -> bool:
        return isinstance(item, cst.Call) and imports.resolve(item.func) in SUPPRESSING

    def catches_database(kind: cst.BaseExpression) -> bool:
        """Whether a handler may catch an error a database call raises: unless it names only errors
        of the program's data (`except (KeyError, ValueError)`)."""
        kinds = [element.value for element in kind.elements] if isinstance(kind, (cst.Tuple, cst.List)) else [kind]
        return not all((imports.resolve(k) or dotted_name(k) or "").removeprefix("builtins.") in NOT_DATABASE_ERRORS for k in kinds)

    return GraphBuilder(func, never_returns, suppresses, catches_all, catches_database).build()


def catches_all(kind: cst.BaseExpression) -> bool:
    """`except Exception`, `except BaseException`, or a tuple naming one of them."""
    if isinstance(kind, (cst.Tuple, cst.List)):
        return any(catches_all(element.value) for element in kind.elements)
    return (dotted_name(kind) or "").removeprefix("builtins.") in CATCH_ALL


def never_returning_functions(module: cst.Module, imports: ImportTable) -> frozenset[str]:
    """Module functions annotated to return `NoReturn` or `Never` (they always raise or exit)."""
    found = set()
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef) and statement.returns is not None:
            annotation = statement.returns.annotation
            if isinstance(annotation, cst.SimpleString):
                try:
                    annotation = cst.parse_expression(text_value(annotation) or "")
                except cst.ParserSyntaxError:
                    continue
            if imports.resolve(annotation) in NO_RETURN_TYPES:
                found.add(statement.name.value)
    return frozenset(found)
