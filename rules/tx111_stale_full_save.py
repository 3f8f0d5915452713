"""TX111 stale-full-save: a whole-row save that erases concurrent atomic increments."""

from __future__ import annotations

from collections.abc import Iterable

from txlint.core.ftypes import Severity
from txlint.core.index import normalise_column
from txlint.core.ir import RowOrigin, Unit, Write
from txlint.core.queries import written_columns
from txlint.core.rule import RelatedSpan, Report, Rule, RuleContext, RuleDoc


class StaleFullSave(Rule):
    code = "TX111"
    name = "stale-full-save"
    severity = Severity.WARNING
    summary = "A row read earlier is saved whole, erasing columns that other code updates atomically."
    doc = RuleDoc(
        what_it_does=(
            "Finds an instance that was read, changed and saved without naming the changed fields "
            "(`save()` without `update_fields`), on a model whose other columns are updated atomically "
            "somewhere else in the project (`.update(views=F(\"views\") + 1)`, `SET n = n + 1`)."
        ),
        why_is_this_bad=(
            "The full-row save writes back every column as it was when read: the increments other "
            "requests made in between are silently overwritten."
        ),
        example=(
            "def retitle(pk, title):\n"
            "    product = Product.objects.get(pk=pk)\n"
            "    product.title = title\n"
            "    product.save()  # also writes the stale `views`\n"
        ),
        use_instead=(
            "def retitle(pk, title):\n"
            "    product = Product.objects.get(pk=pk)\n"
            "    product.title = title\n"
            "    product.save(update_fields=[\"title\"])\n"
        ),
        known_problems=(
            "Only writers this run can see count: a counter updated by another service is unknown. A save "
            "that inserts is told by `force_insert=True`, `pk = None` before it, or a branch testing "
            "`obj._state.adding` / `obj.pk is None` around it; a helper that saves, called under such a "
            "branch, is still judged as an update."
        ),
        fix_safety=(
            'Unsafe (`--unsafe-fixes`): `obj.save()` becomes `obj.save(update_fields=[...])` with the fields the function assigned on `obj` before the save. A field set elsewhere (a helper the row was passed to, a signal, `auto_now`) is no longer written by this save.'
        ),
    )
    INVALID = [
        (
            "from django.db.models import F\n"
            "def seen(pk):\n"
            "    Product.objects.filter(pk=pk).update(views=F('views') + 1)\n"
            "def retitle(pk, title):\n"
            "    product = Product.objects.get(pk=pk)\n"
            "    product.title = title\n"
            "    product.save()  # error\n"
        ),
    ]
    VALID = [
        # Near miss: update_fields names only the changed field.
        (
            "from django.db.models import F\n"
            "def seen(pk):\n"
            "    Product.objects.filter(pk=pk).update(views=F('views') + 1)\n"
            "def retitle(pk, title):\n"
            "    product = Product.objects.get(pk=pk)\n"
            "    product.title = title\n"
            "    product.save(update_fields=['title'])\n"
        ),
        # Near miss: no atomic writer of the model anywhere.
        (
            "def retitle(pk, title):\n"
            "    product = Product.objects.get(pk=pk)\n"
            "    product.title = title\n"
            "    product.save()\n"
        ),
        # Near miss: a save that inserts writes no stale column of an existing row (clarification 21).
        (
            "from django.db import models\n"
            "from django.db.models import F\n"
            "class Product(models.Model):\n"
            "    title = models.CharField(max_length=40)\n"
            "    views = models.IntegerField()\n"
            "def seen(pk):\n"
            "    Product.objects.filter(pk=pk).update(views=F('views') + 1)\n"
            "def store(product: Product, title):\n"
            "    product.title = title\n"
            "    if product._state.adding:\n"
            "        product.save()\n"
            "    else:\n"
            "        product.save(update_fields=['title'])\n"
        ),
        # Near miss: a SQLAlchemy flush (here through the project's `save()` helper) writes only the
        # changed columns: nothing stale is written back.
        (
            "from flask_sqlalchemy import SQLAlchemy\n"
            "from sqlalchemy import update\n"
            "db = SQLAlchemy()\n"
            "class Topic(db.Model):\n"
            "    id = db.Column(db.Integer, primary_key=True)\n"
            "    title = db.Column(db.String(80))\n"
            "    views = db.Column(db.Integer)\n"
            "    def save(self):\n"
            "        db.session.add(self)\n"
            "        db.session.commit()\n"
            "def seen(topic_id):\n"
            "    db.session.execute(update(Topic).where(Topic.id == topic_id).values(views=Topic.views + 1))\n"
            "    db.session.commit()\n"
            "def retitle(topic_id, title):\n"
            "    topic = db.session.get(Topic, topic_id)\n"
            "    topic.title = title\n"
            "    topic.save()\n"
        ),
        # Near miss: a constant update is not an atomic writer (clarification 13).
        (
            "def hide(pk):\n"
            "    Product.objects.filter(pk=pk).update(status='hidden')\n"
            "def retitle(pk, title):\n"
            "    product = Product.objects.get(pk=pk)\n"
            "    product.title = title\n"
            "    product.save()\n"
        ),
    ]

    def check(self, unit: Unit, context: RuleContext) -> Iterable[Report]:
        index = context.index
        for op in unit.ops:
            if not (isinstance(op, Write) and op.whole_row and op.row is not None and op.row.origin is not RowOrigin.CREATED):
                continue
            changed = written_columns(op)
            for writer in index.atomic_writers_of(op.table):
                if normalise_column(writer.column) in changed:
                    continue
                yield Report(
                    op.span,
                    f"saving the whole `{op.table}` row writes back a stale `{writer.column}`, which "
                    f"{writer.unit}() at {writer.path}:{writer.span.line} updates atomically",
                    (RelatedSpan(writer.span, f"`{writer.column}` is updated atomically here", writer.path),),
                )
                break
