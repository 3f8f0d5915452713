"""Which functions a framework calls with no transaction of the caller around them (clarification 16).

A row lock taken outside any transaction in such a function protects nothing,
whoever wrote it: a view, a Celery/RQ/dramatiq task, a management command, a
Flask/FastAPI route. They are told by their decorators, by the class a
method is in (`View`, `APIView`, `BaseCommand`), and, for a Django function
view, by a first parameter named `request` in a module that imports Django's
HTTP layer. Library knowledge, as tables; the rules only read `Unit.entry`.
"""

from __future__ import annotations

import libcst as cst

from txlint.frontends.python.imports import ImportTable, dotted_name

# Decorators, by qualified name, that make a function an entry point.
ENTRY_DECORATORS = frozenset({
    "celery.shared_task", "celery.task", "dramatiq.actor", "rq.job", "rq.decorators.job", "huey.task",
    "django.views.decorators.http.require_POST", "django.views.decorators.http.require_GET",
    "django.views.decorators.http.require_http_methods", "django.views.decorators.http.require_safe",
    "django.views.decorators.csrf.csrf_exempt", "rest_framework.decorators.api_view",
})  # fmt: skip
# The last part of a decorator called on an application or router object (`@app.route(...)`,
# `@router.post(...)`, `@celery_app.task`): routes and tasks, whatever the object is called.
ENTRY_METHODS = frozenset({"route", "get", "post", "put", "patch", "delete", "api_route", "websocket", "task", "periodic_task"})
# Classes whose methods a framework calls per request or per command, by qualified name or last part.
ENTRY_BASES = frozenset({
    "View", "TemplateView", "FormView", "CreateView", "UpdateView", "DeleteView", "DetailView", "ListView",
    "RedirectView", "APIView", "GenericAPIView", "ViewSet", "ModelViewSet", "GenericViewSet", "BaseCommand",
    "MethodView", "Resource", "Task",
})  # fmt: skip
ENTRY_METHOD_NAMES = frozenset({"get", "post", "put", "patch", "delete", "dispatch", "handle", "run", "form_valid", "perform_create", "perform_update", "create", "update", "destroy"})
HTTP_MODULES = ("django.http", "django.shortcuts", "rest_framework", "django.views")


VIEW = "view"  # a Django view: in a transaction when the project sets ATOMIC_REQUESTS
OTHER = "entry"  # a task, a command, a route of another framework


def entry_kind(func: cst.FunctionDef, bases: tuple[str, ...], imports: ImportTable) -> str:
    """How the framework calls `func` directly (`bases`: of the class it is a method of): VIEW,
    OTHER, or "" when it does not."""
    for decorator in func.decorators:
        expr = decorator.decorator
        target = expr.func if isinstance(expr, cst.Call) else expr
        qualified = imports.resolve(target) or ""
        if qualified in ENTRY_DECORATORS:
            return VIEW if qualified.startswith(("django", "rest_framework")) else OTHER
        if isinstance(target, cst.Attribute) and target.attr.value in ENTRY_METHODS and isinstance(target.value, (cst.Name, cst.Attribute)):
            return OTHER
    if bases:
        names = {base.rsplit(".", 1)[-1] for base in bases}
        if func.name.value in ENTRY_METHOD_NAMES and names & ENTRY_BASES:
            return OTHER if names & {"BaseCommand", "Task", "MethodView", "Resource"} else VIEW
        return ""
    params = func.params.params
    return VIEW if params and params[0].name.value == "request" and any(imports.mentions(module) for module in HTTP_MODULES) else ""


def class_bases(cls: cst.ClassDef) -> tuple[str, ...]:
    return tuple(name for arg in cls.bases if arg.keyword is None and (name := dotted_name(arg.value)) is not None)
