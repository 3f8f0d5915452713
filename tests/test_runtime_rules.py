"""The rules judge the trace: what each rule declares it can be triggered by, the runtime-only
ops (a discarded transaction, a row count), op identity and runtime fingerprints.

The trace analyser knows no rule by code: it asks every enabled rule whether the op it just saw
can complete its pattern (`Rule.triggered_by`), hands the rule the unit of what led to it, and
places the rule's report at the statement the report names (`Report.subject`).
"""

from __future__ import annotations

import linecache
from pathlib import Path

import pytest

from txlint.core.config import Config
from txlint.core.ftypes import Span
from txlint.core.ir import Assignment, Commit, Discard, DiscardCause, Guard, Matched, ModuleIR, Read, Unit, Value, ValueKind, Write
from txlint.core.registry import all_rules, runtime_rules
from txlint.core.rule import RuleContext
from txlint.runtime import RUNTIME_CODES
from txlint.runtime.stack import Site
from txlint.runtime.trace import TraceAnalyser

CONTEXT = RuleContext(Config(), ModuleIR("<test>"))


def test_the_runtime_codes_are_the_rules_that_declare_triggers() -> None:
    assert tuple(runtime_rules()) == RUNTIME_CODES
    # TX102 needs the branch a decision took: no op of a trace can trigger it.
    assert "TX102" in all_rules() and not all_rules()["TX102"].triggers


def test_a_rule_without_triggers_is_never_judged_by_a_trace() -> None:
    analyser = TraceAnalyser("postgres", enabled=["TX102", "TX101"], sites=lambda: Site("app.py", 1))
    assert analyser.enabled == frozenset({"TX101"})


def write(ident: int, *, derived: bool = False, guards: tuple[Guard, ...] = ()) -> Write:
    value = Value(ValueKind.DERIVED if derived else ValueKind.INDEPENDENT, expression="90")
    return Write(Span.point(ident), 1, "accounts", (Assignment("balance", value, Span.point(ident)),), guards=guards, ident=ident)


def test_triggers_are_asked_of_the_op_alone() -> None:
    rules = all_rules()
    assert rules["TX101"].triggered_by(write(1, derived=True))
    assert not rules["TX101"].triggered_by(write(1))  # no value linked to a read: no lost update to find
    assert not rules["TX101"].triggered_by(Read(Span.point(1), 1, "accounts"))
    assert rules["TX104"].triggered_by(Discard(Span.point(2), 1, DiscardCause.CLOSED))
    assert rules["TX105"].triggered_by(Commit(Span.point(3), 1)) and rules["TX108"].triggered_by(Commit(Span.point(3), 1))


def test_tx104_words_a_discarded_transaction_itself_and_names_the_first_write() -> None:
    first = write(7)
    discard = Discard(Span.point(9), 1, DiscardCause.RELEASED, first_write=0, writes=3, ident=9)
    [report] = all_rules()["TX104"]().check(Unit("<trace>", Span.point(9), ops=[first, discard]), CONTEXT)
    assert report.subject is discard and "handed back with its transaction open" in report.message
    [related] = report.related
    assert related.subject is first and related.message == "first uncommitted write (3 in all)"


def test_tx108_sees_a_cas_that_matched_no_row_and_was_committed_anyway() -> None:
    cas = write(1, guards=(Guard("id", "=", Value(ValueKind.INDEPENDENT, expression="1")), Guard("balance", "=", Value(ValueKind.INDEPENDENT, expression="100"))))
    later = write(3)
    commit = Commit(Span.point(4), 1, ident=4)
    ops = [cas, Matched(Span.point(2), 1, write=0, rows=0, ident=2), later, commit]
    [report] = all_rules()["TX108"]().check(Unit("<trace>", Span.point(4), ops=ops), CONTEXT)
    assert report.subject is cas and "matched no row, and the transaction still went on to write and commit" in report.message
    assert [r.subject for r in report.related] == [later, commit]
    # Near misses: the CAS matched its row; or nothing was written after it.
    matched = [cas, Matched(Span.point(2), 1, write=0, rows=1, ident=2), later, commit]
    assert list(all_rules()["TX108"]().check(Unit("<trace>", Span.point(4), ops=matched), CONTEXT)) == []
    alone = [cas, Matched(Span.point(2), 1, write=0, rows=0, ident=2), commit]
    assert list(all_rules()["TX108"]().check(Unit("<trace>", Span.point(4), ops=alone), CONTEXT)) == []


def lost_update(analyser: TraceAnalyser, read_line: int, write_line: int, path: str) -> list:
    analyser.begin("c")
    analyser.execute("c", "SELECT id, balance FROM accounts WHERE id = %s", (1,), site=Site(path, read_line))
    return analyser.execute("c", "UPDATE accounts SET balance = %s WHERE id = %s", (90, 1), site=Site(path, write_line))


def test_a_runtime_finding_is_placed_by_the_op_it_names(tmp_path: Path) -> None:
    app = tmp_path / "shop.py"
    app.write_text("account = load()\naccount.balance -= 10\n", encoding="utf-8")
    analyser = TraceAnalyser("postgres", Config(root=tmp_path))
    [finding] = lost_update(analyser, 1, 2, str(app))
    assert (finding.code, finding.line) == ("TX101", 2)
    assert [r.line for r in finding.related] == [2, 1]  # the statement's SQL, then the read


def test_runtime_fingerprints_follow_the_line_text_not_its_number(tmp_path: Path) -> None:
    app = tmp_path / "shop.py"
    app.write_text("account = load()\naccount.balance -= 10\n", encoding="utf-8")
    [before] = lost_update(TraceAnalyser("postgres", Config(root=tmp_path)), 1, 2, str(app))
    app.write_text("# a comment moves everything down\n\naccount = load()\naccount.balance -= 10\n", encoding="utf-8")
    linecache.checkcache(str(app))
    [after] = lost_update(TraceAnalyser("postgres", Config(root=tmp_path)), 3, 4, str(app))
    assert after.line == 4 and after.fingerprint == before.fingerprint
    app.write_text("account = load()\naccount.balance = account.balance - 10\n", encoding="utf-8")
    linecache.checkcache(str(app))
    [edited] = lost_update(TraceAnalyser("postgres", Config(root=tmp_path)), 1, 2, str(app))
    assert edited.fingerprint != before.fingerprint


@pytest.mark.parametrize("cause", list(DiscardCause))
def test_a_discard_is_reported_through_the_rule(cause: DiscardCause) -> None:
    analyser = TraceAnalyser("postgres", sites=lambda: Site("app.py", 99))
    analyser.begin("c")
    analyser.execute("c", "UPDATE accounts SET balance = balance + %s WHERE id = %s", (5, 1), site=Site("app.py", 10))
    found = analyser.released("c", site=Site("app.py", 20)) if cause is DiscardCause.RELEASED else analyser.session_closed("c", site=Site("app.py", 20))
    [finding] = found
    assert (finding.code, finding.line) == ("TX104", 20)
    assert finding.related[0].line == 10 and finding.related[0].message.startswith("first uncommitted write (1 in all): UPDATE accounts")


def test_the_pytest_summary_keeps_apart_findings_on_alike_lines(tmp_path: Path) -> None:
    """Two lines of the same text share a runtime fingerprint (it follows the text); the summary
    still lists both, and one finding hit by two tests once."""
    from txlint.runtime.pytest_summary import FindingTally, to_wire

    app = tmp_path / "shop.py"
    app.write_text("account.balance -= 10\naccount.balance -= 10\n", encoding="utf-8")
    first = lost_update(TraceAnalyser("postgres", Config(root=tmp_path)), 2, 1, str(app))
    second = lost_update(TraceAnalyser("postgres", Config(root=tmp_path)), 1, 2, str(app))
    assert first[0].fingerprint == second[0].fingerprint
    tally = FindingTally()
    tally.add("test_a", "call", to_wire(first))
    tally.add("test_b", "call", to_wire(first + second))
    assert len(tally) == 2
