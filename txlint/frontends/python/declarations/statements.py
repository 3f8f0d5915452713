"""The statements at module level, also those inside `if`/`try` blocks.

Django apps that let a project swap a model declare it conditionally
(`if not is_model_registered("voucher", "Voucher"): class Voucher(AbstractVoucher): ...`),
and modules guard imports and declarations with `try`/`except ImportError`:
those classes are declarations like any other.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst


def module_statements(body: Sequence[cst.BaseStatement]) -> Iterator[cst.BaseStatement]:
    """Module-level statements in source order, entering `if`/`else` and `try` blocks (not functions or classes)."""
    for statement in body:
        yield statement
        if isinstance(statement, cst.If):
            yield from module_statements(_suite(statement.body))
            orelse = statement.orelse
            if isinstance(orelse, cst.If):
                yield from module_statements([orelse])
            elif isinstance(orelse, cst.Else):
                yield from module_statements(_suite(orelse.body))
        elif isinstance(statement, cst.Try):
            yield from module_statements(_suite(statement.body))
            for handler in statement.handlers:
                yield from module_statements(_suite(handler.body))
            for extra in (statement.orelse, statement.finalbody):
                if extra is not None:
                    yield from module_statements(_suite(extra.body))


def _suite(suite: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    return suite.body if isinstance(suite, cst.IndentedBlock) else ()
