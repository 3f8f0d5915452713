"""Pass 2 of the Python front-end: every function and method of a parsed module, interpreted into IR."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

import libcst as cst

from txlint.core.config import Config
from txlint.core.index import ProjectIndex
from txlint.core.ir import ModuleIR, Unit
from txlint.core.summaries import CallSite, callees_first, module_of
from txlint.frontends.python.entry_points import class_bases, entry_kind
from txlint.frontends.python.interpret.context import FileContext
from txlint.frontends.python.interpret.graphs import never_returning_functions
from txlint.frontends.python.interpret.interpreter import FunctionInterpreter
from txlint.frontends.python.literals import text_value
from txlint.frontends.python.parsing import ParsedPython, function_lines
from txlint.frontends.python.recognisers import RECOGNISERS
from txlint.frontends.python.summarise import summary


def analyse(parsed: ParsedPython, index: ProjectIndex, config: Config) -> ModuleIR:
    """The IR of every function and method in the module."""
    module, is_package = module_of(parsed.path, config.root)
    context = FileContext(
        parsed.path,
        parsed.module,
        parsed.imports.for_project(module, is_package, index.export_of, _project_names(index)),
        index,
        config,
        parsed.positions,
        RECOGNISERS,
        string_constants(parsed.module),
        never_returning_functions(parsed.module, parsed.imports),
        text=parsed.text,
        module_name=module,
        is_package=is_package,
    )
    result = ModuleIR(parsed.path)
    lines = parsed.text.split("\n")
    lines_of = parsed.lines_of or function_lines(parsed.text)
    found_units: dict[int, Unit] = {}
    tops = [(item, top) for top in parsed.module.body for item in functions([top], None, module, None)]
    listed = [item for item, _ in tops]
    bases = {s.name.value: class_bases(s) for s in parsed.module.body if isinstance(s, cst.ClassDef)}
    for position in _in_module_order(listed, lines, lines_of):
        func, class_name, qualified, outer = listed[position]
        parsed.positions.within(tops[position][1], func)
        interpreter = FunctionInterpreter(context, func, class_name)
        unit = interpreter.run()
        unit.qualified, unit.owner, unit.params = qualified or "", class_name, parameters(func)
        unit.entry = entry_kind(func, bases.get(class_name or "", ()), parsed.imports) if qualified is not None else ""
        found_units[position] = unit
        if qualified is not None:
            found = summary(qualified, interpreter, parsed.path)
            if found is not None:
                result.summaries.append(found)
                index.add_summaries([found])  # the functions of this file that call it come later
        for (callee, _), (in_transaction, rows, locks) in sorted(interpreter.calls.items(), key=lambda c: (c[0][1].line, c[0][0])):
            line, column = _call_position(lines, lines_of.get(outer or ""), callee)
            result.calls.append(CallSite(callee, parsed.path, line, column, qualified or unit.name, in_transaction, rows, locks, unit.entry))
    parsed.positions.within(None)
    result.units = [found_units[position] for position in sorted(found_units)]
    return result


Listed = tuple[cst.FunctionDef, str | None, str | None, str | None]


def _in_module_order(listed: list[Listed], lines: list[str], lines_of: dict[str, tuple[int, int]]) -> list[int]:
    """The positions of the module's functions in an order where a function this module defines
    comes before the functions of the module that call it (by name, or `self.`/`cls.` for a method
    of the same class), as far as cycles allow: its summary is there when they are interpreted.
    Calls are found in the text of each function (its lines), not by walking its tree."""
    names: dict[str, list[int]] = {}
    for position, (func, _, _, _) in enumerate(listed):
        names.setdefault(func.name.value, []).append(position)
    if len(names) < 2:
        return list(range(len(listed)))
    pattern = re.compile(r"(?:\b(self|cls)\.)?\b(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")\s*\(")
    calls: dict[int, list[int]] = {}
    for position, (_, class_name, _, outer) in enumerate(listed):
        within = lines_of.get(outer or "")
        called: list[int] = []
        if within is not None:
            text = "\n".join(lines[within[0] - 1 : within[1]])
            for match in pattern.finditer(text):
                method = match.group(1) is not None
                for candidate in names.get(match.group(2), []):
                    owner = listed[candidate][1]
                    if (method and owner == class_name) or (not method and owner is None):
                        called.append(candidate)
        calls[position] = [c for c in called if c != position]
    return callees_first(range(len(listed)), calls.__getitem__)


def _call_position(lines: list[str], within: tuple[int, int] | None, callee: str) -> tuple[int, int]:
    """Where a call of `callee` is, read off the text of the function that makes it (the first line
    naming it, else the definition): resolving libcst positions for every file that calls a
    project function would cost more than analysing it."""
    if within is None:
        return 1, 1
    name = callee.rsplit(".", 1)[-1]
    first, last = within
    for number in range(first, min(last, len(lines)) + 1):
        column = lines[number - 1].find(name + "(")
        if column >= 0:
            return number, column + 1
    return first, 1


def _project_names(index: ProjectIndex) -> Callable[[str], bool]:
    """Whether a resolved name is under one of the project's top-level modules (asked once)."""
    packages = index.project_packages()
    return lambda name: name.split(".", 1)[0] in packages


def parameters(func: cst.FunctionDef) -> tuple[str, ...]:
    params = func.params
    return tuple(p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params))


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


def functions(
    body: Sequence[cst.CSTNode], class_name: str | None, prefix: str | None, outer: str | None
) -> Iterator[tuple[cst.FunctionDef, str | None, str | None, str | None]]:
    """Every function at any depth, with the class it is a method of (if directly in one), its
    qualified name below `prefix` (None inside another function: no caller names it from outside),
    and the module-level function or method it is in (`f`, `Cls.f`; itself when it is one)."""
    for statement in body:
        if isinstance(statement, cst.FunctionDef):
            name = statement.name.value
            here = outer or (f"{class_name}.{name}" if class_name is not None else name)
            yield statement, class_name, f"{prefix}.{name}" if prefix is not None else None, here
            yield from functions(_block(statement.body), None, None, here)
        elif isinstance(statement, cst.ClassDef):
            inner = f"{prefix}.{statement.name.value}" if prefix is not None else None
            yield from functions(_block(statement.body), statement.name.value, inner, outer)
        elif isinstance(statement, (cst.If, cst.Try, cst.With, cst.For, cst.While)):
            yield from functions(_block(statement.body), class_name, prefix, outer)


def _block(suite: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    return suite.body if isinstance(suite, (cst.IndentedBlock, cst.SimpleStatementSuite)) else ()
