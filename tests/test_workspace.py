"""The resident workspace a language server judges edits against (`txlint.engine.workspace`)."""

from __future__ import annotations

from pathlib import Path

from conftest import Project
from txlint.core.config import Config
from txlint.core.registry import enabled_codes
from txlint.engine.runner import Engine
from txlint.engine.workspace import Workspace
from txlint.project.discovery import discover, display_path

MODELS = (
    "from django.db import models\nfrom django.db.models import F\n"
    "class Product(models.Model):\n    title = models.CharField()\n    views = models.IntegerField()\n"
    "def seen(pk):\n    Product.objects.filter(pk=pk).update(views=F('views') + 1)\n"
)
VIEWS = "from shop.models import Product\ndef retitle(pk, title):\n    p = Product.objects.get(pk=pk)\n    p.title = title\n    p.save()\n"


def _loaded(project: Project, cache: Path | None = None) -> tuple[Workspace, list[Path]]:
    project.write("shop/__init__.py", "")
    project.write("shop/models.py", MODELS)
    project.write("shop/views.py", VIEWS)
    files = discover([project.root], project.root, ()).files
    workspace = Workspace(Config(root=project.root), enabled_codes(None, (), ()), cache)
    workspace.load(files, [display_path(p) for p in files])
    return workspace, files


def _batch(project: Project) -> list[tuple[str, str, int]]:
    """What `txlint check` finds in the project as it is on disk."""
    files = discover([project.root], project.root, ()).files
    result = Engine(Config(root=project.root), enabled_codes(None, (), ())).check_files(files, [display_path(p) for p in files])
    return sorted((f.code, f.path, f.line) for f in result.findings)


def test_an_edit_inside_a_function_is_judged_alone_and_agrees_with_a_batch_run(project: Project) -> None:
    workspace, _ = _loaded(project)
    edited = VIEWS.replace("    p.title = title\n", "    # retitled by the editor\n    p.title = title\n")
    report = workspace.update("shop/views.py", Path("shop/views.py"), edited.encode())
    assert not report.whole_run
    assert [(f.code, f.line) for f in report.findings] == [("TX111", 6)]
    project.write("shop/views.py", edited)
    assert [(c, line) for c, path, line in _batch(project) if path == "shop/views.py"] == [("TX111", 6)]


def test_an_edit_the_rest_of_the_project_sees_runs_it_again(project: Project) -> None:
    """The counter goes: no other file updates `views` atomically, so the full save is no longer stale."""
    workspace, _ = _loaded(project)
    report = workspace.update("shop/models.py", Path("shop/models.py"), MODELS.replace("update(views=F('views') + 1)", "update(views=0)").encode())
    assert report.whole_run
    assert workspace.findings_of("shop/views.py") == []


def test_half_typed_code_reports_its_parse_error_and_keeps_its_facts(project: Project) -> None:
    workspace, _ = _loaded(project)
    broken = workspace.update("shop/models.py", Path("shop/models.py"), (MODELS + "def oops(:\n").encode())
    assert [f.code for f in broken.findings] == ["TX000"] and broken.broken
    # Another file's edit re-runs the project: the half-typed models still count as they last parsed.
    edited = VIEWS.replace("from shop.models import Product\n", "from shop.models import Product\nimport logging\n")
    workspace.update("shop/views.py", Path("shop/views.py"), edited.replace("p.save()", "p.save()\n    logging.info(p)").encode())
    workspace.update("shop/__init__.py", Path("shop/__init__.py"), b"VERSION = 2\n")
    assert [f.code for f in workspace.findings_of("shop/views.py")] == ["TX111"]
    assert [f.code for f in workspace.findings_of("shop/models.py")] == ["TX000"]


def test_a_deleted_file_is_forgotten(project: Project) -> None:
    workspace, _ = _loaded(project)
    (project.root / "shop/models.py").write_text("")
    workspace.forget("shop/models.py")
    assert workspace.findings_of("shop/views.py") == []
