"""Pass 2 of the Python front-end: every function and method of a parsed module, interpreted into IR."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst

from txlint.core.config import Config
from txlint.core.index import ProjectIndex
from txlint.core.ir import ModuleIR
from txlint.frontends.python.interpret.context import FileContext
from txlint.frontends.python.interpret.graphs import never_returning_functions
from txlint.frontends.python.interpret.interpreter import FunctionInterpreter
from txlint.frontends.python.literals import text_value
from txlint.frontends.python.parsing import ParsedPython
from txlint.frontends.python.recognisers import RECOGNISERS


def analyse(parsed: ParsedPython, index: ProjectIndex, config: Config) -> ModuleIR:
    """The IR of every function and method in the module (nothing for a declarations-only file)."""
    if not parsed.operates:
        return ModuleIR(parsed.path)
    context = FileContext(
        parsed.path,
        parsed.module,
        parsed.imports,
        index,
        config,
        parsed.positions,
        RECOGNISERS,
        string_constants(parsed.module),
        never_returning_functions(parsed.module, parsed.imports),
        text=parsed.text,
    )
    result = ModuleIR(parsed.path)
    for func, class_name in functions(parsed.module.body, None):
        result.units.append(FunctionInterpreter(context, func, class_name).run())
    return result


def string_constants(module: cst.Module) -> dict[str, str]:
    """Module-level `NAME = "..."` assignments: SQL is often kept in such constants."""
    constants: dict[str, str] = {}
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString))
                    and (value := text_value(small.value)) is not None
                ):
                    constants[small.targets[0].target.value] = value
    return constants


def functions(body: Sequence[cst.CSTNode], class_name: str | None) -> Iterator[tuple[cst.FunctionDef, str | None]]:
    """Every function at any depth, with the class it is a method of (if directly in one)."""
    for statement in body:
        if isinstance(statement, cst.FunctionDef):
            yield statement, class_name
            yield from functions(_block(statement.body), None)
        elif isinstance(statement, cst.ClassDef):
            yield from functions(_block(statement.body), statement.name.value)
        elif isinstance(statement, (cst.If, cst.Try, cst.With, cst.For, cst.While)):
            yield from functions(_block(statement.body), class_name)


def _block(suite: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    return suite.body if isinstance(suite, (cst.IndentedBlock, cst.SimpleStatementSuite)) else ()
