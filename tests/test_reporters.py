"""Output formats: text, JSON, SARIF 2.1.0, GitHub workflow commands, and fingerprints."""

from __future__ import annotations

import json
import os
import re
from importlib.metadata import version
from pathlib import Path

import pytest

from conftest import (
    BROKEN_PYTHON,
    LOCKED_UPDATE,
    LOST_UPDATE,
    LOST_UPDATE_COLUMN,
    LOST_UPDATE_LINE,
    LOST_UPDATE_READ_LINE,
)
from txlint.cli.reporters import github, sarif
from txlint.core.ftypes import Finding, Related, Severity
from txlint.core.links import rule_doc_path, rule_doc_url

ROOT = Path(__file__).resolve().parents[1]

FINDING_FIELDS = {
    "code", "name", "severity", "message", "path", "line", "column",
    "end_line", "end_column", "related", "fingerprint", "fix", "url",
}  # fmt: skip

# The same function, shifted by unrelated lines above it and another function after it.
SHIFTED = LOST_UPDATE.replace(
    "from django.db import transaction\n",
    "from django.db import transaction\nimport logging\n\nlog = logging.getLogger(__name__)\n",
) + "\n\ndef unrelated():\n    return 42\n"
SHIFT = 3

TWO_FUNCTIONS = LOST_UPDATE + "\n\n" + LOST_UPDATE.split("\n", 2)[2].replace("withdraw", "deposit").replace("-=", "+=")


def _finding(**changes: object) -> Finding:
    values: dict[str, object] = {
        "code": "TX101", "name": "lost-update", "severity": Severity.ERROR, "message": "lost",
        "path": "app.py", "line": 7, "column": 9, "end_line": 7, "end_column": 20,
    }  # fmt: skip
    values.update(changes)
    return Finding(**values)  # type: ignore[arg-type]


# -- text -------------------------------------------------------------------------------------


def test_text_finding_line_note_source_line_and_summary(project, run_txlint):
    """The default (ruff's `full`): the finding, its note, the source line with carets under the span, a blank line."""
    project.write("app.py")
    lines = run_txlint("check", ".").stdout.splitlines()
    assert lines[0].startswith(f"app.py:{LOST_UPDATE_LINE}:{LOST_UPDATE_COLUMN}: TX101 [lost-update] ")
    assert lines[1].strip().startswith(f"app.py:{LOST_UPDATE_READ_LINE}:")
    assert lines[2:6] == ["  |", f"{LOST_UPDATE_LINE} |         acct.save()", "  |         ^^^^^^^^^^^", ""]
    assert lines[6].startswith("Found 1 finding")
    assert lines[7] == "1 fixable with --fix --unsafe-fixes."  # locking the read changes behaviour: not a safe fix
    assert len(lines) == 8


@pytest.mark.parametrize("name", ["full", "text"])
def test_text_is_full(project, run_txlint, name):
    project.write("app.py")
    assert run_txlint("check", "--format", name, ".").stdout == run_txlint("check", ".").stdout


def test_concise_is_one_line_per_finding_and_note(project, run_txlint):
    project.write("app.py")
    lines = run_txlint("check", "--output-format", "concise", ".").stdout.splitlines()
    assert lines[0].startswith(f"app.py:{LOST_UPDATE_LINE}:{LOST_UPDATE_COLUMN}: TX101 [lost-update] ")
    assert lines[1].strip().startswith(f"app.py:{LOST_UPDATE_READ_LINE}:")
    assert len(lines) == 4  # finding, related note, summary, what --fix can do


def test_full_shows_the_stdin_source_not_the_file_on_disk(project, run_txlint):
    project.write("app.py", LOCKED_UPDATE.replace("acct.save()", "acct.save()  # on disk"))
    run = run_txlint("check", "--stdin-filename", "app.py", input=LOST_UPDATE)
    assert f"{LOST_UPDATE_LINE} |         acct.save()\n" in run.stdout


def test_full_without_the_source_shows_the_finding_alone(project, run_txlint):
    """A file that went away (or cannot be decoded) after the check: no excerpt, never a wrong one."""
    from txlint.cli.reporters import text

    output = text.render([_finding(line=99)], 1, source=lambda path: ["only one line"])
    assert output.splitlines() == [_finding(line=99).path + ":99:9: TX101 [lost-update] lost", "", "Found 1 finding in 1 file (1 file checked)."]
    assert text.render([_finding()], 1, source=lambda path: None) == output.replace(":99:", ":7:")


def test_text_file_name_with_a_newline_stays_on_one_line(project, run_txlint):
    project.write("new\nline.py")
    run = run_txlint("check", ".")
    assert run.exit_code == 1
    finding = [line for line in run.stdout.splitlines() if "TX101" in line]
    assert len(finding) == 1
    assert "new" in finding[0] and "line.py" in finding[0]
    assert not any(line.startswith("line.py") for line in run.stdout.splitlines())


# -- json -------------------------------------------------------------------------------------


def test_json_fields_and_values(project, run_txlint):
    project.write("app.py")
    run = run_txlint("check", "--format", "json", ".")
    assert run.exit_code == 1
    findings = run.json()
    assert isinstance(findings, list) and len(findings) == 1
    finding = findings[0]
    assert set(finding) == FINDING_FIELDS
    assert finding["code"] == "TX101"
    assert finding["name"] == "lost-update"
    assert finding["severity"] == "error"
    assert isinstance(finding["message"], str) and finding["message"]
    assert finding["path"] == "app.py"
    assert (finding["line"], finding["column"]) == (LOST_UPDATE_LINE, LOST_UPDATE_COLUMN)
    assert finding["end_line"] == LOST_UPDATE_LINE
    assert finding["end_column"] > finding["column"]
    assert isinstance(finding["fingerprint"], str) and finding["fingerprint"]


def test_json_related_points_at_the_read(project, run_txlint):
    project.write("app.py")
    (finding,) = run_txlint("check", "--format", "json", ".").json()
    (related,) = finding["related"]
    assert set(related) == {"path", "line", "column", "message"}
    assert related["path"] == "app.py"
    assert related["line"] == LOST_UPDATE_READ_LINE
    # `Account.objects.get(` starts after `        acct = ` (15 characters), 1-based.
    assert related["column"] == 16


def test_json_url_is_the_page_of_the_rule_in_the_repository(project, run_txlint):
    project.write("app.py")
    (finding,) = run_txlint("check", "--format", "json", ".").json()
    assert finding["url"] == rule_doc_url("TX101")
    assert finding["url"].endswith("/" + rule_doc_path("TX101"))
    assert (ROOT / rule_doc_path("TX101")).is_file()


def test_json_columns_are_1_based(project, run_txlint):
    # Without the `with` block `acct.save()` is indented 4 spaces: column 5.
    body = LOST_UPDATE.replace("    with transaction.atomic():\n", "").replace("\n        ", "\n    ")
    project.write("flat.py", body)
    project.write("top.py", "def f(:\n")
    findings = {f["path"]: f for f in run_txlint("check", "--format", "json", ".").json()}
    assert (findings["flat.py"]["line"], findings["flat.py"]["column"]) == (LOST_UPDATE_LINE - 1, 5)
    assert all(f["column"] >= 1 and f["line"] >= 1 for f in findings.values())


def test_json_no_findings_is_an_empty_array(project, run_txlint):
    project.write("app.py", LOCKED_UPDATE)
    run = run_txlint("check", "--format", "json", ".")
    assert run.stdout.strip() == "[]"


def test_json_findings_are_sorted_by_path_and_line(project, run_txlint):
    project.write("b.py")
    project.write("a.py", BROKEN_PYTHON + "\n" * 20)
    project.write("a/c.py")
    run = run_txlint("check", "--format", "json", ".")
    paths = [(f["path"], f["line"]) for f in run.json()]
    assert paths == sorted(paths)
    assert len(paths) == 3


# -- sarif ------------------------------------------------------------------------------------


def _sarif(run_txlint, *paths: str) -> dict:
    run = run_txlint("check", "--format", "sarif", *paths)
    assert run.exit_code in (0, 1), run.output
    return run.json()


def test_sarif_document_shape(project, run_txlint):
    project.write("app.py")
    document = _sarif(run_txlint, ".")
    assert "sarif" in document["$schema"] and "2.1.0" in document["$schema"]
    assert document["version"] == "2.1.0"
    assert len(document["runs"]) == 1
    driver = document["runs"][0]["tool"]["driver"]
    assert driver["name"] == "txlint"
    assert driver["version"] == version("txlint")
    ids = [rule["id"] for rule in driver["rules"]]
    assert "TX101" in ids
    assert len(ids) == len(set(ids))


def test_sarif_rule_descriptors(project, run_txlint):
    project.write("app.py")
    driver = _sarif(run_txlint, ".")["runs"][0]["tool"]["driver"]
    for rule in driver["rules"]:
        assert re.fullmatch(r"TX\d{3}", rule["id"])
        for key in ("shortDescription", "fullDescription", "help"):
            assert isinstance(rule[key]["text"], str) and rule[key]["text"], (rule["id"], key)
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note", "none"}
        assert rule["helpUri"] == rule_doc_url(rule["id"])
        assert (ROOT / rule_doc_path(rule["id"])).is_file()
    tx101 = next(rule for rule in driver["rules"] if rule["id"] == "TX101")
    assert tx101["name"] == "lost-update"
    assert tx101["defaultConfiguration"]["level"] == "error"


def test_sarif_result(project, run_txlint):
    project.write("app.py")
    run = _sarif(run_txlint, ".")["runs"][0]
    (result,) = run["results"]
    assert result["ruleId"] == "TX101"
    assert result["level"] == "error"
    assert isinstance(result["message"]["text"], str) and result["message"]["text"]
    (location,) = result["locations"]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "app.py"
    region = physical["region"]
    assert (region["startLine"], region["startColumn"]) == (LOST_UPDATE_LINE, LOST_UPDATE_COLUMN)
    fingerprint = result["partialFingerprints"]["primaryLocationLineHash"]
    assert isinstance(fingerprint, str) and fingerprint
    if "ruleIndex" in result:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "TX101"


def test_sarif_uri_is_repository_relative_with_forward_slashes(project, run_txlint):
    project.write("shop/payments/views.py")
    (result,) = _sarif(run_txlint, "shop")["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "shop/payments/views.py"


def test_sarif_uris_of_several_folders_without_git_or_config(project, run_txlint):
    project.write("src/a.py")
    project.write("lib/b.py")
    results = _sarif(run_txlint, "src", "lib")["runs"][0]["results"]
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results)
    assert uris == ["lib/b.py", "src/a.py"]


def test_sarif_uri_relative_to_the_git_top_from_a_subfolder(project, run_txlint, monkeypatch):
    project.mkdir(".git")
    project.write("service/app/views.py")
    monkeypatch.chdir(project.root / "service")
    (result,) = _sarif(run_txlint, "app")["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "service/app/views.py"


def test_sarif_uri_of_an_absolute_path_argument(project, run_txlint):
    path = project.write("pkg/app.py")
    (result,) = _sarif(run_txlint, str(path))["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert not uri.startswith(("/", "file:"))
    assert uri.endswith("app.py")


@pytest.mark.parametrize("name", ["a,b:c.py", "with space.py", "50%.py", "new\nline.py"])
def test_sarif_uri_of_an_awkward_file_name_is_a_relative_reference(project, run_txlint, name):
    project.write(name)
    (result,) = _sarif(run_txlint, ".")["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert not uri.startswith(("/", "file:"))
    assert ":" not in uri  # a `:` before any `/` would make it a URI scheme
    assert not re.search(r"\s|%(?![0-9A-F]{2})", uri)  # spaces, newlines, a bare `%` are percent-encoded


@pytest.mark.skipif(os.name != "posix", reason="only POSIX file names can hold bytes that are not UTF-8")
def test_sarif_and_json_with_a_file_name_that_is_not_utf8(project, run_txlint):
    project.write(b"caf\xe9.py")
    for output_format in ("json", "sarif", "text"):
        run = run_txlint("check", "--format", output_format, ".")
        assert run.exit_code == 1, (output_format, run.output)
        assert "TX101" in run.stdout
    (result,) = _sarif(run_txlint, ".")["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "caf%E9.py"


def test_sarif_related_locations(project, run_txlint):
    project.write("app.py")
    (result,) = _sarif(run_txlint, ".")["runs"][0]["results"]
    (related,) = result["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "app.py"
    assert related["physicalLocation"]["region"]["startLine"] == LOST_UPDATE_READ_LINE
    assert related["message"]["text"]


EMBEDDED_LINK = re.compile(r"\[((?:[^\\\[\]]|\\[\\\[\]])*)\]\((\d+)\)")  # SARIF 2.1.0 §3.11.6, plain text


def test_sarif_message_links_its_related_locations(project, run_txlint):
    project.write("app.py")
    (result,) = _sarif(run_txlint, ".")["runs"][0]["results"]
    (related,) = result["relatedLocations"]
    links = EMBEDDED_LINK.findall(result["message"]["text"])
    assert [(text, int(target)) for text, target in links] == [(related["message"]["text"], related["id"])]


def test_sarif_links_several_related_locations_by_id_and_escapes_link_text():
    finding = _finding(related=(Related("app.py", 5, 16, "read here"), Related("lib/x.py", 9, 1, r"rows[0] read\here")))
    (result,) = json.loads(sarif.render([finding], Path.cwd(), {"TX101"}))["runs"][0]["results"]
    text = result["message"]["text"]
    assert text.startswith("lost ")
    assert EMBEDDED_LINK.findall(text) == [("read here", "1"), (r"rows\[0\] read\\here", "2")]
    ids = [r["id"] for r in result["relatedLocations"]]
    assert ids == [1, 2]  # every link target is exactly one related location's id
    assert [r["message"]["text"] for r in result["relatedLocations"]] == ["read here", r"rows[0] read\here"]


def test_sarif_message_without_related_locations_has_no_links():
    (result,) = json.loads(sarif.render([_finding()], Path.cwd(), {"TX101"}))["runs"][0]["results"]
    assert result["message"]["text"] == "lost"
    assert "relatedLocations" not in result


def test_sarif_stdin_uses_the_stdin_filename(project, run_txlint):
    run = run_txlint("check", "-", "--stdin-filename", "app/views.py", "--format", "sarif", input=LOST_UPDATE)
    (result,) = run.json()["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/views.py"


def test_sarif_with_no_findings_is_still_a_document(project, run_txlint):
    project.write("app.py", LOCKED_UPDATE)
    run = run_txlint("check", "--format", "sarif", ".")
    assert run.exit_code == 0
    assert run.json()["runs"][0]["results"] == []


def test_sarif_parse_error_region_is_1_based(project, run_txlint):
    project.write("broken.sql", "SELECT 'unterminated;\n")
    (result,) = _sarif(run_txlint, ".")["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert result["ruleId"] == "TX000"
    assert region["startLine"] >= 1 and region["startColumn"] >= 1


# -- github -----------------------------------------------------------------------------------

GITHUB_LINE = re.compile(r"::(error|warning|notice) (?P<props>[^:]*)::(?P<message>.*)")


def _props(line: str) -> dict[str, str]:
    match = GITHUB_LINE.fullmatch(line)
    assert match, line
    return dict(part.split("=", 1) for part in match["props"].split(","))


def test_github_annotation(project, run_txlint):
    project.write("app.py")
    run = run_txlint("check", "--format", "github", ".")
    assert run.exit_code == 1
    (line,) = run.stdout.splitlines()
    assert line.startswith(f"::error file=app.py,line={LOST_UPDATE_LINE},col={LOST_UPDATE_COLUMN},endLine=")
    props = _props(line)
    assert list(props) == ["file", "line", "col", "endLine", "endColumn", "title"]
    assert props["title"] == "TX101"
    assert int(props["endLine"]) == LOST_UPDATE_LINE
    assert int(props["endColumn"]) > LOST_UPDATE_COLUMN


@pytest.mark.parametrize(
    ("name", "escaped"),
    [
        ("a,b:c.py", "a%2Cb%3Ac.py"),
        ("100%.py", "100%25.py"),
        ("new\nline.py", "new%0Aline.py"),
        ("x,line=1,title=TX000::forged\n::error file=y.py", None),
    ],
)
def test_github_file_name_cannot_forge_a_command(project, run_txlint, name, escaped):
    try:
        project.write(name)
    except OSError as error:  # pragma: no cover - a file system that refuses the name
        pytest.skip(f"cannot create {name!r} here: {error}")
    run = run_txlint("check", "--format", "github", ".")
    assert run.exit_code == 1
    lines = run.stdout.splitlines()
    assert len(lines) == 1  # one finding, one command, nothing forged
    props = _props(lines[0])
    assert list(props) == ["file", "line", "col", "endLine", "endColumn", "title"]
    assert props["title"] == "TX101"
    if escaped is not None:
        assert props["file"] == escaped


def test_github_escapes_the_message():
    finding = _finding(message="100% lost\r\n::error file=evil.py::forged", path="a,b:c.py")
    output = github.render([finding])
    assert output.count("\n") == 1 and "\r" not in output
    props = _props(output.rstrip("\n"))
    assert props["file"] == "a%2Cb%3Ac.py"
    message = GITHUB_LINE.fullmatch(output.rstrip("\n"))["message"]  # type: ignore[index]
    assert "100%25 lost%0D%0A::error file=evil.py::forged" in message


@pytest.mark.parametrize(("severity", "command"), [(Severity.ERROR, "error"), (Severity.WARNING, "warning"), (Severity.INFO, "notice")])
def test_github_command_follows_severity(severity, command):
    assert github.render([_finding(severity=severity)]).startswith(f"::{command} file=app.py,")


def test_github_no_findings_prints_nothing(project, run_txlint):
    project.write("app.py", LOCKED_UPDATE)
    run = run_txlint("check", "--format", "github", ".")
    assert run.exit_code == 0
    assert run.stdout == ""


def test_github_related_are_not_separate_commands():
    finding = _finding(related=(Related("app.py", 5, 16, "read here"),))
    assert len(github.render([finding]).splitlines()) == 1


def test_github_message_keeps_the_related_notes_as_lines():
    finding = _finding(related=(Related("app.py", 5, 16, "read here"), Related("lib/other.py", 12, 1, "also written here")))
    message = GITHUB_LINE.fullmatch(github.render([finding]).rstrip("\n"))["message"]  # type: ignore[index]
    assert message == "[lost-update] lost%0Aread here at app.py:5%0Aalso written here at lib/other.py:12"


def test_github_related_notes_are_escaped_too():
    finding = _finding(related=(Related("50%\n::error file=x.py::forged.py", 5, 16, "read\r\nhere 100%"),))
    output = github.render([finding])
    assert output.count("\n") == 1 and "\r" not in output
    message = GITHUB_LINE.fullmatch(output.rstrip("\n"))["message"]  # type: ignore[index]
    assert message.endswith("%0Aread%0D%0Ahere 100%25 at 50%25%0A::error file=x.py::forged.py:5")


def test_github_related_notes_from_a_real_run(project, run_txlint):
    project.write("app.py")
    (line,) = run_txlint("check", "--format", "github", ".").stdout.splitlines()
    assert "%0A" in line and f" at app.py:{LOST_UPDATE_READ_LINE}" in line


# -- fingerprints -----------------------------------------------------------------------------


def _only(run_txlint) -> dict:
    (finding,) = run_txlint("check", "--format", "json", ".").json()
    return finding


def test_fingerprint_survives_unrelated_lines_above(project, run_txlint):
    project.write("app.py", LOST_UPDATE)
    before = _only(run_txlint)
    project.write("app.py", SHIFTED)
    after = _only(run_txlint)
    assert after["line"] == before["line"] + SHIFT  # the finding moved ...
    assert after["fingerprint"] == before["fingerprint"]  # ... and is still the same finding


def test_fingerprint_survives_reindentation_of_unrelated_code(project, run_txlint):
    project.write("app.py", LOST_UPDATE)
    before = _only(run_txlint)
    project.write("app.py", "# a comment\n" + LOST_UPDATE.replace("acct.save()", "acct.save( )"))
    assert _only(run_txlint)["fingerprint"] == before["fingerprint"]


def test_sarif_fingerprint_is_stable_too(project, run_txlint):
    project.write("app.py", LOST_UPDATE)
    (before,) = _sarif(run_txlint, ".")["runs"][0]["results"]
    project.write("app.py", SHIFTED)
    (after,) = _sarif(run_txlint, ".")["runs"][0]["results"]
    assert after["locations"][0]["physicalLocation"]["region"]["startLine"] == LOST_UPDATE_LINE + SHIFT
    assert after["partialFingerprints"] == before["partialFingerprints"]


def test_different_findings_have_different_fingerprints(project, run_txlint):
    project.write("app.py", TWO_FUNCTIONS)
    findings = run_txlint("check", "--format", "json", ".").json()
    assert [f["code"] for f in findings] == ["TX101", "TX101"]
    assert findings[0]["fingerprint"] != findings[1]["fingerprint"]


def test_the_same_code_in_two_files_has_different_fingerprints(project, run_txlint):
    project.write("a.py")
    project.write("b.py")
    findings = run_txlint("check", "--format", "json", ".").json()
    assert len({f["fingerprint"] for f in findings}) == 2


def test_fingerprint_does_not_depend_on_the_run(project, run_txlint, run_script):
    project.write("app.py")
    in_process = _only(run_txlint)
    script = run_script("check", "--format", "json", ".").json()[0]
    assert in_process["fingerprint"] == script["fingerprint"]
