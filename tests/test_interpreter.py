"""The abstract interpreter over the control-flow graph: what reaches the IR at joins, loops, exits and `with` blocks."""

from __future__ import annotations

from textwrap import dedent

from txlint.core.config import Config
from txlint.core.ftypes import Span
from txlint.core.index import ProjectIndex
from txlint.core.ir import Commit, Exit, LockMode, Read, Rollback, RowOrigin, RowRef, Unit, ValueKind, Write
from txlint.frontends import python as python_frontend
from txlint.frontends.python.interpret.values import UNKNOWN, Data, Query, Row, join_values


def units(source: str) -> dict[str, Unit]:
    parsed = python_frontend.parse("example.py", dedent(source))
    assert isinstance(parsed, python_frontend.ParsedPython)
    index = ProjectIndex.build(parsed.table_decls())
    return {u.name: u for u in python_frontend.analyse(parsed, index, Config()).units}


def ops_of(unit: Unit, kind: type) -> list:
    return [op for op in unit.ops if isinstance(op, kind)]


SQLALCHEMY_MODELS = """
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
    class Base(DeclarativeBase):
        pass
    class Wallet(Base):
        __tablename__ = "wallets"
        id: Mapped[int] = mapped_column(primary_key=True)
        balance: Mapped[int] = mapped_column()
"""


def test_leaving_session_begin_flushes_and_commits_and_an_exception_rolls_back() -> None:
    unit = units(
        SQLALCHEMY_MODELS
        + """
    def spend(session: Session, wallet_id, amount):
        with session.begin():
            wallet = session.get(Wallet, wallet_id)
            if amount > 100:
                raise ValueError(amount)
            wallet.balance -= amount
    """
    )["spend"]
    (write,) = ops_of(unit, Write)
    assert write.table == "wallets" and write.assignments[0].column == "balance"
    assert write.assignments[0].value.kind is ValueKind.DERIVED
    assert len(ops_of(unit, Commit)) == 1 and len(ops_of(unit, Rollback)) == 1
    read = ops_of(unit, Read)[0]
    assert read.tx is not None and write.tx == read.tx


def test_a_nested_block_is_a_savepoint_and_does_not_commit() -> None:
    unit = units(
        """
    from django.db import transaction
    def f(pk):
        with transaction.atomic():
            with transaction.atomic():
                Account.objects.filter(pk=pk).update(n=1)
            Account.objects.filter(pk=pk).update(n=2)
    """
    )["f"]
    (commit,) = ops_of(unit, Commit)
    first, second = ops_of(unit, Write)
    assert first.tx == second.tx == commit.tx
    assert unit.ops.index(commit) > unit.ops.index(second)


def test_a_loop_binds_a_fresh_instance_each_round() -> None:
    unit = units(
        """
    def cap(items):
        for item in CartItem.objects.filter(active=True):
            if item.amount > item.limit:
                item.amount = item.limit
                item.save()
    """
    )["cap"]
    (write,) = ops_of(unit, Write)
    (condition,) = write.conditions
    assert {d.column for d in condition.depends_on} >= {"amount"}  # still the value read, in every round


def test_exits_are_listed_in_source_order_and_a_raise_only_when_it_leaves_a_lock_held() -> None:
    unit = units(
        """
    import redis
    r = redis.Redis()
    def f(k, t):
        if not r.set(k, t, nx=True, ex=5):
            return None
        if broken():
            raise ValueError(k)
        if other():
            r.delete(k)
            raise KeyError(k)
        r.delete(k)
    """
    )["f"]
    exits = ops_of(unit, Exit)
    assert [e.kind for e in exits] == ["return", "raise", "end"]
    assert exits[1].held and not exits[0].held and not exits[2].held


def test_a_row_count_kept_on_either_branch_is_checked_by_one_test_after() -> None:
    unit = units(
        """
    def f(pk, state):
        if state:
            done = Seat.objects.filter(pk=pk, state="free").update(state="held")
        else:
            done = Seat.objects.filter(pk=pk, state="held").update(state="free")
        if not done:
            raise ValueError(pk)
    """
    )["f"]
    assert all(write.result_checked for write in ops_of(unit, Write))


def test_a_row_count_kept_and_never_read_is_unchecked() -> None:
    unit = units(
        """
    def f(pk):
        done = Seat.objects.filter(pk=pk, state="free").update(state="held")
        done = None
        return done
    """
    )["f"]
    (write,) = ops_of(unit, Write)
    assert write.result_checked is False


def test_update_fields_naming_a_field_twice_writes_it_once() -> None:
    unit = units(
        """
    def f(order, address):
        order.billing_address = address
        order.save(update_fields=["billing_address", "billing_address"])
    """
    )["f"]
    (write,) = ops_of(unit, Write)
    assert [a.column for a in write.assignments] == ["billing_address"]


def test_a_module_function_annotated_noreturn_ends_the_path() -> None:
    unit = units(
        """
    from typing import NoReturn
    from django.db import transaction
    def fail(message) -> NoReturn:
        raise RuntimeError(message)
    def f(pk):
        transaction.set_autocommit(False)
        Account.objects.filter(pk=pk).update(n=1)
        if broken():
            fail("broken")
        transaction.commit()
    """
    )["f"]
    assert [e.kind for e in ops_of(unit, Exit)] == ["end"]
    assert all(e.open_since is None for e in ops_of(unit, Exit))


def test_joined_values_keep_the_origin_that_matters() -> None:
    read = Row(RowRef(RowOrigin.READ, 0, "obj"), "t")
    created = Row(RowRef(RowOrigin.CREATED, None, ""), "t")
    assert join_values(read, created) == read == join_values(created, read)
    assert join_values(Data(), read) == read  # `obj = None` on the other path
    assert join_values(UNKNOWN, created) == created
    left, right = Data(frozenset({"a"})), Data(frozenset({"b"}))  # type: ignore[arg-type]
    joined = join_values(left, right)
    assert isinstance(joined, Data) and joined.deps == {"a", "b"}
    span = Span(1, 1, 1, 1)
    plain, locked = Query("t", span), Query("t", span, lock=LockMode.EXCLUSIVE)
    assert join_values(plain, locked) == locked
