"""Fixes: proposed per rule, shown in JSON/SARIF and as a diff, applied only when they hold."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from conftest import Project, Run

MODELS = (
    "from django.db import models\nfrom django.db.models import F\n"
    "class Account(models.Model):\n    balance = models.IntegerField()\n    flag = models.BooleanField()\n"
    "class Product(models.Model):\n    title = models.CharField()\n    views = models.IntegerField()\n"
    "def seen(pk):\n    Product.objects.filter(pk=pk).update(views=F('views') + 1)\n"
)
LOCKS = """\
import redis
r = redis.Redis()

def cancel(order_id):
    key = f'lock:order:{order_id}'
    if not r.setnx(key, '1'):
        return False
    r.expire(key, 10)
    return True

def claim(job_id):
    if r.set(f'job:{job_id}', 1, nx=True):
        r.pexpire(f'job:{job_id}', 30000)
        run(job_id)

def forever(job_id):
    if r.setnx(f'job:{job_id}', 1):
        run(job_id)
"""
VIEWS = """\
from django.db import transaction
from shop.models import Account, Product

def withdraw(account_id, amount):
    with transaction.atomic():
        acct = Account.objects.get(pk=account_id)
        acct.balance -= amount
        acct.save()

def lock_only(ids):
    with transaction.atomic():
        Account.objects.select_for_update().filter(id__in=ids)
        Account.objects.filter(id__in=ids).update(flag=True)

def rename(pk, title):
    p = Product.objects.get(pk=pk)
    p.title = title
    p.save()
"""


@pytest.fixture
def shop(project: Project) -> Project:
    project.write(".git/HEAD", "ref: refs/heads/main\n")  # a work tree: the project's other files feed the index
    project.write("shop/__init__.py", "")
    project.write("shop/models.py", MODELS)
    project.write("shop/locks.py", LOCKS)
    project.write("shop/views.py", VIEWS)
    return project


def _codes(run: Run) -> list[tuple[str, int]]:
    return sorted((f["code"], f["line"]) for f in json.loads(run.stdout))


def test_json_and_sarif_carry_each_fix_with_its_safety(shop: Project, run_txlint: Callable[..., Run]) -> None:
    findings = json.loads(run_txlint("check", "--no-cache", "--format", "json", "shop").stdout)
    fixes = {(f["code"], f["line"]): f["fix"] for f in findings}
    assert fixes[("TX201", 6)]["applicability"] == "safe"
    assert fixes[("TX201", 6)]["edits"][0]["content"] == "r.set(key, '1', nx=True, ex=10)"
    assert fixes[("TX202", 17)]["applicability"] == "unsafe"
    assert fixes[("TX101", 8)]["applicability"] == "unsafe"
    assert fixes[("TX110", 12)]["applicability"] == "safe"
    assert fixes[("TX111", 18)]["applicability"] == "unsafe"
    sarif = json.loads(run_txlint("check", "--no-cache", "--format", "sarif", "shop").stdout)
    results = sarif["runs"][0]["results"]
    take = next(r for r in results if r["ruleId"] == "TX201")
    [change] = take["fixes"][0]["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "shop/locks.py"
    assert {r["insertedContent"]["text"] for r in change["replacements"]} == {"r.set(key, '1', nx=True, ex=10)", ""}
    assert "unsafe" in next(r for r in results if r["ruleId"] == "TX101")["fixes"][0]["description"]["text"]


def test_diff_previews_the_safe_fixes_and_changes_nothing(shop: Project, run_txlint: Callable[..., Run]) -> None:
    before = (shop.root / "shop/locks.py").read_text()
    run = run_txlint("check", "--no-cache", "--diff", "shop")
    assert run.exit_code == 1
    assert "-    r.expire(key, 10)\n" in run.stdout and "+    if not r.set(key, '1', nx=True, ex=10):\n" in run.stdout
    assert "+    if r.set(f'job:{job_id}', 1, nx=True, px=30000):\n" in run.stdout
    assert "+        list(Account.objects.select_for_update().filter(id__in=ids))\n" in run.stdout
    assert "select_for_update().get" not in run.stdout  # unsafe: not without --unsafe-fixes
    assert (shop.root / "shop/locks.py").read_text() == before


def test_fix_applies_safe_fixes_and_the_file_re_analyses_clean(shop: Project, run_txlint: Callable[..., Run]) -> None:
    run = run_txlint("check", "--no-cache", "--fix", "--show-fixes", "--format", "json", "shop")
    assert _codes(run) == [("TX101", 8), ("TX111", 18), ("TX202", 15)]  # the unsafe ones remain, reported where they are now
    assert "Fixed 3 findings:" in run.stderr and "2 x TX201 (non-atomic-lock-acquire)" in run.stderr
    locks = (shop.root / "shop/locks.py").read_text()
    assert "r.expire(" not in locks and "r.pexpire(" not in locks
    again = run_txlint("check", "--no-cache", "--format", "json", "shop")
    assert _codes(again) == [("TX101", 8), ("TX111", 18), ("TX202", 15)]


def test_unsafe_fixes_repair_everything_here(shop: Project, run_txlint: Callable[..., Run]) -> None:
    run = run_txlint("check", "--no-cache", "--fix", "--unsafe-fixes", "shop")
    assert run.exit_code == 0, run.stdout + run.stderr
    views = (shop.root / "shop/views.py").read_text()
    assert "Account.objects.select_for_update().get(pk=account_id)" in views
    assert "p.save(update_fields=['title'])" in views
    assert "nx=True, ex=60" in (shop.root / "shop/locks.py").read_text()
    assert run_txlint("check", "--no-cache", "shop").exit_code == 0


def test_a_fix_that_would_leave_another_finding_is_not_applied(project: Project, run_txlint: Callable[..., Run]) -> None:
    """Django refuses `select_for_update()` outside a transaction: no lock is proposed there."""
    project.write("shop/__init__.py", "")
    project.write("shop/models.py", MODELS)
    code = "from shop.models import Account\ndef pay(pk, amount):\n    a = Account.objects.get(pk=pk)\n    a.balance -= amount\n    a.save()\n"
    path = project.write("shop/pay.py", code)
    run = run_txlint("check", "--no-cache", "--fix", "--unsafe-fixes", "shop")
    assert path.read_text() == code
    assert run.exit_code == 1 and "Fixed 0 findings." in run.stderr


@pytest.mark.parametrize(
    "code",
    [
        # The expiry repairs an old key when the take failed: not what `set(nx, ex)` does.
        "import redis\nr = redis.Redis()\ndef claim(j):\n    if r.setnx(j, 1):\n        run(j)\n    else:\n        r.expire(j, 60)\n",
        # Something runs between the take and the expiry.
        "import redis\nr = redis.Redis()\ndef claim(j):\n    r.setnx(j, 1)\n    log(j)\n    r.expire(j, 60)\n",
        # The expiry's TTL is not a plain argument.
        "import redis\nr = redis.Redis()\ndef claim(j):\n    r.setnx(j, 1)\n    r.expire(j, time=60)\n",
    ],
)
def test_tx201_near_misses_offer_no_fix(project: Project, run_txlint: Callable[..., Run], code: str) -> None:
    project.write("locks.py", code)
    findings = json.loads(run_txlint("check", "--no-cache", "--format", "json", "locks.py").stdout)
    assert [f["code"] for f in findings] == ["TX201"]
    assert findings[0]["fix"] is None


def test_crlf_files_keep_their_line_endings(project: Project, run_txlint: Callable[..., Run]) -> None:
    code = "import redis\nr = redis.Redis()\ndef claim(j):\n    if r.setnx(j, 1):\n        r.expire(j, 60)\n    return True\n"
    path = project.write("locks.py", code.replace("\n", "\r\n").encode())
    run = run_txlint("check", "--no-cache", "--fix", "locks.py")
    assert run.exit_code == 0, run.stderr
    data = path.read_bytes()
    assert b"r.set(j, 1, nx=True, ex=60):\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert b"pass" in data  # the expiry was the block's only statement


def test_fix_refuses_stdin(project: Project, run_txlint: Callable[..., Run]) -> None:
    run = run_txlint("check", "--fix", "-", "--stdin-filename", "x.py", input="x = 1\n")
    assert run.exit_code == 2 and "cannot read the source from stdin" in run.stderr and not run.stdout


@pytest.mark.parametrize(
    "code",
    [
        # The answer is compared: `set(nx=True)` answers None where `setnx` answered False.
        "import redis\nr = redis.Redis()\ndef claim(j):\n    if r.setnx(j, 1) == 0:\n        return False\n    r.expire(j, 60)\n    return True\n",
        # The answer is kept and returned.
        "import redis\nr = redis.Redis()\ndef claim(j):\n    got = r.setnx(j, 1)\n    r.expire(j, 60)\n    return got\n",
        # A take over several lines: rewritten it would lose its indentation.
        "import redis\nr = redis.Redis()\ndef claim(j):\n    if r.setnx(\n        j, 1\n    ):\n        r.expire(j, 60)\n",
        # A comment on the expiry's line would be lost with it.
        "import redis\nr = redis.Redis()\ndef claim(j):\n    if r.setnx(j, 1):\n        r.expire(j, 60)  # keep this note\n        run(j)\n",
    ],
)
def test_tx201_takes_whose_answer_is_used_get_no_fix(project: Project, run_txlint: Callable[..., Run], code: str) -> None:
    project.write("locks.py", code)
    findings = json.loads(run_txlint("check", "--no-cache", "--format", "json", "locks.py").stdout)
    assert [f["code"] for f in findings] == ["TX201"] and findings[0]["fix"] is None


def test_sqlalchemy_reads_are_locked_where_the_query_is_made(project: Project, run_txlint: Callable[..., Run]) -> None:
    project.write(
        "models.py",
        "from sqlalchemy import Integer\nfrom sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n"
        "class Base(DeclarativeBase):\n    pass\n"
        "class Account(Base):\n    __tablename__ = 'accounts'\n    id: Mapped[int] = mapped_column(Integer, primary_key=True)\n"
        "    balance: Mapped[int] = mapped_column(Integer)\n",
    )
    project.write(
        "pay.py",
        "from sqlalchemy import select\nfrom sqlalchemy.orm import Session\nfrom models import Account\n"
        "def legacy(session: Session, pk, amount):\n    acct = session.query(Account).filter(Account.id == pk).one()\n    acct.balance -= amount\n    session.commit()\n"
        "def modern(session: Session, pk, amount):\n    acct = session.execute(select(Account).where(Account.id == pk)).scalar_one()\n    acct.balance -= amount\n    session.commit()\n"
        "def by_key(session: Session, pk, amount):\n    acct = session.get(Account, pk)\n    acct.balance -= amount\n    session.commit()\n",
    )
    run = run_txlint("check", "--no-cache", "--diff", "--unsafe-fixes", "models.py", "pay.py")
    assert "+    acct = session.query(Account).with_for_update().filter(Account.id == pk).one()\n" in run.stdout
    assert "+    acct = session.execute(select(Account).where(Account.id == pk).with_for_update()).scalar_one()\n" in run.stdout
    assert "+    acct = session.get(Account, pk, with_for_update=True)\n" in run.stdout


def test_an_unevaluated_django_lock_outside_a_transaction_gets_no_fix(project: Project, run_txlint: Callable[..., Run]) -> None:
    """Evaluated outside `atomic()`, Django's `select_for_update()` raises: not a safe repair."""
    project.write("shop/__init__.py", "")
    project.write("shop/models.py", MODELS)
    project.write("shop/jobs.py", "from shop.models import Account\ndef lock_only(ids):\n    Account.objects.select_for_update().filter(id__in=ids)\n")
    findings = json.loads(run_txlint("check", "--no-cache", "--format", "json", "shop").stdout)
    assert [(f["code"], f["fix"]) for f in findings] == [("TX110", None)]


def test_update_fields_name_only_declared_fields(shop: Project, run_txlint: Callable[..., Run]) -> None:
    """`p._dirty = True` is no field: `save(update_fields=[..., '_dirty'])` would raise, so no fix."""
    views = shop.root / "shop/views.py"
    views.write_text(VIEWS.replace("    p.title = title\n", "    p.title = title\n    p._dirty = True\n"))
    findings = json.loads(run_txlint("check", "--no-cache", "--format", "json", "shop").stdout)
    [stale] = [f for f in findings if f["code"] == "TX111"]
    assert stale["fix"] is None
    views.write_text(VIEWS)
    findings = json.loads(run_txlint("check", "--format", "json", "shop").stdout)  # warm: the fix is cached with its finding
    [stale] = [f for f in findings if f["code"] == "TX111"]
    assert stale["fix"]["edits"][0]["content"] == "p.save(update_fields=['title'])"


def test_fix_with_a_baseline_fixes_the_new_findings(shop: Project, run_txlint: Callable[..., Run]) -> None:
    assert run_txlint("check", "--no-cache", "--write-baseline", "base.json", "shop").exit_code == 0
    shop.write("shop/more.py", "import redis\nr = redis.Redis()\ndef claim(j):\n    if r.setnx(j, 1):\n        r.expire(j, 60)\n        run(j)\n")
    run = run_txlint("check", "--no-cache", "--baseline", "base.json", "--fix", "shop")
    assert "Fixed 1 finding." in run.stderr, run.stderr
    assert run.exit_code == 0
    assert "nx=True, ex=60" in (shop.root / "shop/more.py").read_text()
    assert "r.expire(key, 10)" in (shop.root / "shop/locks.py").read_text()  # in the baseline: accepted, not fixed


def test_a_file_edited_during_the_run_is_not_fixed(shop: Project, run_txlint: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    """The findings' positions are of the text analysed: a file saved meanwhile is left alone."""
    import txlint.cli.main as main

    analyse = main._analyse

    def edited_meanwhile(*args: object, **kwargs: object) -> object:
        result = analyse(*args, **kwargs)  # type: ignore[arg-type]
        locks = shop.root / "shop/locks.py"
        locks.write_text(locks.read_text().replace("    r.expire(key, 10)\n", "    notify_owner(key)\n"))
        return result

    monkeypatch.setattr(main, "_analyse", edited_meanwhile)
    run = run_txlint("check", "--no-cache", "--fix", "shop")
    assert "shop/locks.py: fixes not applied: the file changed while txlint was running" in run.stderr
    assert "notify_owner(key)" in (shop.root / "shop/locks.py").read_text()


def test_the_diff_applies_with_git_even_without_a_final_newline(project: Project, run_txlint: Callable[..., Run]) -> None:
    import subprocess

    code = "import redis\nr = redis.Redis()\ndef claim(j):\n    if r.setnx(j, 1):\n        r.expire(j, 60)\n        run(j)"
    project.write("locks.py", code)
    diff = run_txlint("check", "--no-cache", "--diff", "locks.py").stdout
    assert "\\ No newline at end of file" in diff
    subprocess.run(["git", "init", "-q", "."], check=True, cwd=project.root)
    patched = subprocess.run(["git", "apply", "-"], input=diff, text=True, cwd=project.root, capture_output=True)
    assert patched.returncode == 0, patched.stderr
    assert (project.root / "locks.py").read_text().endswith("    if r.set(j, 1, nx=True, ex=60):\n        run(j)")


def test_fixes_that_fail_together_are_kept_one_by_one() -> None:
    """Three fixes: together they do not hold (a stand-in analysis says so), the first and the
    last do, each with those kept before it."""
    from txlint.core.ftypes import Applicability, Edit, Finding, Fix, Severity
    from txlint.fixes.apply import fix_text

    text = "a = 1\nb = 2\nc = 3\n"
    findings = [
        Finding("TX201", "x", Severity.ERROR, "m", "f.py", n, 1, n, 2, fix=Fix("f", Applicability.SAFE, (Edit(n, 5, n, 6, str(10 * n)),)))
        for n in (1, 2, 3)
    ]

    def recheck(candidate: str) -> list[Finding]:
        left = [f for f, line in zip(findings, candidate.split("\n"), strict=False) if not line.endswith("0")]
        return left + ([findings[0]] * 3 if "b = 20" in candidate else [])  # fixing `b` breaks something

    result = fix_text(text, findings, False, recheck)
    assert result.text == "a = 10\nb = 2\nc = 30\n"
    assert [f.line for f in result.fixed] == [1, 3]


DECREMENTS = """\
from django.db.models import F
from sqlalchemy import update
from models import Product, Wallet

def sell(pk, qty):
    Product.objects.filter(pk=pk).update(stock=F("stock") - qty)

def sell_counted(pk, qty):
    sold = Product.objects.filter(pk=pk).update(stock=F("stock") - qty)
    return sold

async def pay(session, wid, amount):
    await session.execute(update(Wallet).where(Wallet.id == wid).values(balance=Wallet.balance - amount))
    await session.commit()

def pay_later(session, wid, amount):
    stmt = (
        update(Wallet)
        .where(Wallet.id == wid)
        .values(balance=Wallet.balance - amount)
    )
    result = session.execute(stmt)
    session.commit()
"""
DECREMENT_MODELS = """\
from django.db import models
from sqlalchemy import Integer
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
class Product(models.Model):
    stock = models.IntegerField()
class Base(DeclarativeBase):
    pass
class Wallet(Base):
    __tablename__ = "wallets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    balance: Mapped[int] = mapped_column(Integer)
"""


def test_a_decrement_gets_its_bound_and_its_row_count_decides(project: Project, run_txlint: Callable[..., Run]) -> None:
    project.write("models.py", DECREMENT_MODELS)
    path = project.write("shop.py", DECREMENTS)
    before = {(f["code"], f["line"]) for f in json.loads(run_txlint("check", "--no-cache", "--format", "json", ".").stdout)}
    assert {line for code, line in before if code == "TX106"} == {6, 9, 13, 22}
    run = run_txlint("check", "--no-cache", "--fix", "--unsafe-fixes", "--show-fixes", ".")
    assert "4 x TX106 (unguarded-decrement)" in run.stderr, run.stderr
    fixed = path.read_text()
    assert "    if not Product.objects.filter(pk=pk, stock__gte=qty).update(stock=F(\"stock\") - qty):\n        raise ValueError('not enough stock')\n" in fixed
    assert "    sold = Product.objects.filter(pk=pk, stock__gte=qty).update(stock=F(\"stock\") - qty)\n    return sold\n" in fixed
    assert "    if (await session.execute(update(Wallet).where(Wallet.id == wid).where(Wallet.balance >= amount).values(balance=Wallet.balance - amount))).rowcount == 0:\n" in fixed
    assert "        .where(Wallet.id == wid)\n        .where(Wallet.balance >= amount)\n        .values(" in fixed
    assert "    result = session.execute(stmt)\n    if result.rowcount == 0:\n        raise ValueError('not enough balance')\n" in fixed
    after = json.loads(run_txlint("check", "--no-cache", "--format", "json", ".").stdout)
    assert not [f for f in after if f["code"] in {"TX106", "TX108", "TX000"}]
