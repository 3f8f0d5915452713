"""Runs the analysis: read files, parse, build the project index, judge, filter.

Pass 1 parses every file and collects the schema facts (the project index);
pass 2 runs the front-ends over each file with that index and hands every
unit to every enabled rule. A failure in one file (unreadable, undecodable,
a syntax error, even a bug of ours) becomes that file's finding or notice,
never the end of the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pathspec

from txlint.config import Config
from txlint.deepstack import run_deep
from txlint.fingerprint import with_fingerprints
from txlint.frontends import python as python_frontend
from txlint.frontends import sql_script
from txlint.frontends.python.positions import LazyPositions
from txlint.ftypes import Finding, Notice, Related, Span
from txlint.index import ProjectIndex, TableDecl, atomic_writers
from txlint.ir import ModuleIR
from txlint.registry import all_rules, code_matches
from txlint.rule import Report, Rule, RuleContext
from txlint.sources import SourceText, decode_source, read_source
from txlint.suppression import Suppressions

PARSE_ERROR = "TX000"


@dataclass
class RunResult:
    """Everything a run produced, in a stable order."""

    findings: list[Finding] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    files_checked: int = 0


@dataclass
class _Parsed:
    source: SourceText
    python: python_frontend.ParsedPython | None = None
    sql: sql_script.ScriptResult | None = None
    syntax_errors: list[Finding] = field(default_factory=list)
    notice: Notice | None = None


class Engine:
    """One configured run over a set of files."""

    def __init__(self, config: Config, enabled: frozenset[str]) -> None:
        self.config = config
        self.enabled = enabled
        self.rules: list[Rule] = [rule() for code, rule in all_rules().items() if code in enabled and not rule.engine_emitted]
        self._per_file = [
            (pathspec.GitIgnoreSpec.from_lines([glob]), codes) for glob, codes in config.per_file_ignores.items()
        ]

    # -- entry points ----------------------------------------------------------------------
    def check_files(self, files: Sequence[Path], display: Sequence[str]) -> RunResult:
        return run_deep(lambda: self._check_files(files, display))

    def _check_files(self, files: Sequence[Path], display: Sequence[str]) -> RunResult:
        result = RunResult()
        parsed: list[_Parsed] = []
        for path, shown in zip(files, display):
            source = read_source(path, shown, self.config.max_file_size)
            if isinstance(source, Notice):
                result.notices.append(source)
                continue
            parsed.append(self._parse(source))
        return self._judge(parsed, result)

    def check_text(self, display: str, data: bytes) -> RunResult:
        """Check source handed over on stdin, reported under `display`."""
        return run_deep(lambda: self._check_text(display, data))

    def _check_text(self, display: str, data: bytes) -> RunResult:
        result = RunResult()
        source = decode_source(data, display, self.config.max_file_size, python=not display.endswith(".sql"))
        if isinstance(source, Notice):
            result.notices.append(source)
            return result
        return self._judge([self._parse(source)], result)

    # -- passes ---------------------------------------------------------------------------
    def _parse(self, source: SourceText) -> _Parsed:
        item = _Parsed(source)
        if source.path.endswith(".sql"):
            item.sql = sql_script.analyse_script(source.path, source.text, self.config.dialect)
            item.syntax_errors = [self._parse_error(source.path, e.message, e.line, e.column) for e in item.sql.errors]
            return item
        parsed = python_frontend.parse(source.path, source.text)
        if isinstance(parsed, python_frontend.Irrelevant):
            return item  # checked: CPython parsed it, and nothing in it is about a database
        if isinstance(parsed, python_frontend.TooDeep):
            item.notice = Notice(source.path, parsed.reason)
        elif isinstance(parsed, python_frontend.PythonSyntaxError):
            item.syntax_errors = [self._parse_error(source.path, parsed.message, parsed.line, parsed.column)]
        else:
            item.python = parsed
        return item

    def _judge(self, parsed: list[_Parsed], result: RunResult) -> RunResult:
        index = ProjectIndex.build(self._table_decls(parsed, result))
        modules: list[tuple[_Parsed, ModuleIR | None]] = []
        for item in parsed:  # pass 2a: every file's IR, so project-wide facts are known before judging
            if item.notice is not None:
                result.notices.append(item.notice)
                continue
            result.files_checked += 1
            try:
                modules.append((item, self._module(item, index)))
            except (Exception, RecursionError) as error:  # a bug of ours must not end the run
                result.files_checked -= 1
                result.notices.append(Notice(item.source.path, f"internal error, file not analysed: {type(error).__name__}: {error}"))
        index.add_atomic_writers(atomic_writers(module for _, module in modules if module is not None))
        positions = {item.source.path: item.python.positions for item, _ in modules if item.python is not None}
        for item, module in modules:  # pass 2b: the rules
            try:
                result.findings.extend(self._file_findings(item, module, index, positions))
            except (Exception, RecursionError) as error:
                result.files_checked -= 1
                result.notices.append(Notice(item.source.path, f"internal error, file not analysed: {type(error).__name__}: {error}"))
        result.findings.sort(key=Finding.sort_key)
        return result

    def _module(self, item: _Parsed, index: ProjectIndex) -> ModuleIR | None:
        if item.python is not None:
            return python_frontend.analyse(item.python, index, self.config)
        return item.sql.module if item.sql is not None else None

    def _table_decls(self, parsed: Iterable[_Parsed], result: RunResult) -> list[TableDecl]:
        decls: list[TableDecl] = []
        for item in parsed:
            try:
                if item.python is not None:
                    decls += item.python.table_decls()
                elif item.sql is not None:
                    decls += sql_script.table_decls(item.source.path, item.source.text, self.config.dialect)
            except (Exception, RecursionError) as error:
                result.notices.append(Notice(item.source.path, f"internal error while indexing: {type(error).__name__}: {error}"))
        return decls

    def _file_findings(
        self, item: _Parsed, module: ModuleIR | None, index: ProjectIndex, positions: dict[str, LazyPositions]
    ) -> list[Finding]:
        path, text = item.source.path, item.source.text
        unit_of: dict[Finding, str] = {}
        findings: list[Finding] = list(item.syntax_errors)
        if module is not None:
            units: dict[Finding, str] = {}
            for finding in self._run_rules(module, index, units):
                placed = _placed(finding, positions)
                unit_of[placed] = units.get(finding, "")
                findings.append(placed)
        if not findings:
            return []
        suppressions = Suppressions.of_sql(text) if path.endswith(".sql") else Suppressions.of_python(text)
        kept = [
            f
            for f in findings
            if f.code in self.enabled and not suppressions.suppressed(f.code, f.line) and not self._ignored_here(f)
        ]
        return with_fingerprints(kept, text.splitlines(), unit_of)

    def _run_rules(self, module: ModuleIR, index: ProjectIndex, unit_of: dict[Finding, str]) -> list[Finding]:
        context = RuleContext(self.config, module, index)
        findings: list[Finding] = []
        for unit in module.units:
            for rule in self.rules:
                for report in rule.check(unit, context):
                    finding = _finding(rule, module.path, report)
                    unit_of[finding] = unit.name
                    findings.append(finding)
        return findings

    def _parse_error(self, path: str, message: str, line: int, column: int) -> Finding:
        rule = all_rules()[PARSE_ERROR]
        return _finding(rule, path, Report(Span.point(line, column), f"cannot parse: {message}"))  # type: ignore[arg-type]

    def _ignored_here(self, finding: Finding) -> bool:
        if not self._per_file:
            return False
        try:
            relative = Path(os.path.abspath(finding.path)).relative_to(self.config.root.resolve()).as_posix()
        except ValueError:
            relative = finding.path
        return any(spec.match_file(relative) and code_matches(finding.code, codes) for spec, codes in self._per_file)


def _finding(rule: type[Rule] | Rule, path: str, report: Report) -> Finding:
    span = report.span
    return Finding(
        code=rule.code,
        name=rule.name,
        severity=rule.severity,
        message=report.message,
        path=path,
        line=span.line,
        column=span.column,
        end_line=span.end_line,
        end_column=span.end_column,
        related=tuple(Related(r.path or path, r.span.line, r.span.column, r.message) for r in report.related),
    )


def _placed(finding: Finding, positions: dict[str, LazyPositions]) -> Finding:
    """The finding with real positions for the placeholder spans the Python front-end handed out."""
    own = positions.get(finding.path)
    if own is None:
        return finding
    span = own.resolve(Span(finding.line, finding.column, finding.end_line, finding.end_column))
    related = []
    for r in finding.related:
        resolver = positions.get(r.path)
        at = resolver.resolve(Span.point(r.line, r.column)) if resolver is not None else Span.point(r.line, r.column)
        related.append(replace(r, line=at.line, column=at.column))
    return replace(finding, line=span.line, column=span.column, end_line=span.end_line, end_column=span.end_column, related=tuple(related))
