"""One worker's share of a run: its files, read, parsed, analysed and judged phase by phase.

Two facts are project-wide: the schema (a model declared in one file, used in
another) and the atomic writers (an `F("n") + 1` in one file makes a full
`save()` in another stale). So a run has three phases, and every shard does
each phase for its own files before any shard starts the next:

1. `summarise`: read each file and, unless the cache has it, have CPython
   parse it and plan what libcst is to parse (`parsing.plan`); hand back its
   table declarations and symbols, read off CPython's tree;
2. `writers` (then `revise`, for the summary rounds): with the index of every
   shard's declarations, parse each file with libcst and analyse it (or reuse
   its cached analysis when the index still answers its questions the same
   way) and hand back its atomic writers and function summaries;
3. `judge`: with every writer and call site known, run the rules (or reuse
   cached findings) and hand back findings and notices.

A file's libcst tree lives from its analysis to its judgement while the
shard's `TREE_BUDGET` lasts; past it, the tree is let go after the analysis
and a file with findings is parsed again for their positions. With
`--jobs N` each process holds one shard. Whatever goes wrong in one file
(unreadable, undecodable, a syntax error, a bug of ours) becomes that file's
finding or notice, never the end of the run.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pathspec

from txlint.core.config import Config
from txlint.core.fingerprint import with_fingerprints
from txlint.core.ftypes import Finding, Notice, Related, Span
from txlint.core.index import AtomicWriter, ProjectIndex, TableDecl, atomic_writers
from txlint.core.registry import all_rules, code_matches
from txlint.core.rule import Report, Rule, RuleContext
from txlint.core.summaries import CallSite, FunctionSummary, Symbol, SymbolKind, callees_first, module_of
from txlint.engine.cut_names import HELD, held_or_derived, named_in_cut_code
from txlint.engine.lookups import SUMMARY_QUESTIONS, RecordingIndex, still_true
from txlint.engine.result_cache import Entry, ResultCache
from txlint.engine.suppression import Suppressions
from txlint.fixes.propose import with_fixes
from txlint.project.sources import SourceText, decode_source, read_source

if TYPE_CHECKING:
    from txlint.core.ir import ModuleIR
    from txlint.frontends.python import Outline, ParsedPython, Planned, PythonSyntaxError, TooDeep
    from txlint.frontends.python.imports import ImportTable
    from txlint.frontends.python.positions import LazyPositions
    from txlint.frontends.sql_script import ScriptResult

PARSE_ERROR = "TX000"
# Characters of source whose libcst trees a shard keeps from a file's analysis to its judgement
# (about 32 bytes of tree per character: some 130 MB). Past that, a tree is let go after the
# analysis, and a file with findings is parsed again for their positions: a small project pays
# nothing, a large one's memory stays bounded.
TREE_BUDGET = 4_000_000
# The phases that call `Shard.on_file` once per file (summarise, writers, judge).
PROGRESS_PHASES = 3

_T = TypeVar("_T")


@dataclass(frozen=True)
class FileJob:
    """One file of the run: where to read it, the name to report, whether its findings are wanted.

    `number` is its place in the run, so results from any shard are put back in
    one order. A file with `report=False` is read for the project index only
    (the pre-commit hook passes a few files; the index needs them all).
    """

    number: int
    display: str
    file: Path | None = None
    data: bytes | None = None  # the text handed over on stdin
    report: bool = True
    judged: bool = True  # False: a test or migration, whose syntax errors alone are reported (clarification 23)

    def read(self, max_size: int) -> SourceText | Notice:
        """Its text (from stdin's bytes or the file), or a notice saying why it cannot be used."""
        if self.data is not None:
            return decode_source(self.data, self.display, max_size, python=not self.display.endswith(".sql"))
        assert self.file is not None
        return read_source(self.file, self.display, max_size)


@dataclass
class FileOutcome:
    """What the run says about one file."""

    number: int
    findings: list[Finding] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    checked: bool = False


@dataclass
class _Parsed:
    planned: Planned | None = None  # it operates: libcst parses it when it is analysed
    python: ParsedPython | None = None  # the libcst tree of `planned`, while it is needed
    outline: Outline | None = None  # declares tables and operates on nothing: CPython's tree only
    imports: ImportTable | None = None  # of a Python file CPython or libcst read (planned, outline, or nothing of a database in it)
    sql: ScriptResult | None = None
    syntax_errors: list[Finding] = field(default_factory=list)
    tree: ast.Module | None = None  # CPython's tree, kept until the file is indexed (pass 1)
    cut_names: list[tuple[str, str]] | None = None  # `Shard._cut_names`, once asked


@dataclass
class _File:
    job: FileJob
    source: SourceText | None = None
    key: str = ""
    cached: Entry | None = None
    entry: Entry = field(default_factory=Entry)
    parsed: _Parsed | None = None
    module: ModuleIR | None = None
    analysed: bool = False  # the front-end ran over it in this run (a file may still have no module)
    waiting: bool = False  # its cached analysis holds unless a callee's summary changed: decided next round
    words: tuple[str, ...] = ()  # names it imports of project functions that do something: functions naming them are kept
    reparse: bool = False  # to be parsed again with more words and analysed in the next round
    failed: bool = False  # an internal error: reported, never cached

    @property
    def usable(self) -> bool:
        return self.source is not None and not self.failed and self.entry.checked


class Shard:
    """The files one process works on, across the three phases of a run."""

    def __init__(self, config: Config, enabled: frozenset[str], cache_folder: Path | None) -> None:
        self.config = config
        self.enabled = enabled
        self.rules: list[Rule] = [rule() for code, rule in all_rules().items() if code in enabled and not rule.engine_emitted]
        self.cache = ResultCache.for_run(cache_folder, config, enabled) if cache_folder is not None else None
        self.files: list[_File] = []
        self._ordered: list[_File] = []  # the files, callees first (`_callees_first`)
        self.index = ProjectIndex()
        self.analysed = 0  # files whose analysis ran in this process (not served from the cache)
        self._tree_chars = 0  # of the trees kept past their analysis (`TREE_BUDGET`)
        self._per_file = [(pathspec.GitIgnoreSpec.from_lines([glob]), codes) for glob, codes in config.per_file_ignores.items()]
        # Called once per file in each of the phases `summarise`, `writers` and `judge` (a progress display's count).
        self.on_file: Callable[[], None] = _nothing
        # Whether a finding gets its fix proposed when it is judged (a language server judging a
        # keystroke asks for fixes only when the editor asks for code actions).
        self.propose_fixes = True

    def _each(self, items: Iterable[_T]) -> Iterator[_T]:
        """`items`, with `on_file` called once the loop is done with each (a `continue` included)."""
        for item in items:
            yield item
            self.on_file()

    # -- phase 1 ---------------------------------------------------------------------------
    def summarise(self, jobs: list[FileJob]) -> list[tuple[int, list[TableDecl], list[FunctionSummary], list[Symbol]]]:
        """Read and parse (or find in the cache) every file; their table declarations, their
        module-level symbols (re-exports, instances, class bases), and the function summaries a cached analysis left (where
        the summary rounds start from)."""
        found = []
        for job in self._each(jobs):
            item = _File(job)
            self.files.append(item)
            self._read(item)
            if item.source is not None:
                cached = item.cached.summaries if item.cached is not None and item.cached.writers is not None else []
                found.append((job.number, item.entry.decls, cached, item.entry.symbols))
        return found

    def _read(self, item: _File) -> None:
        job = item.job
        source = job.read(self.config.max_file_size)
        if isinstance(source, Notice):
            item.entry.notices.append(source)
            item.entry.checked = False
            return
        item.source = source
        if self.cache is not None:
            item.key = self.cache.key(job.display, source.text)
            item.cached = self.cache.load(item.key)
        if item.cached is not None:
            item.entry = Entry(decls=item.cached.decls, symbols=item.cached.symbols, notices=list(item.cached.notices), checked=item.cached.checked)
            item.words = item.cached.words
            return
        self._guard(item, "indexing", self._parse_and_index)

    def _parse_and_index(self, item: _File) -> None:
        parsed = item.parsed = self._parse(item)
        source = item.source
        assert source is not None
        tree, parsed.tree = parsed.tree, None  # pass 1 is its only reader: not kept across phases
        if source.path.endswith(".sql"):
            if parsed.sql is not None:
                from txlint.frontends import sql_script

                item.entry.decls = sql_script.table_decls(source.path, source.text, self.config.dialect)
            return
        from txlint.frontends.python import declarations

        if tree is None or parsed.imports is None:
            item.entry.symbols = declarations.settings(source.text)
            return
        if parsed.planned is not None or parsed.outline is not None:
            item.entry.decls = declarations.table_decls(tree, parsed.imports, source.path)
        item.entry.symbols = declarations.symbols(source.path, source.text, tree, parsed.imports, self.config.root)

    def _parsed(self, item: _File) -> _Parsed:
        if item.parsed is None:
            item.parsed = self._parse(item)
            item.parsed.tree = None  # the file is indexed already: only pass 1 reads CPython's tree
        return item.parsed

    def _parse(self, item: _File) -> _Parsed:
        from txlint.frontends import python as python_frontend
        from txlint.frontends import sql_script

        source = item.source
        assert source is not None
        result = _Parsed()
        if source.path.endswith(".sql"):
            result.sql = sql_script.analyse_script(source.path, source.text, self.config.dialect)
            result.syntax_errors = [self._parse_error(source.path, e.message, e.line, e.column) for e in result.sql.errors]
            return result
        lock_words = tuple(entry.rsplit(".", 1)[-1] for entry in self.config.lock_functions)
        parsed = python_frontend.plan(source.path, source.text, lock_words + item.words)
        if isinstance(parsed, (python_frontend.TooDeep, python_frontend.PythonSyntaxError)):
            self._refused(item, result, parsed)
        elif isinstance(parsed, python_frontend.Planned):
            result.planned, result.imports, result.tree, parsed.tree = parsed, parsed.imports, parsed.tree, None
        elif isinstance(parsed, python_frontend.Outline):
            result.outline, result.imports, result.tree, parsed.tree = parsed, parsed.imports, parsed.tree, None
        elif isinstance(parsed, python_frontend.Irrelevant):
            result.imports, result.tree = parsed.imports, parsed.tree  # it may call project functions that operate
        return result

    def _refused(self, item: _File, result: _Parsed, why: TooDeep | PythonSyntaxError) -> None:
        """A file txlint cannot follow is a notice; one with a syntax error, that finding (TX000)."""
        from txlint.frontends import python as python_frontend

        assert item.source is not None
        if isinstance(why, python_frontend.PythonSyntaxError):
            result.syntax_errors = [self._parse_error(item.source.path, why.message, why.line, why.column)]
        else:
            item.entry.notices.append(Notice(item.source.path, why.reason, not_analysed=True))
            item.entry.checked = False

    def _python(self, item: _File) -> ParsedPython | None:
        """The file's libcst tree, parsed now if it was planned and not yet parsed (or let go since)."""
        parsed = self._parsed(item)
        if parsed.python is None and parsed.planned is not None:
            from txlint.frontends import python as python_frontend

            built = parsed.planned.build()
            if isinstance(built, python_frontend.ParsedPython):
                parsed.python = built
            else:
                parsed.planned, parsed.imports = None, None
                self._refused(item, parsed, built)
        return parsed.python

    # -- phase 2 ---------------------------------------------------------------------------
    def writers(self, decls: list[TableDecl], summaries: list[FunctionSummary], symbols: list[Symbol]) -> tuple[list[AtomicWriter], list[FunctionSummary], bool]:
        """Analyse every file against the project's schema, symbol table and the summaries known so
        far; the atomic writers and function summaries found."""
        self.index = ProjectIndex.build(decls)
        self.index.set_symbols(symbols)
        self.index.set_summaries(summaries)
        self._ordered = _callees_first(self.files, symbols, self.config.root)
        for item in self._each(self._ordered):
            if not item.usable:
                continue
            cached = item.cached
            # Tests and migrations leave no summaries and are not revised: what their callees do now is not asked again.
            ignored = frozenset() if item.job.judged else SUMMARY_QUESTIONS
            if cached is not None and cached.writers is not None and still_true(self.index, cached.writer_lookups, but=ignored):
                _reuse(item, cached)
            elif cached is not None and cached.writers is not None and still_true(self.index, cached.writer_lookups, but=SUMMARY_QUESTIONS):
                # Only what callees do has changed: wait for this round's summaries (a callee changed
                # in this run is summarised in it) rather than analyse the caller twice.
                _reuse(item, cached)
                item.waiting = True
            else:
                self._guard(item, "analysing", self._analyse)
                self.index.add_summaries(item.entry.summaries)  # the files after it that call it see it now
        for item in self.files:
            if item.usable and item.job.judged and item.analysed and self._keeps_more(item):
                item.waiting = True  # parsed again in the next round, keeping the functions that call them
        return self._phase_two()

    def revise(self, summaries: list[FunctionSummary]) -> tuple[list[AtomicWriter], list[FunctionSummary], bool]:
        """With the project's summaries of the round before: analyse again the files that asked about
        a function whose summary is now another (their callers, and only them)."""
        self.index.set_summaries(summaries)
        for item in self._ordered or self.files:
            if not item.usable or item.entry.writers is None:
                continue
            again = item.reparse or (item.job.judged and self._keeps_more(item))
            if again or ((item.waiting or item.job.judged) and not still_true(self.index, item.entry.writer_lookups)):
                item.reparse = False
                self._guard(item, "analysing", self._analyse)
                if item.job.judged and self._keeps_more(item):  # a cached file, parsed just now: what it names does something
                    item.reparse = False
                    self._guard(item, "analysing", self._analyse)
                self.index.add_summaries(item.entry.summaries)
            item.waiting = False
        return self._phase_two()

    def _keeps_more(self, item: _File) -> bool:
        """A file that imports a project function whose summary says something (an instance of a
        project class, a project class whose methods do, a module holding such a function) and names it in code txlint did not interpret: the functions naming it can
        now operate through it, so the file is parsed again keeping them (`relevance` reads one
        file at a time)."""
        index = self.index
        words = {
            word
            for word, target in self._cut_names(item)
            if (
                index.class_operates(target.removeprefix(HELD))
                if target.startswith(HELD)
                else index.summary_of(target) is not None or index.instance_class_of(target) is not None or index.summarises_under(target)
            )
        }
        if not words - set(item.words):
            return False
        item.words = tuple(sorted(set(item.words) | words))
        item.parsed = None  # parsed again, with the words, when analysed
        item.reparse = True
        return True

    def _cut_names(self, item: _File) -> list[tuple[str, str]]:
        """`(local name, what it stands for)` for each name the file imports from the project and
        names in code that was not interpreted: the functions cut from what libcst parsed, every
        function of an outline, the whole text of a file that mentions no database (computed once
        per parse)."""
        parsed = item.parsed
        if parsed is None or item.source is None:
            return []
        if parsed.cut_names is not None:
            return parsed.cut_names
        planned, outline, imports = parsed.planned, parsed.outline, parsed.imports
        cut_lines: tuple[tuple[int, int], ...] | None = None  # None: the whole text
        if planned is not None:
            cut_lines = planned.cut_lines
        elif outline is not None:
            cut_lines = outline.cut_lines
        if imports is None or (planned is not None and not planned.cut):
            parsed.cut_names = []
            return []
        module, is_package = module_of(item.source.path, self.config.root)
        imported = [(local.rsplit(".", 1)[-1], target) for local, target in imports.project_names(module, is_package) if self.index.in_project(target)]
        named = named_in_cut_code(item.source.text, cut_lines, {word for word, _ in imported})
        held = held_or_derived(item.source.text)
        parsed.cut_names = [(word, target) for word, target in imported if word in named]
        parsed.cut_names += [(word, f"{target}.{m.split('.', 1)[1]}") for word, target in imported for m in named if m.startswith(word + ".")]
        parsed.cut_names += [(word, HELD + target) for word, target in imported if word in held]
        return parsed.cut_names

    def _phase_two(self) -> tuple[list[AtomicWriter], list[FunctionSummary], bool]:
        """The writers and summaries of every file, and whether a file waits for the next round."""
        writers: list[AtomicWriter] = []
        summaries: list[FunctionSummary] = []
        for item in self.files:
            if item.usable:
                writers += item.entry.writers or []
                summaries += item.entry.summaries
        return writers, summaries, any(item.waiting for item in self.files)

    def call_sites(self) -> list[CallSite]:
        """The project calls every file of this shard makes (once the summaries are settled)."""
        return [site for item in self.files if item.usable for site in item.entry.calls]

    def _analyse(self, item: _File, keep_tree: bool = False) -> None:
        """Interpret the file against the index; its libcst tree is kept for its judgement while
        the shard's `TREE_BUDGET` lasts, or when `keep_tree` (judging it next needs its positions)."""
        parsed = self._parsed(item)
        python = self._python(item)
        recording = RecordingIndex(self.index)
        item.module = None
        if python is not None:
            from txlint.frontends import python as python_frontend

            item.module = python_frontend.analyse(python, recording, self.config)
        elif parsed.sql is not None:
            item.module = parsed.sql.module
        self.analysed += not item.analysed  # files, not analyses: a file may be analysed again
        item.analysed = True
        if item.job.judged:
            # What the code it did not interpret names is a question of its result too: a cached
            # entry is stale when one of those names starts (or stops) doing something.
            for _, target in self._cut_names(item):
                recording.summary_of(target)
                recording.instance_class_of(target)
        item.entry.writer_lookups = recording.lookups
        # Tests and one-off code are nobody's helpers: what they call and do is no summary (clarification 23).
        item.entry.summaries = item.module.summaries if item.module is not None and item.job.judged else []
        writers = atomic_writers([item.module]) if item.module is not None else []
        positions = python.positions if python is not None else None
        # Resolved here: another file's finding may name this writer, and that file cannot see these placeholders.
        item.entry.writers = [replace(w, span=positions.resolve(w.span)) if positions is not None else w for w in writers]
        item.entry.calls = item.module.calls if item.module is not None and item.job.judged else []
        if python is not None and not keep_tree:
            size = len(python.text)
            if self._tree_chars + size <= TREE_BUDGET:
                self._tree_chars += size
            else:
                parsed.python = None  # the IR holds what the rules read; a finding's positions come from a parse again

    # -- phase 3 ---------------------------------------------------------------------------
    def judge(self, writers: list[AtomicWriter], calls: list[CallSite]) -> list[FileOutcome]:
        """Run the rules over every file to report (or reuse cached findings); store what changed."""
        self.index.add_atomic_writers(writers)
        self.index.add_call_sites(calls)
        outcomes = []
        for item in self._each(self.files):
            if item.usable and item.job.report:
                self._guard(item, "analysing", self._findings)
            self._store(item)
            entry = item.entry
            outcomes.append(FileOutcome(item.job.number, entry.findings or [], list(entry.notices), item.job.report and entry.checked and not item.failed))
        return outcomes

    def _findings(self, item: _File) -> None:
        cached = item.cached
        if (
            not item.analysed
            and cached is not None
            and cached.findings is not None
            and still_true(self.index, cached.finding_lookups)
        ):
            item.entry.findings, item.entry.finding_lookups = cached.findings, cached.finding_lookups
            return
        if not item.analysed:
            self._analyse(item, keep_tree=True)
        recording = RecordingIndex(self.index)
        found = self._rule_findings(item, recording)
        if any(f.line < 0 for f, _ in found) and self._parsed(item).python is None:
            # Its tree was let go after the analysis: the same parse and interpretation again number
            # the same nodes, and give the positions.
            kept = (item.entry.writers, item.entry.writer_lookups, item.entry.summaries, item.entry.calls)
            self._analyse(item, keep_tree=True)
            item.entry.writers, item.entry.writer_lookups, item.entry.summaries, item.entry.calls = kept
            recording = RecordingIndex(self.index)
            found = self._rule_findings(item, recording)
        findings: list[Finding] = list(self._parsed(item).syntax_errors) + [f for f, _ in found]
        reported = self._kept(item, findings, {f: unit for f, unit in found})
        # Each finding's fix, proposed from the text it was found in (the fields a model declares are
        # a question of the index like any other: a changed model judges the file again).
        fixing = self.propose_fixes and item.source is not None
        item.entry.findings = with_fixes(reported, item.source.text, recording.columns_of) if fixing and item.source is not None else reported
        item.entry.finding_lookups = recording.lookups
        self._parsed(item).python = None

    def _rule_findings(self, item: _File, recording: RecordingIndex) -> list[tuple[Finding, str]]:
        """Every rule over every unit of the file's IR, each finding with its unit's name (placed
        where the file's positions are at hand; a placeholder span, line < 0, where not)."""
        if item.module is None or not item.job.judged:
            return []
        python = self._parsed(item).python
        positions = python.positions if python is not None else None
        context = RuleContext(self.config, item.module, recording)
        found = []
        for unit in item.module.units:
            for rule in self.rules:
                for report in rule.check(unit, context):
                    found.append((_placed(_finding(rule, item.module.path, report), positions), unit.name))
        return found

    def _kept(self, item: _File, findings: list[Finding], unit_of: dict[Finding, str]) -> list[Finding]:
        """Drop what the user switched off or suppressed; fingerprint the rest."""
        if not findings:
            return []
        assert item.source is not None
        path, text = item.source.path, item.source.text
        suppressions = Suppressions.of_sql(text) if path.endswith(".sql") else Suppressions.of_python(text)
        kept = [
            f for f in findings if f.code in self.enabled and not suppressions.suppressed(f.code, f.line) and not self._ignored_here(f)
        ]
        return with_fingerprints(kept, text.splitlines(), unit_of, self.config.root)

    def _store(self, item: _File) -> None:
        if self.cache is None or item.source is None or item.failed:
            return
        entry, cached = item.entry, item.cached
        if entry.writers is None and cached is None and entry.checked:
            return  # only indexed, never analysed: nothing worth keeping yet
        if cached is not None and entry.writers is cached.writers and entry.findings in (cached.findings, None):
            return  # served wholly from the cache, or only read for the index: what is on disk is as good or better
        entry.words = item.words
        self.cache.store(item.key, entry)

    # -- helpers ---------------------------------------------------------------------------
    def _guard(self, item: _File, doing: str, work: Callable[[_File], None]) -> None:
        """Run one file's work; a bug of ours becomes a notice for that file, never the end of the run."""
        try:
            work(item)
        except (Exception, RecursionError) as error:  # noqa: BLE001 - any failure is that file's notice
            item.failed = True
            item.entry.notices.append(
                Notice(item.job.display, f"internal error while {doing}, file not analysed: {type(error).__name__}: {error}", not_analysed=True)
            )

    def _parse_error(self, path: str, message: str, line: int, column: int) -> Finding:
        rule = all_rules()[PARSE_ERROR]
        return _finding(rule, path, Report(Span.point(line, column), f"cannot parse: {message}"))

    def _ignored_here(self, finding: Finding) -> bool:
        if not self._per_file:
            return False
        try:
            relative = Path(os.path.abspath(finding.path)).relative_to(self.config.root.resolve()).as_posix()
        except ValueError:
            relative = finding.path
        return any(spec.match_file(relative) and code_matches(finding.code, codes) for spec, codes in self._per_file)


def _nothing() -> None:
    pass


def _reuse(item: _File, cached: Entry) -> None:
    """The cached analysis stands for this run's."""
    item.entry.writers, item.entry.writer_lookups = cached.writers, cached.writer_lookups
    item.entry.summaries, item.entry.calls = cached.summaries, cached.calls


def _callees_first(files: list[_File], symbols: list[Symbol], root: Path) -> list[_File]:
    """The files in an order where a module comes before the modules that import from it, as far
    as cycles allow: a helper is summarised before its callers are analysed, so the summary rounds
    that follow find little to do."""
    by_module: dict[str, _File] = {}
    for item in files:
        if item.source is not None:
            by_module[module_of(item.source.path, root)[0]] = item
    imports: dict[str, set[str]] = {}
    for symbol in symbols:
        if symbol.kind is SymbolKind.IMPORT:
            importer = symbol.name.rsplit(".", 1)[0]
            target = symbol.target if symbol.target in by_module else symbol.target.rsplit(".", 1)[0]
            if target in by_module and target != importer:
                imports.setdefault(importer, set()).add(target)
    ordered = [by_module[m] for m in callees_first(by_module, lambda m: sorted(imports.get(m, ())))]
    placed = {id(item) for item in ordered}
    return ordered + [item for item in files if id(item) not in placed]


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


def _placed(finding: Finding, positions: LazyPositions | None) -> Finding:
    """The finding with real positions for the placeholder spans the Python front-end handed out."""
    if positions is None:
        return finding
    resolve = positions.resolve
    span = resolve(Span(finding.line, finding.column, finding.end_line, finding.end_column))
    related = []
    for r in finding.related:
        at = resolve(Span.point(r.line, r.column)) if r.path == finding.path else Span.point(r.line, r.column)
        related.append(replace(r, line=at.line, column=at.column))
    return replace(finding, line=span.line, column=span.column, end_line=span.end_line, end_column=span.end_column, related=tuple(related))
