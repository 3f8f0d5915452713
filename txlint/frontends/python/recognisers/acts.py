"""Calls with an effect outside the database rows a function works on: what a check guards.

Clarification 18: TX102's act is anything the check was meant to keep from
happening twice — a task sent (or a process started to do the work), a mail,
a payment or HTTP call. Each is an
`Act` op; the call itself is left to whatever else knows it (this recogniser
never claims a call), so its arguments are evaluated as usual.
"""

from __future__ import annotations

import libcst as cst

from txlint.core.ir import Act
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.values import Value
from txlint.frontends.python.recognisers.base import Recogniser

# Sending a task to a queue (Celery, RQ, dramatiq): any receiver, the method says it.
TASK_METHODS = frozenset({"delay", "apply_async", "send_task", "enqueue", "enqueue_call", "send_with_options"})
# Functions and methods by qualified name, and the prefixes of whole APIs, with what they do.
ACTS: dict[str, str] = {
    "django.core.mail.send_mail": "a mail is sent",
    "django.core.mail.send_mass_mail": "a mail is sent",
    "django.core.mail.mail_admins": "a mail is sent",
    "django.core.mail.mail_managers": "a mail is sent",
    **{f"requests.{m}": "an HTTP request is sent" for m in ("post", "put", "patch", "delete", "request")},
    **{f"httpx.{m}": "an HTTP request is sent" for m in ("post", "put", "patch", "delete", "request")},
    # A background job started as a process (a management command run in the background): a task.
    **{f"subprocess.{f}": "a process is started" for f in ("Popen", "run", "call", "check_call", "check_output")},
    "os.system": "a process is started",
}
ACT_PREFIXES: dict[str, str] = {"stripe.": "a payment call is made", "braintree.": "a payment call is made", "paypalrestsdk.": "a payment call is made"}


class Acts(Recogniser):
    """Emits an `Act` for a task sent, a mail, an HTTP or payment call; claims nothing."""

    # A function naming one of these (an import of it, or of its module) can act: a helper that only
    # calls the payment provider is summarised for the check that guards it.
    names = frozenset({n for n in ACTS if not n.startswith("os.")} | {"stripe.Charge", "stripe.Refund", "stripe.PaymentIntent", "braintree.Transaction", "paypalrestsdk.Payment"})

    def call(self, ctx: Context, node: cst.Call, receiver: Value | None) -> Value | None:
        what = _act(ctx, node)
        if what is not None:
            ctx.emit(Act(ctx.span(node), ctx.tx, what=what))
        return None


def _act(ctx: Context, node: cst.Call) -> str | None:
    func = node.func
    if isinstance(func, cst.Attribute) and func.attr.value in TASK_METHODS:
        return "a task is sent"
    qualified = ctx.imports.resolve(func)
    if qualified is None:
        return None
    found = ACTS.get(qualified)
    if found is not None:
        return found
    return next((what for prefix, what in ACT_PREFIXES.items() if qualified.startswith(prefix) and qualified.rsplit(".", 1)[-1] in ("create", "refund", "capture", "sale")), None)
