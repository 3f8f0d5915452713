"""`--jobs`, the result cache and the project index: faster runs that find exactly the same."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import LOCKED_UPDATE, LOST_UPDATE, Project, Run
from txlint.core.config import Config
from txlint.core.registry import all_rules, enabled_codes
from txlint.engine import shard as shard_module
from txlint.engine.result_cache import FORMAT
from txlint.engine.run_memo import KEPT
from txlint.engine.runner import Engine, RunResult
from txlint.engine.shard import FileJob, Shard
from txlint.project.discovery import discover, display_path

HERE = Path(__file__).parent
CORPUS = HERE.parent.parent / "shared" / "corpus"
FIXTURES = HERE / "fixtures"

MODELS = "from django.db import models\nclass Product(models.Model):\n    views = models.IntegerField()\n    title = models.CharField()\n"
COUNTER = 'from django.db.models import F\nfrom shop.models import Product\ndef seen(pk):\n    Product.objects.filter(pk=pk).update(views=F("views") + 1)\n'
RETITLE = "from shop.models import Product\ndef retitle(pk, title):\n    p = Product.objects.get(pk=pk)\n    p.title = title\n    p.save()\n"
UNRELATED = "def pay(pk, amount):\n    w = Wallet.objects.get(pk=pk)\n    w.balance -= amount\n    w.save()\n"


def _folders() -> list[Path]:
    return [folder for folder in (FIXTURES, CORPUS) if folder.is_dir()]


def _run(folder: Path, **options: object) -> RunResult:
    found = discover([folder], folder, ())
    engine = Engine(Config(root=folder), enabled_codes(None, (), ()), **options)  # type: ignore[arg-type]
    return engine.check_files(found.files, [display_path(p) for p in found.files])


@pytest.mark.parametrize("folder", _folders(), ids=lambda p: p.name)
def test_two_processes_find_exactly_what_one_finds(folder: Path) -> None:
    one, two = _run(folder, jobs=1), _run(folder, jobs=2)
    assert two.processes == 2, "the run must really have been split"
    assert one.findings, "a folder of labelled bugs has findings"
    assert [f.to_dict() for f in two.findings] == [f.to_dict() for f in one.findings]
    assert two.notices == one.notices
    assert two.files_checked == one.files_checked


def test_jobs_2_equals_jobs_1_on_the_command_line(project: Project, run_txlint: Callable[..., Run]) -> None:
    # A copy: this repository's own configuration excludes tests/fixtures from its checks.
    shutil.copytree(CORPUS if CORPUS.is_dir() else FIXTURES, project.root / "labelled")
    one = run_txlint("check", "--format", "json", "--no-cache", "--jobs", "1", "labelled")
    two = run_txlint("check", "--format", "json", "--no-cache", "--jobs", "2", "labelled")
    assert one.exit_code == two.exit_code == 1
    assert two.json() == one.json()


def _shop(project: Project) -> dict[str, Path]:
    return {
        "models": project.write("shop/models.py", MODELS),
        "counters": project.write("shop/counters.py", COUNTER),
        "views": project.write("shop/views.py", RETITLE),
        "wallet": project.write("wallet/views.py", UNRELATED),
    }


def _cached_run(project: Project, cache: Path, jobs: int = 1) -> RunResult:
    return _run(project.root, jobs=jobs, cache_folder=cache)


def _codes(result: RunResult) -> list[tuple[str, str]]:
    return [(f.code, Path(f.path).name) for f in result.findings]


def test_a_warm_run_reanalyses_nothing_and_finds_the_same(project: Project, tmp_path: Path) -> None:
    _shop(project)
    cache = tmp_path / "cache"
    cold = _cached_run(project, cache)
    assert cold.files_analysed == 4
    warm = _cached_run(project, cache)
    assert warm.files_analysed == 0
    assert [f.to_dict() for f in warm.findings] == [f.to_dict() for f in cold.findings]
    assert sorted((f.code, f.path) for f in warm.findings) == [("TX101", "wallet/views.py"), ("TX111", "shop/views.py")]


def test_a_warm_run_with_processes_reanalyses_nothing(project: Project, tmp_path: Path) -> None:
    for n in range(8):
        project.write(f"app{n}/views.py", LOST_UPDATE if n % 2 else LOCKED_UPDATE)
    cache = tmp_path / "cache"
    cold = _cached_run(project, cache, jobs=2)
    warm = _cached_run(project, cache, jobs=2)
    assert (cold.processes, cold.files_analysed, warm.files_analysed) == (2, 8, 0)
    assert warm.findings == cold.findings and len(warm.findings) == 4


def test_an_edit_reanalyses_that_file_only(project: Project, tmp_path: Path) -> None:
    files = _shop(project)
    cache = tmp_path / "cache"
    _cached_run(project, cache)
    files["wallet"].write_text(UNRELATED.replace("w.balance -= amount", "w.balance -= amount  # still racy"))
    again = _cached_run(project, cache)
    assert again.files_analysed == 1
    assert ("TX101", "views.py") in _codes(again)


def test_an_index_fact_changed_in_one_file_reanalyses_the_files_that_asked(project: Project, tmp_path: Path) -> None:
    """Dropping the atomic counter makes the full save safe: the saving file must be judged again."""
    files = _shop(project)
    cache = tmp_path / "cache"
    assert ("TX111", "views.py") in _codes(_cached_run(project, cache))
    files["counters"].write_text(COUNTER.replace('F("views") + 1', "0"))
    again = _cached_run(project, cache)
    assert ("TX111", "views.py") not in _codes(again)
    # counters.py changed; shop/views.py asked who updates `product` atomically; wallet/views.py asked nothing that changed.
    assert again.files_analysed == 2


def test_a_corrupt_cache_entry_is_a_miss(project: Project, tmp_path: Path) -> None:
    _shop(project)
    cache = tmp_path / "cache"
    cold = _cached_run(project, cache)
    for entry in (cache / f"v{FORMAT}").rglob("*.json"):
        entry.write_text(f'{{"format": {FORMAT}, "decls": "not a list"')
    again = _cached_run(project, cache)
    assert again.files_analysed == 4
    assert again.findings == cold.findings


def test_the_cache_folder_is_tagged_and_ignores_itself(project: Project, run_txlint: Callable[..., Run]) -> None:
    project.config("")
    project.write("app.py")
    assert run_txlint("check", ".").exit_code == 1
    folder = project.root / ".txlint_cache"
    assert (folder / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    assert list((folder / f"v{FORMAT}").rglob("*.json"))


def test_no_cache_writes_no_folder_and_cache_dir_moves_it(project: Project, run_txlint: Callable[..., Run], tmp_path: Path) -> None:
    project.config("")
    project.write("app.py")
    assert run_txlint("check", "--no-cache", ".").exit_code == 1
    assert not (project.root / ".txlint_cache").exists()
    elsewhere = tmp_path / "elsewhere"
    assert run_txlint("check", "--cache-dir", str(elsewhere), ".").exit_code == 1
    assert (elsewhere / "CACHEDIR.TAG").is_file()
    assert not (project.root / ".txlint_cache").exists()


def test_an_unwritable_cache_folder_does_not_stop_the_run(project: Project, run_txlint: Callable[..., Run]) -> None:
    project.write("app.py")
    blocker = project.write("not-a-folder", "a file where the cache folder would go")
    run = run_txlint("check", "--format", "json", "--cache-dir", str(blocker / "cache"), ".")
    assert run.exit_code == 1
    assert [f[0] for f in run.findings()] == ["TX101"]


def test_a_cache_entry_is_data_never_code(project: Project, tmp_path: Path) -> None:
    """A cache folder committed by someone else can at worst be a miss: entries are JSON, read strictly."""
    project.write("app.py")
    cache = tmp_path / "cache"
    _cached_run(project, cache)
    (entry,) = [p for p in (cache / f"v{FORMAT}").rglob("*.json") if p.parent.name != "runs"]
    document = json.loads(entry.read_text())
    document["findings"][0]["severity"] = {"__reduce__": "os.system"}
    entry.write_text(json.dumps(document))
    (memo,) = (cache / f"v{FORMAT}" / "runs").glob("*.json")
    memo.unlink()  # the run memo would answer first (see below)
    again = _cached_run(project, cache)
    assert again.files_analysed == 1
    assert [f.code for f in again.findings] == ["TX101"]
    # A memo of a whole run is data too: a value of the wrong shape makes it a miss.
    (memo,) = (cache / f"v{FORMAT}" / "runs").glob("*.json")
    document = json.loads(memo.read_text())
    document["findings"][0]["severity"] = {"__reduce__": "os.system"}
    memo.write_text(json.dumps(document))
    assert [f.code for f in _cached_run(project, cache).findings] == ["TX101"]


def test_an_unchanged_tree_is_answered_by_the_memo_of_the_run_before(project: Project, tmp_path: Path) -> None:
    _shop(project)
    cache = tmp_path / "cache"
    cold = _cached_run(project, cache)
    for entry in (cache / f"v{FORMAT}").rglob("*.json"):
        if entry.parent.name != "runs":
            entry.unlink()  # not one file's entry is read back
    warm = _cached_run(project, cache)
    assert warm.files_analysed == 0
    assert [f.to_dict() for f in warm.findings] == [f.to_dict() for f in cold.findings]
    assert warm.files_checked == cold.files_checked == 4


def test_a_memo_is_for_the_same_files_reported_the_same_way(project: Project, tmp_path: Path) -> None:
    """The pre-commit hook reports a few files and reads the rest for the index: another run."""
    _shop(project)
    cache = tmp_path / "cache"
    found = discover([project.root], project.root, ())
    shown = [display_path(p) for p in found.files]
    engine = Engine(Config(root=project.root), frozenset(all_rules()), cache_folder=cache)
    everything = engine.check_files(found.files, shown)
    only_shop = engine.check_files(found.files, shown, [name.endswith("shop/views.py") for name in shown])
    assert {Path(f.path).parent.name for f in everything.findings} == {"shop", "wallet"}
    assert {Path(f.path).parent.name for f in only_shop.findings} == {"shop"}
    assert only_shop.files_checked == 1


def test_a_run_that_lost_a_file_to_an_internal_error_is_not_memoised(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _shop(project)
    real = Shard._analyse

    def fail_on_wallet(self: Shard, item: object) -> None:
        if item.job.display.endswith("wallet/views.py"):  # type: ignore[attr-defined]
            raise RuntimeError("a bug of ours")
        real(self, item)  # type: ignore[arg-type]

    monkeypatch.setattr(Shard, "_analyse", fail_on_wallet)
    cache = tmp_path / "cache"
    first = _cached_run(project, cache)
    assert any("internal error" in n.reason for n in first.notices)
    assert not list((cache / f"v{FORMAT}" / "runs").glob("*.json"))
    monkeypatch.setattr(Shard, "_analyse", real)
    assert ("TX101", "views.py") in _codes(_cached_run(project, cache))  # the bug fixed: the file is analysed


def test_only_the_last_memos_are_kept(project: Project, tmp_path: Path) -> None:
    project.write("app.py")
    cache = tmp_path / "cache"
    for n in range(KEPT + 3):
        project.write("notes.py", f"NOTE = {n}\n")
        _cached_run(project, cache)
    assert len(list((cache / f"v{FORMAT}" / "runs").glob("*.json"))) == KEPT


def test_named_files_are_judged_against_the_whole_project(project: Project, run_txlint: Callable[..., Run]) -> None:
    """What the pre-commit hook does: pass one file; the index still comes from the project root."""
    project.config("")
    _shop(project)
    run = run_txlint("check", "--format", "json", "shop/views.py")
    # wallet/views.py has a TX101 of its own: not named, so not reported.
    assert run.findings() == [("TX111", "shop/views.py", 5)]
    alone = run_txlint("check", "--format", "json", "--no-project-index", "shop/views.py")
    assert "TX111" not in alone.codes()


def test_stdin_is_judged_against_the_project_too(project: Project, run_txlint: Callable[..., Run]) -> None:
    project.config("")
    _shop(project)
    run = run_txlint("check", "--format", "json", "--stdin-filename", "shop/views.py", "-", input=RETITLE)
    assert "TX111" in run.codes()
    assert {path for _, path, _ in run.findings()} == {"shop/views.py"}


def test_a_worker_that_dies_costs_only_its_own_files(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(8):
        project.write(f"app{n}.py", LOST_UPDATE)
    real = Shard._parse

    def crash_on_app3(self: Shard, item: object) -> object:
        if item.job.display.endswith("app3.py"):
            os._exit(3)  # a crash in native code, as the parent sees it
        return real(self, item)  # type: ignore[arg-type]

    monkeypatch.setattr(Shard, "_parse", crash_on_app3)
    result = _run(project.root, jobs=2)
    assert result.processes == 2
    lost = {Path(n.path).name for n in result.notices if "ended unexpectedly" in n.reason}
    assert "app3.py" in lost and len(lost) < 8
    assert {Path(f.path).name for f in result.findings} == {f"app{n}.py" for n in range(8)} - lost


def test_rule_selection_is_part_of_the_cache_key(project: Project, tmp_path: Path) -> None:
    project.write("app.py")
    cache = tmp_path / "cache"
    found = discover([project.root], project.root, ())
    shown = [display_path(p) for p in found.files]
    everything = Engine(Config(root=project.root), frozenset(all_rules()), cache_folder=cache).check_files(found.files, shown)
    only_tx2 = Engine(Config(root=project.root), enabled_codes(("TX2",), (), ()), cache_folder=cache).check_files(found.files, shown)
    assert [f.code for f in everything.findings] == ["TX101"]
    assert only_tx2.findings == []


HELPER = "from shop.models import Product\ndef product_for(pk):\n    return Product.objects.get(pk=pk)\n"
CALLER = (
    "from django.db import transaction\n"
    "from shop.helpers import product_for\n"
    "def bump(pk):\n"
    "    with transaction.atomic():\n"
    "        p = product_for(pk)\n"
    "        p.views += 1\n"
    "        p.save(update_fields=['views'])\n"
)
CALLERS_CALLER = "from shop.bump import bump\ndef bump_twice(pk):\n    bump(pk)\n    bump(pk)\n"


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_changed_helper_reanalyses_its_callers_and_only_them(project: Project, tmp_path: Path, jobs: int) -> None:
    """A helper's summary is what its callers read: locking in the helper fixes the caller's
    lost update, and only the helper and the file that calls it are analysed again."""
    files = _shop(project)
    helper = project.write("shop/helpers.py", HELPER)
    project.write("shop/bump.py", CALLER)
    project.write("shop/twice.py", CALLERS_CALLER)
    cache = tmp_path / "cache"
    assert ("TX101", "bump.py") in _codes(_cached_run(project, cache, jobs))
    assert _cached_run(project, cache, jobs).files_analysed == 0
    helper.write_text(HELPER.replace("Product.objects.get", "Product.objects.select_for_update().get"))
    again = _cached_run(project, cache, jobs)
    assert ("TX101", "bump.py") not in _codes(again)
    assert again.files_analysed == 2  # helpers.py changed; bump.py asked for its summary; nothing else did
    assert ("TX101", "views.py") in _codes(again) and files["wallet"].exists()  # served from the cache, still reported


@pytest.mark.parametrize("budget", [0, shard_module.TREE_BUDGET])
def test_trees_past_the_budget_are_let_go_and_findings_still_placed(project: Project, monkeypatch: pytest.MonkeyPatch, budget: int) -> None:
    """A large project's trees are never all in memory: past the budget each is parsed to be
    analysed and let go, and a file with findings is parsed again for their positions."""
    monkeypatch.setattr(shard_module, "TREE_BUDGET", budget)
    _shop(project)
    found = discover([project.root], project.root, ())
    shard = Shard(Config(root=project.root), frozenset(all_rules()), None)
    jobs = [FileJob(n, display_path(p), file=p) for n, p in enumerate(found.files)]
    facts = shard.summarise(jobs)
    decls = [d for _, found_decls, _, _ in facts for d in found_decls]
    symbols = [s for _, _, _, found_symbols in facts for s in found_symbols]
    shard.writers(decls, [], symbols)
    held = [item for item in shard.files if item.parsed is not None and item.parsed.python is not None]
    assert (len(held) == 0) == (budget == 0)
    outcomes = shard.judge([], shard.call_sites())
    findings = sorted((f.code, Path(f.path).name, f.line) for outcome in outcomes for f in outcome.findings)
    assert ("TX101", "views.py", 4) in findings  # `w.save()`, placed either way
    assert all(item.parsed is None or item.parsed.python is None for item in shard.files)  # judged: let go


IN_MEMORY_LOCKS = (
    "HELD = set()\n"
    "def acquire_lock(name, timeout):\n"
    "    if name in HELD:\n"
    "        return False\n"
    "    HELD.add(name)\n"
    "    return True\n"
    "def release_lock(name):\n"
    "    HELD.discard(name)\n"
)
REDIS_LOCKS = (
    "import redis\n"
    "client = redis.Redis()\n"
    "def acquire_lock(name, timeout):\n"
    "    if client.setnx(name, '1'):\n"
    "        client.expire(name, timeout)\n"
    "        return True\n"
    "    return False\n"
    "def release_lock(name):\n"
    "    client.delete(name)\n"
)
# Nothing in it names a database or cache: its lock is taken and released through the helpers only.
CANCEL = (
    "from shop.locks import acquire_lock, release_lock\n"
    "def cancel_order(order_id):\n"
    "    name = f'lock:cancel:{order_id}'\n"
    "    if acquire_lock(name, 10):\n"
    "        do_cancel(order_id)\n"
    "        release_lock(name)\n"
    "def do_cancel(order_id):\n"
    "    return order_id\n"
)


def test_a_cached_caller_is_judged_again_when_a_helper_it_names_starts_to_do_something(project: Project, tmp_path: Path) -> None:
    """The caller's function was never interpreted (nothing in it operated); once the helper takes
    a Redis lock, a warm run finds in the caller what a cold run finds."""
    project.write("shop/__init__.py", "")
    locks = project.write("shop/locks.py", IN_MEMORY_LOCKS)
    project.write("shop/orders.py", CANCEL)
    cache = tmp_path / "cache"
    assert _cached_run(project, cache).findings == []
    locks.write_text(REDIS_LOCKS)
    warm = _cached_run(project, cache)
    cold = _run(project.root)
    assert ("TX204", "orders.py") in _codes(cold)
    assert [f.to_dict() for f in warm.findings] == [f.to_dict() for f in cold.findings]
    # And back: the helper no longer locks anything, the caller's finding goes.
    locks.write_text(IN_MEMORY_LOCKS)
    assert _cached_run(project, cache).findings == []


def test_a_summary_with_values_read_from_rows_survives_the_cache() -> None:
    """A helper's returned query filtered on values its rows hold (a set of dependencies, a guard's
    operator): storing one once failed and turned the cache off for the rest of the run, reading one
    back failed and made every such file a miss."""
    from txlint.core.ir import Dependency, Guard, RowOrigin, RowRef, Value, ValueKind
    from txlint.core.summaries import FunctionSummary, Returned, ReturnedKind
    from txlint.engine.result_cache import Entry

    row = RowRef(RowOrigin.READ, 0, "p")
    value = Value(ValueKind.DERIVED, frozenset({Dependency(row, "title"), Dependency(row, "owner")}))
    returned = Returned(ReturnedKind.QUERY, "Product", api="django", guards=(Guard("title", "=", value), Guard("stock", ">=", Value(ValueKind.INDEPENDENT))))
    entry = Entry(writers=[], summaries=[FunctionSummary("shop.queries.same_title", returns=returned)], words=("same_title",))
    stored = json.loads(json.dumps(entry.to_json()))
    assert Entry.from_json(stored) == entry
    assert json.dumps(entry.to_json()) == json.dumps(Entry.from_json(stored).to_json())  # the same bytes: the memo hashes them


@pytest.mark.parametrize("folder", _folders(), ids=lambda p: p.name)
def test_every_file_of_a_warm_run_is_served_by_its_entry(folder: Path, tmp_path: Path) -> None:
    """Every analysis a run makes can be stored: the second run, without the memo, analyses nothing."""
    cold = _run(folder, cache_folder=tmp_path)
    shutil.rmtree(tmp_path / f"v{FORMAT}" / "runs")
    warm = _run(folder, cache_folder=tmp_path)
    assert cold.files_analysed > 0
    assert warm.files_analysed == 0
    assert warm.findings == cold.findings


def test_a_fact_the_cache_cannot_hold_costs_only_that_file(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One entry that cannot be written leaves the cache on for every other file."""
    from txlint.engine.result_cache import Entry

    _shop(project)
    stored = Entry.to_json

    def refuse_one(entry: Entry) -> dict[str, object]:
        if any(s.name.endswith("retitle") for s in entry.summaries):
            raise TypeError("cannot store a frozenset")
        return stored(entry)

    monkeypatch.setattr(Entry, "to_json", refuse_one)
    cache = tmp_path / "cache"
    _cached_run(project, cache)
    shutil.rmtree(cache / f"v{FORMAT}" / "runs")
    assert _cached_run(project, cache).files_analysed == 1


def test_an_editor_buffer_after_a_full_check_analyses_only_itself(project: Project, tmp_path: Path) -> None:
    """`txlint check .`, then the same project through stdin with one file edited (an editor's
    buffer): every other file is served by the entries the full check stored, tests included, and
    the full check after it is still warm (an index-only read does not overwrite a judged entry)."""
    from txlint.project.layout import index_companions
    from txlint.project.settings import discover as settings_of

    project.write(".git/HEAD", "ref: refs/heads/main\n")  # a work tree, no configuration file
    _shop(project)
    project.write("shop/helpers.py", "from shop.models import Product\ndef load(pk):\n    return Product.objects.get(pk=pk)\n")
    project.write("tests/test_shop.py", "from shop.helpers import load\ndef test_load():\n    assert load(1)\n")
    cache = tmp_path / "cache"
    full = _cached_run(project, cache)
    edited = Path("shop/views.py")
    config = settings_of(edited)
    assert config.root == project.root  # the work tree, as for `check .`: the same modules, the same cache
    companions = index_companions((str(edited),), [edited], config)
    engine = Engine(config, enabled_codes(None, (), ()), cache_folder=cache)
    buffer = engine.check_text(str(edited), (RETITLE + "# edited\n").encode(), companions.files, companions.display)
    assert buffer.files_analysed == 1
    assert [f.code for f in buffer.findings] == [f.code for f in full.findings if f.path == "shop/views.py"]
    shutil.rmtree(cache / f"v{FORMAT}" / "runs")
    assert _cached_run(project, cache).files_analysed == 0


def test_stdin_judges_the_project_s_other_files_as_a_full_check_does(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests and migrations read beside an editor's buffer are not judged (clarification 23), as in
    `txlint check .`: judged, they would leave summaries and findings a full check does not."""
    project.write("app/views.py", LOST_UPDATE)
    project.write("tests/test_views.py", LOST_UPDATE)
    files = [project.root / "app/views.py", project.root / "tests/test_views.py"]
    engine = Engine(Config(root=project.root), enabled_codes(None, (), ()))
    seen: list[list[FileJob]] = []
    monkeypatch.setattr(Engine, "_run", lambda self, jobs: seen.append(jobs) or RunResult())
    engine.check_files(files, ["app/views.py", "tests/test_views.py"])
    engine.check_text("app/views.py", LOST_UPDATE.encode(), files[1:], ["tests/test_views.py"])
    full, buffer = seen
    assert [job.judged for job in full] == [True, False]
    assert [job.judged for job in buffer] == [True, False]
