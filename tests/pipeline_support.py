"""Driving the whole static pipeline in-process, and checking what every reporter makes of the result.

Shared by the fuzz tests (`test_fuzz.py`) and the adversarial inputs
(`test_adversarial.py`): read → parse → IR → rules → findings, then each
output format, with the invariants every run must keep whatever it was fed.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from txlint.cli.reporters import FORMATS, ReportContext
from txlint.core.config import Config
from txlint.core.ftypes import Finding
from txlint.core.registry import all_rules, enabled_codes
from txlint.engine.runner import Engine, RunResult

# Every rule, the ones off by default too: the more rules run, the more code the inputs reach.
ALL_CODES = enabled_codes(("ALL",), (), ())

# One GitHub workflow command per line: `::error file=...,line=...::message`, nothing else.
GITHUB_LINE = re.compile(r"::(error|warning|notice) (?P<props>[^:\r\n]*)::(?P<message>[^\r\n]*)")
GITHUB_PROPERTIES = ["file", "line", "col", "endLine", "endColumn", "title"]
# A terminal acts on C0/C1 control characters (ESC starts ANSI sequences, CSI is 0x9b).
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def engine(config: Config | None = None) -> Engine:
    """An engine with every rule on, one process, no cache."""
    return Engine(config or Config(), ALL_CODES)


def check_text(name: str, data: str | bytes, config: Config | None = None) -> RunResult:
    """The run over one file's contents, as `txlint check - --stdin-filename NAME` does it."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    with silent():
        return engine(config).check_text(name, raw)


def check_paths(files: Sequence[Path], config: Config | None = None) -> RunResult:
    """The run over files on disk, each reported under its path as given."""
    with silent():
        return engine(config).check_files(list(files), [str(f) for f in files])


@contextlib.contextmanager
def silent() -> Iterator[None]:
    """Fails when the analysis writes to stdout or stderr, or warns: only the CLI prints.

    (A library's log record or a `SyntaxWarning` about the code being read would
    reach the user's terminal, or a JSON consumer's stderr, unasked.)
    """
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        warnings.simplefilter("always")
        yield
    assert not caught, [str(w.message) for w in caught]
    assert out.getvalue() == "" and err.getvalue() == "", (out.getvalue(), err.getvalue())


def assert_sound(result: RunResult, paths: Iterable[str]) -> None:
    """What every run must end with, whatever the input: a list of well-formed findings.

    A bug of ours is contained (the file becomes a notice or a TX000, the run
    goes on), but it is still a bug: no message may say "internal error".
    """
    known = set(paths)
    rules = all_rules()
    assert isinstance(result.findings, list)
    for finding in result.findings:
        assert isinstance(finding, Finding)
        assert finding.code in rules, finding
        assert finding.path in known, (finding.path, known)
        assert finding.line >= 1 and finding.column >= 1, finding
        assert finding.end_line >= finding.line, finding
        for related in finding.related:
            assert related.line >= 1 and related.column >= 1, finding
        assert "internal error" not in finding.message, finding
    for notice in result.notices:
        assert notice.path in known and notice.reason, notice
        assert "internal error" not in notice.reason, notice


def render_all(findings: Sequence[Finding], files_checked: int = 1, root: Path | None = None) -> dict[str, str]:
    """Every output format of `findings`, each checked for what a consumer relies on."""
    context = ReportContext(files_checked, root or Path.cwd(), ALL_CODES)
    outputs = {name: reporter(findings, context) for name, reporter in FORMATS.items()}
    assert_text(outputs["concise"], findings)
    assert_text(outputs["text"], findings, blank_after_each=True)
    assert_json(outputs["json"], findings)
    assert_sarif(outputs["sarif"], findings)
    assert_github(outputs["github"], findings)
    return outputs


def assert_text(output: str, findings: Sequence[Finding], blank_after_each: bool = False) -> None:
    """One line per finding and per related location (`full` without sources: and a blank line after
    each finding), one summary line (and one on what `--fix` can do when a finding has a fix), no
    terminal control."""
    lines = output.split("\n")
    assert lines[-1] == ""
    summary = 2 if any(f.fix is not None for f in findings) else 1
    assert len(lines) - 1 == len(findings) * (2 if blank_after_each else 1) + sum(len(f.related) for f in findings) + summary
    assert not CONTROL.search(output.replace("\n", "")), "a control character reached the terminal"
    output.encode("utf-8")  # no lone surrogates: a UTF-8 terminal or pipe can take every character


def assert_json(output: str, findings: Sequence[Finding]) -> None:
    document = json.loads(output)
    assert isinstance(document, list) and len(document) == len(findings)
    assert [(f["code"], f["path"], f["line"]) for f in document] == [(f.code, f.path, f.line) for f in findings]
    output.encode("ascii")


def assert_sarif(output: str, findings: Sequence[Finding]) -> None:
    document = json.loads(output)
    (run,) = document["runs"]
    assert len(run["results"]) == len(findings)
    for result in run["results"]:
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert not CONTROL.search(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
    output.encode("ascii")


def assert_github(output: str, findings: Sequence[Finding]) -> None:
    """Exactly one workflow command per finding, each with exactly the six properties in order."""
    lines = output.split("\n")
    assert lines[-1] == ""
    assert len(lines) - 1 == len(findings), output
    for line, finding in zip(lines, findings, strict=False):
        match = GITHUB_LINE.fullmatch(line)
        assert match, line
        properties = dict(part.split("=", 1) for part in match["props"].split(","))
        assert list(properties) == GITHUB_PROPERTIES, line
        assert properties["title"] == finding.code
        assert unescape_github(properties["file"]).replace("\\", "/") == escape_visible(finding.path).replace("\\", "/")
    assert not CONTROL.search(output.replace("\n", ""))
    output.encode("utf-8")


def unescape_github(value: str) -> str:
    """What the Actions runner makes of an escaped property value."""
    for escaped, char in (("%3A", ":"), ("%2C", ","), ("%0D", "\r"), ("%0A", "\n"), ("%25", "%")):
        value = value.replace(escaped, char)
    return value


def escape_visible(value: str) -> str:
    """A path as the reporters show it: control characters (not CR and LF) as backslash escapes."""
    return "".join(ch if ch.isprintable() or ch in " \r\n" else ascii(ch)[1:-1] for ch in value)


def codes_by_path(result: RunResult) -> Mapping[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in result.findings:
        found.setdefault(finding.path, set()).add(finding.code)
    return found
