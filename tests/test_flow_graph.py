"""The control-flow skeleton: snapshots of the graph for the tricky constructs, and its control dependence.

A snapshot is the graph rendered by `flow.render` (one line per block, in the
order analyses visit them). To accept a changed rendering after reading it:
`TXLINT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_flow_graph.py`.
"""

from __future__ import annotations

import os
from pathlib import Path
from textwrap import dedent

import libcst as cst
import pytest

from txlint.frontends.python.flow.builder import GraphBuilder
from txlint.frontends.python.flow.cfg import EdgeKind, Graph, RouteKind, Simple
from txlint.frontends.python.flow.dominance import control_dependences
from txlint.frontends.python.flow.render import render
from txlint.frontends.python.imports import ImportTable
from txlint.frontends.python.interpret.graphs import NEVER_RETURNS, SUPPRESSING, catches_all

SNAPSHOTS = Path(__file__).parent / "snapshots" / "flow"


def graph(source: str) -> Graph:
    module = cst.parse_module(dedent(source))
    imports = ImportTable.of_module(module)
    func = next(s for s in module.body if isinstance(s, cst.FunctionDef))

    def never_returns(call: cst.Call) -> bool:
        return imports.resolve(call.func) in NEVER_RETURNS

    def suppresses(item: cst.BaseExpression) -> bool:
        return isinstance(item, cst.Call) and imports.resolve(item.func) in SUPPRESSING

    return GraphBuilder(func, never_returns, suppresses, catches_all).build()


CASES = {
    "try_except_else_finally": """
        def f(x):
            try:
                a()
                if x:
                    return 1
            except ValueError as error:
                b(error)
            except Exception:
                raise
            else:
                c()
            finally:
                d()
            e()
        """,
    "match_with_guard": """
        def f(command):
            match command:
                case ["go", direction] if direction in exits:
                    go(direction)
                case {"quit": _}:
                    return
                case _:
                    other()
            done()
        """,
    "while_else_break_continue": """
        def f(queue):
            while queue:
                item = queue.pop()
                if item is None:
                    continue
                if item == "stop":
                    break
                handle(item)
            else:
                drained()
            after()
        """,
    "with_that_suppresses": """
        from contextlib import suppress
        def f(path):
            with suppress(FileNotFoundError):
                remove(path)
                raise KeyError(path)
            after()
        """,
    "async_for_and_async_with": """
        async def f(session, rows):
            async with session.begin():
                async for row in rows:
                    await session.merge(row)
            return rows
        """,
    "return_in_finally": """
        def f():
            try:
                return work()
            except ValueError:
                raise
            finally:
                return None
        """,
    "jumps_through_finally": """
        def f(items):
            for item in items:
                try:
                    if item:
                        break
                    continue
                finally:
                    cleanup(item)
            return items
        """,
    "return_inside_nested_with": """
        def f(a, b):
            with a() as x, b() as y:
                if x:
                    return y
                use(x, y)
            after()
        """,
    "exits_that_never_return": """
        import sys
        from flask import abort
        def f(x):
            assert x > 0, "positive"
            if x > 10:
                abort(400)
            if x > 5:
                sys.exit(1)
            return x
        """,
    "dead_code_after_return": """
        def f(x):
            return x
            unreachable()
        """,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_graph_snapshot(name: str) -> None:
    rendered = render(graph(CASES[name]))
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("TXLINT_UPDATE_SNAPSHOTS"):
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with TXLINT_UPDATE_SNAPSHOTS=1 and read it"
    assert rendered == path.read_text(encoding="utf-8")


def test_dead_code_is_not_in_the_graph() -> None:
    rendered = render(graph(CASES["dead_code_after_return"]))
    assert "unreachable" not in rendered


def test_a_return_in_finally_replaces_the_exception_and_the_return_it_interrupts() -> None:
    g = graph(CASES["return_in_finally"])
    finally_block = next(b for b in g.blocks if b.label == "finally")
    assert [e.target for e in finally_block.edges] == [g.return_exit]  # no way out but its own return


def test_every_way_out_of_a_finally_continues_its_own_route() -> None:
    g = graph(CASES["jumps_through_finally"])
    finally_block = next(b for b in g.blocks if b.label == "finally")
    routes = {e.admits.kind if e.admits else None for e in finally_block.edges if e.routed}
    assert routes == {None, RouteKind.JUMP, RouteKind.RAISE}
    jumps = [e for e in finally_block.edges if e.admits is not None and e.admits.kind is RouteKind.JUMP]
    assert len(jumps) == 2 and all(e.arrives for e in jumps)  # `break` and `continue` end at their loop


def test_a_then_branch_is_visited_before_its_else() -> None:
    g = graph(
        """
        def f(x):
            if x:
                a()
            else:
                b()
        """
    )
    labels = [g.blocks[b].label for b in g.order]
    assert labels.index("then") < labels.index("else") < labels.index("after if")


def _depends(g: Graph, code: str) -> set[str]:
    """The tests the block holding the statement `code` depends on, as code."""
    empty = cst.Module(body=[])
    block = next(b for b in g.blocks if any(isinstance(s, Simple) and empty.code_for_node(s.node) == code for s in b.steps))
    tests = set()
    for branch, _ in control_dependences(g)[block.id]:
        test = g.blocks[branch].test
        if test is not None:
            tests.add(empty.code_for_node(test.node))
    return tests


def test_code_after_an_early_exit_depends_on_its_test_and_code_after_a_plain_if_does_not() -> None:
    g = graph(
        """
        def f(a, b):
            if a:
                return
            first()
            if b:
                log()
            second()
        """
    )
    assert _depends(g, "first()") == {"a"}
    assert _depends(g, "log()") == {"a", "b"}
    assert _depends(g, "second()") == {"a"}


def test_a_handler_depends_on_the_tests_around_its_try_not_on_those_inside() -> None:
    g = graph(
        """
        def f(a, b):
            if a:
                try:
                    if b:
                        return
                    work()
                except Exception:
                    handle()
        """
    )
    assert _depends(g, "work()") == {"a", "b"}
    assert _depends(g, "handle()") == {"a"}


def test_a_test_later_in_a_loop_does_not_guard_the_top_of_the_body() -> None:
    g = graph(
        """
        def f(items):
            for item in items:
                first(item)
                if item:
                    continue
                second(item)
        """
    )
    assert _depends(g, "first(item)") == set()
    assert _depends(g, "second(item)") == {"item"}


def test_exception_edges_leave_only_blocks_that_may_be_caught() -> None:
    g = graph(
        """
        def f():
            outside()
            try:
                inside()
            except ValueError:
                pass
        """
    )
    with_edges = {b.label for b in g.blocks if any(e.kind is EdgeKind.EXCEPTION for e in b.edges)}
    assert with_edges == {"try"}
