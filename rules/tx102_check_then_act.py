"""TX102 check-then-act: a decision on unlocked state guards the write that changes that state."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from txlint.core.config import Config
from txlint.core.ftypes import Severity, Span
from txlint.core.index import ProjectIndex, normalise_column
from txlint.core.ir import Act, Assignment, Change, Condition, Insert, LockMode, Op, Read, ReadKind, RowOrigin, RowRef, Unit, ValueKind, Write, in_order
from txlint.core.queries import callers_passing, cas_guards, holds_lock, is_money_column, other_rows, same_row, written_columns
from txlint.core.rule import RelatedSpan, Report, Rule, RuleContext, RuleDoc
from txlint.core.summaries import Passed


class CheckThenAct(Rule):
    code = "TX102"
    name = "check-then-act"
    severity = Severity.ERROR
    summary = "A check of unlocked database state decides a write that changes that same state."
    doc = RuleDoc(
        what_it_does=(
            "Finds a decision taken on database state that is not locked — a row's column "
            "(`if order.status == \"pending\"`) or whether rows exist (`if not ...exists()`) — that "
            "guards a write changing exactly that state: the column is then written, or a row is "
            "inserted into the table that was checked. A get-or-create on columns without a unique "
            "constraint is the same pattern inside a library call."
        ),
        why_is_this_bad=(
            "Two concurrent requests both see the state before either changes it, and both act: two "
            "refunds for one order, two redemptions of one coupon, two charges for one room entry."
        ),
        example=(
            "def request_refund(order_id):\n"
            "    order = Order.objects.get(pk=order_id)\n"
            "    if order.refund_status == \"none\":\n"
            "        Refund.objects.create(order=order, amount=order.total)\n"
            "        order.refund_status = \"requested\"\n"
            "        order.save()\n"
        ),
        use_instead=(
            "def request_refund(order_id):\n"
            "    with transaction.atomic():\n"
            "        claimed = Order.objects.filter(pk=order_id, refund_status=\"none\").update(refund_status=\"requested\")\n"
            "        if claimed:\n"
            "            order = Order.objects.get(pk=order_id)\n"
            "            Refund.objects.create(order=order, amount=order.total)\n"
        ),
        known_problems=(
            "A check whose result reaches the write through a helper in another module is not seen. "
            "A claim the callers make first (a queue row set in flight under a unique constraint, so "
            "that one worker at a time reaches the callee) is not seen: the callee's `get_or_create`/"
            "`update_or_create` on columns with no unique constraint is still reported. Values a "
            "function is handed (a dict of settings written over a row when they differ) are taken "
            "for values of unknown origin, not for values every racer agrees on. "
            "A `get_or_create` keyed by a row its callers create in the same transaction (a mail "
            "schedule made together with its rule, where a NULL column leaves the unique constraint "
            "silent) is reported, though no other request can see that parent before the commit. "
            "A lock on some other row taken earlier in the same transaction is assumed to serialise an "
            "existence check (when unsure, txlint stays silent). "
            "The column checked must be written in the function itself: a status set by a method it "
            "calls (`self.set_status(...)` of a mixin, a `_mark_paid()` two calls down) is not seen as "
            "the change, so such a check-then-act is not reported. "
            "A check guarding only the write of its own column with a value every racer agrees on (a "
            "constant, the value compared, a fill from the row's other columns, a rewrite of a column "
            "that is not money-like from itself) is taken to converge; a claim of an unset column by a "
            "value the caller brings (a parameter) is reported. An act is looked for in the function "
            "and in the functions it calls, to any depth through their summaries (the first act of each); "
            "an act inside a library's function (a processor's `issue_credit()` of a class the project "
            "imports) is not. "
            "On a row the callers hand in, the check is reported only when some call site passes that "
            "row read without a lock and none passes it locked (a model method with no known caller, or "
            "only callers whose rows are of unknown origin, is silent). "
            "An existence check written as a compound test (`if row and row.state == ...:`) is not told "
            "apart from its arm where the row was found; a single test (`if row:`, `if not row: return`) is."
        ),
    )
    INVALID = [
        (
            "def redeem(coupon_id, account):\n"
            "    coupon = Coupon.objects.get(pk=coupon_id)\n"
            "    if coupon.redeemed_by_id is None:\n"
            "        coupon.redeemed_by = account\n"
            "        coupon.save(update_fields=['redeemed_by'])  # error\n"
        ),
        (
            "from django.db import models\n"
            "class Subscription(models.Model):\n"
            "    user_id = models.IntegerField()\n"
            "    list_id = models.IntegerField()\n"
            "def subscribe(user_id, list_id):\n"
            "    if not Subscription.objects.filter(user_id=user_id, list_id=list_id).exists():\n"
            "        Subscription.objects.create(user_id=user_id, list_id=list_id)  # error\n"
        ),
        (
            "def pay(order_id):\n"
            "    order = Order.objects.get(pk=order_id)\n"
            "    if order.status != 'pending':\n"
            "        return\n"
            "    order.status = 'paid'\n"
            "    order.save()  # error\n"
            "    Shipment.objects.create(order_id=order_id)\n"
        ),
    ]
    VALID = [
        # Near miss: the checked row is locked inside the transaction.
        (
            "from django.db import transaction\n"
            "def pay(order_id):\n"
            "    with transaction.atomic():\n"
            "        order = Order.objects.select_for_update().get(pk=order_id)\n"
            "        if order.status == 'pending':\n"
            "            order.status = 'paid'\n"
            "            order.save()\n"
        ),
        # Near miss: the act is a conditional update whose row count is checked.
        (
            "def redeem(coupon_id, account):\n"
            "    claimed = Coupon.objects.filter(pk=coupon_id, redeemed_by__isnull=True).update(redeemed_by=account)\n"
            "    if claimed != 1:\n"
            "        raise ValueError('coupon already used')\n"
        ),
        # Near miss: the decision only guards setting the flag itself to a constant (racers converge).
        (
            "def disable(hook_id):\n"
            "    hook = WebHook.objects.get(pk=hook_id)\n"
            "    if not hook.enabled:\n"
            "        return\n"
            "    hook.enabled = False\n"
            "    hook.save(update_fields=['enabled'])\n"
        ),
        # Near miss: the column set to the value it was compared with, and nothing else (racers converge).
        (
            "def rename(corp_id, name):\n"
            "    corp = Corp.objects.get(pk=corp_id)\n"
            "    if corp.name != name:\n"
            "        corp.name = name\n"
            "        corp.save(update_fields=['name'])\n"
        ),
        # Near miss: an attempt logged every time, and the flag cleared only on some outcome.
        (
            "def deliver(hook_id, send):\n"
            "    hook = WebHook.objects.get(pk=hook_id)\n"
            "    if not hook.enabled:\n"
            "        return\n"
            "    response = send(hook)\n"
            "    WebHookCall.objects.create(hook_id=hook_id, status=response.status)\n"
            "    if response.status == 410:\n"
            "        hook.enabled = False\n"
            "        hook.save(update_fields=['enabled'])\n"
        ),
        # Near miss: the checked state (an expiry date) is not what the act changes.
        (
            "def renew(card_id, today):\n"
            "    card = Card.objects.get(pk=card_id)\n"
            "    if card.expires_on < today:\n"
            "        card.renewals = 1\n"
            "        card.save()\n"
        ),
        # Near miss: a model this project does not declare: its constraints are unknown.
        (
            "def subscribe(user_id, list_id):\n"
            "    if not Subscription.objects.filter(user_id=user_id, list_id=list_id).exists():\n"
            "        Subscription.objects.create(user_id=user_id, list_id=list_id)\n"
        ),
        # Near miss: get-or-create with a lookup built at run time.
        (
            "from django.db import models\n"
            "class Member(models.Model):\n"
            "    email = models.EmailField()\n"
            "def join(field, value):\n"
            "    return Member.objects.get_or_create(**{field: value})\n"
        ),
        # Near miss: a unique constraint refuses the duplicate insert.
        (
            "from django.db import models\n"
            "class Member(models.Model):\n"
            "    email = models.EmailField(unique=True)\n"
            "def join(email):\n"
            "    if not Member.objects.filter(email=email).exists():\n"
            "        Member.objects.create(email=email)\n"
        ),
    ]

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        index = context.index
        decided: set[Span] = set()  # the checks already reported
        for position, op in enumerate(unit.ops):
            found: tuple[Report, Span | None] | None = None
            if isinstance(op, Write):
                found = _row_state_act(unit, op, context)
            elif isinstance(op, Insert) and _may_duplicate(op, index):
                found = _existence_act(unit, position, op, context)
            if found is not None:
                report, check = found
                if check is not None and check in decided:
                    continue  # one check, and saves of the row or inserts before and after the work: one root cause (clarification 25)
                if check is not None:
                    decided.add(check)
                yield report


def _reads_behind(unit: Unit, conditions: Iterable[Condition]) -> Iterator[tuple[int, Read, str | None, Condition]]:
    """The reads a decision depends on: (op index, read, column tested or None for the row itself, condition)."""
    for condition in conditions:
        for dep in in_order(condition.depends_on):
            if dep.row.origin is RowOrigin.READ and dep.row.read is not None:
                read = unit.read_at(dep.row.read)
                if read is not None:
                    yield dep.row.read, read, dep.column, condition


def _row_state_act(unit: Unit, write: Write, context: RuleContext) -> tuple[Report, Span] | None:
    """`if row.c == x: ... row.c = y; save()` (or an update of that column on the row's table).

    The decision is the branch around the write, or around the assignment of the column when the
    save comes after the branch (`if row.status != s: row.status = s` ... `row.save()`). Of the
    checks it depends on, the innermost, and of a check's columns those the guarded code changes,
    are named first: the check that decides (`if not c.email:` inside `if form.is_valid():`), and
    the column it guards (`last_check`, not a default given to `interval` before the test)."""
    if cas_guards(write, context.config):
        return None  # a conditional write: TX108 judges whether its row count is checked
    written = written_columns(write)
    for conditions, guarded in _deciding(unit, write, written):
        own = conditions is write.conditions
        for read_index, read, column, condition in _deciding_first(unit, conditions):
            if read.kind is not ReadKind.ROWS or column is None or normalise_column(column) not in written:
                continue
            same_row = write.row is not None and write.row.origin is RowOrigin.READ and write.row.read == read_index
            if not same_row and (write.row is not None or write.table != read.table or other_rows(read, read_index, write)):
                continue
            if holds_lock(read, write, shared_counts=True):
                continue
            acts = _acts_beyond_the_flag(unit, write, column, condition, guarded)
            if acts is None or (acts is write and (not own or _converges(unit, write, condition, column, RowRef(RowOrigin.READ, read_index, read.row_var or ""), context.config))):
                continue  # a branch that only assigns the column (a default, the flag, a value all racers agree on) guards no act
            report = Report(
                write.span,
                f"`{read.row_var or read.table}.{column}` is checked without a row lock and then changed" + _naming(acts),
                (RelatedSpan(condition.span, "checked here"), RelatedSpan(read.span, "read here without a row lock")),
            )
            return report, condition.span
        handed = _handed_in(unit, write, written, conditions, guarded, context)
        if handed is not None:
            return handed
    return None


def _deciding_first(unit: Unit, conditions: tuple[Condition, ...]) -> list[tuple[int, Read, str | None, Condition]]:
    """`_reads_behind`, the innermost check first, and a check's columns changed under it first."""
    order = {id(c): position for position, c in enumerate(conditions)}

    def changed_under(read_index: int, column: str | None, condition: Condition) -> bool:
        return column is not None and any(
            isinstance(op, Change) and op.row.origin is RowOrigin.READ and op.row.read == read_index and normalise_column(op.column) == normalise_column(column) and condition in op.conditions
            for op in unit.ops
        )

    found = list(_reads_behind(unit, conditions))
    return sorted(found, key=lambda f: (-order[id(f[3])], not changed_under(f[0], f[2], f[3])))


def _deciding(unit: Unit, write: Write, written: set[str]) -> Iterator[tuple[tuple[Condition, ...], tuple[Condition, ...]]]:
    """The sets of conditions that decide a write: its own, and those of each assignment it writes
    back (the `Change` at the span of one of its assignments), with the conditions an act must share."""
    yield write.conditions, write.conditions
    if write.row is None:
        return
    taken = {a.span for a in write.assignments}
    for op in unit.ops:
        if op is write:
            return
        if isinstance(op, Change) and op.span in taken and op.row == write.row and op.conditions != write.conditions:
            yield op.conditions, op.conditions


def _handed_in(unit: Unit, write: Write, written: set[str], conditions: tuple[Condition, ...], guarded: tuple[Condition, ...], context: RuleContext) -> tuple[Report, Span] | None:
    """The same on a row the callers hand in (`self` in a model method): reported when a call site
    in the project passes a row read without a lock and none passes a locked one (clarification 16)."""
    row = write.row
    if row is None or row.origin is not RowOrigin.PARAMETER:
        return None
    for condition in conditions:
        for dep in in_order(condition.depends_on):
            if dep.row != row or dep.column is None or normalise_column(dep.column) not in written:
                continue
            acts = _acts_beyond_the_flag(unit, write, dep.column, condition, guarded, beyond_writes=True)
            if acts is None or isinstance(acts, Write):
                continue  # on a row from elsewhere, only a decision that guards an insert or an act is worth the callers' lock
            sites = callers_passing(unit, row.name, context)
            unlocked = [site for site, state in sites if state is Passed.UNLOCKED]
            if not unlocked or any(state is Passed.LOCKED for _, state in sites):
                continue
            report = Report(
                write.span,
                f"`{row.name}.{dep.column}` is checked without a row lock and then changed" + _naming(acts) + f"; `{unlocked[0].caller}` passes the row unlocked",
                (RelatedSpan(condition.span, "checked here"), *(RelatedSpan(Span.point(s.line, s.column), f"`{s.caller}` calls it with a row read without a lock", path=s.path) for s in unlocked[:2])),
            )
            return report, condition.span
    return None


def _naming(act: Op | None) -> str:
    return f", and {act.what}" if isinstance(act, Act) else ""


def _acts_beyond_the_flag(unit: Unit, write: Write, column: str, condition: Condition, guarded: tuple[Condition, ...], beyond_writes: bool = False) -> Op | None:
    """What the decision guards beyond setting the flag, or None when it guards nothing more.

    Setting the checked column to a constant, and nothing else, converges: racers write the same
    value. The race matters when the decision guards more: a computed value or other columns (the
    write itself is returned), or another write, insert or act (clarification 18) that happens only
    together with this change (under all of its conditions): an insert made on every attempt,
    whether or not the flag is then set, is not what the check guards. `beyond_writes`: an insert
    or act is looked for past the other writes."""
    checked = normalise_column(column)
    kinds = (Insert, Act) if beyond_writes else (Write, Insert, Act)
    for op in unit.ops:
        if op is not write and isinstance(op, kinds) and condition in op.conditions and set(guarded) <= set(op.conditions):
            return op
    for assignment in write.assignments:
        if normalise_column(assignment.column) != checked or assignment.value.kind is not ValueKind.INDEPENDENT:
            return write
    return None


def _may_duplicate(insert: Insert, index: ProjectIndex) -> bool:
    """The schema is known and has no unique constraint the inserted columns would hit."""
    if insert.on_conflict or not insert.columns or not index.knows_table(insert.table):
        return False  # unknown table or columns: unsure, so silent
    return not index.is_unique(insert.table, insert.columns)


def _converges(unit: Unit, write: Write, check: Condition, column: str, row: RowRef, config: Config) -> bool:
    """The write does nothing a second racer would do differently (clarification 18): every column
    the check guards (set under it) gets a value all racers that passed the check agree on, or the
    value the check compared the column with (`if row.c != v: row.c = v`, `if row.c < v: row.c =
    v`: any order of the racers ends as some serial order would). The race is then harmless to the
    check; a value rewritten from what was read is a lost update if anything, TX101's business.
    Another column set before the check, and saved along, is not what it guards."""
    for assignment in write.assignments:
        changes = [op for op in unit.ops if isinstance(op, Change) and op.span == assignment.span]
        if changes and normalise_column(assignment.column) != normalise_column(column) and not any(check in op.conditions for op in changes):
            continue
        conditions = [*write.conditions, *(c for op in changes for c in op.conditions)]
        if not _agreed(assignment, tuple(conditions), row, config):
            return False
    return True


def _agreed(assignment: Assignment, conditions: tuple[Condition, ...], row: RowRef, config: Config) -> bool:
    """A value every racer writes alike: a constant or an input (no database value feeds it), the
    value the check compared the column with, or one rewritten from the checked row alone (filled
    from its other columns, `if not a.slug: a.slug = slugify(a.title)`; an item set in a collection
    read from the column). Not: a value of unknown origin (a parameter: who claims the row), one
    from another row, arithmetic on a column (a counter), or any rewrite of a money-like column
    from itself (a spend: clarification 8)."""
    value, column = assignment.value, normalise_column(assignment.column)
    if value.kind is ValueKind.INDEPENDENT:
        return True
    if value.expression is not None and any(
        same_row(c.row, row) and normalise_column(c.column) == column and c.expression == value.expression
        for condition in conditions
        for c in condition.compared or condition.comparisons
    ):
        return True
    if value.kind is not ValueKind.DERIVED or value.delta is not None or not value.depends_on:
        return False
    if not all(same_row(d.row, row) and d.column is not None for d in value.depends_on):
        return False
    from_itself = any(normalise_column(d.column or "") == column for d in value.depends_on)
    # An augmented assignment (`row.tokens -= cost`) is arithmetic on the column however many columns
    # fed it: a counter or a spend, never a value the racers agree on (clarification 8).
    return not from_itself or (not is_money_column(assignment.column, config) and value.expression is not None)


def _existence_act(unit: Unit, position: int, insert: Insert, context: RuleContext) -> tuple[Report, Span | None] | None:
    """`if not exists(T ...): ... insert into T` with no unique constraint; also get-or-create.

    The check decides the insert, or what is done before it where none was found (`if not seen:
    charge()` ... `create(...)`, the insert recording that it was done), on its arm where no row was
    found: what runs only where the row exists (`if not purchase: return` ... `create(...)`, `if
    payment: cancel(payment)`) is about that row, not about a duplicate. A related row looked up
    through a row the callers hand in (`if not self.entity:` in a model method) is a check of that
    row's foreign key: its callers decide (clarification 16)."""
    if insert.checked_first:
        return Report(insert.span, f"get-or-create on `{insert.table}` without a unique constraint on its lookup columns"), None
    for op in unit.ops[: position + 1]:
        for read_index, read, column, condition in _reads_behind(unit, op.conditions):
            existence = read.kind is ReadKind.FACT or column is None  # `if not exists()`, `if row is None`
            if not (existence and read.table == insert.table and read_index < position):
                continue
            if condition.holds is not None and condition.truthy is not None and condition.holds == condition.truthy:
                continue  # it runs where the row was found
            if _serialised_before(unit, read_index):
                continue
            if read.via is not None and read.via.row.origin is RowOrigin.PARAMETER:
                handed = _unset_on_handed_in(unit, insert, read.via.row.name, read.via.column or "", condition, context)
                return (handed, condition.span) if handed is not None else None
            report = Report(
                insert.span,
                f"a row is inserted into `{insert.table}` after checking that none exists, with no unique constraint",
                (RelatedSpan(condition.span, "checked here"), RelatedSpan(read.span, "existence read here (a lock cannot cover absent rows)")),
            )
            return report, condition.span
    return None


def _unset_on_handed_in(unit: Unit, insert: Insert, row: str, key: str, condition: Condition, context: RuleContext) -> Report | None:
    """`if not self.entity: self.entity = Entity.objects.create(...)` on a row the callers hand in:
    reported when a call site passes the row read without a lock and none passes it locked or new
    (an instance not yet saved has no row another request could see)."""
    sites = callers_passing(unit, row, context)
    unlocked = [site for site, state in sites if state is Passed.UNLOCKED]
    if not unlocked or any(state in (Passed.LOCKED, Passed.CREATED) for _, state in sites):
        return None
    return Report(
        insert.span,
        f"a row is inserted into `{insert.table}` after checking that `{row}.{key}` points at none; `{unlocked[0].caller}` passes the row unlocked",
        (RelatedSpan(condition.span, "checked here"), *(RelatedSpan(Span.point(s.line, s.column), f"`{s.caller}` calls it with a row read without a lock", path=s.path) for s in unlocked[:2])),
    )


def _serialised_before(unit: Unit, check_index: int) -> bool:
    """An exclusive lock on existing rows taken earlier in the same transaction serialises the check."""
    check = unit.ops[check_index]
    for op in unit.ops[:check_index]:
        if isinstance(op, Read) and op.kind is ReadKind.ROWS and op.lock is LockMode.EXCLUSIVE and op.tx is not None and op.tx == check.tx:
            return True
    return False
