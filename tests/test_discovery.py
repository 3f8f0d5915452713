"""Which files `txlint check` looks at.

Every file here is broken Python (or broken SQL), so each file that is
checked shows up as exactly one TX000 finding: the set of reported paths is
the set of checked files.
"""

from __future__ import annotations

import os

import pytest

from conftest import BROKEN_PYTHON, LOCKED_UPDATE, LOST_UPDATE_LINE

BROKEN_SQL = "SELECT 'unterminated;\n"


def checked(run_txlint, *args: str) -> set[str]:
    run = run_txlint("check", "--format", "json", *args)
    assert run.exit_code in (0, 1), run.output
    assert "Traceback" not in run.output
    paths = [path for _, path, _ in run.findings()]
    assert len(paths) == len(set(paths)), f"a file was checked twice: {paths}"
    return set(paths)


@pytest.mark.parametrize(
    "folder",
    [".git", ".hg", ".venv", "venv", "node_modules", "build", "dist", "__pycache__", ".tox", ".mypy_cache", "pkg.egg-info"],
)
def test_skipped_folders(project, run_txlint, folder):
    project.write(f"{folder}/mod.py", BROKEN_PYTHON)
    project.write(f"src/{folder}/mod.py", BROKEN_PYTHON)
    project.write("app.py", BROKEN_PYTHON)
    assert checked(run_txlint, ".") == {"app.py"}


def test_virtualenv_with_any_name_is_skipped(project, run_txlint):
    project.write("envs/py311/pyvenv.cfg", "home = /usr/bin\n")
    project.write("envs/py311/lib/python3.11/site-packages/pkg/mod.py", BROKEN_PYTHON)
    project.write("envs/py311/bin/tool.py", BROKEN_PYTHON)
    project.write("envs/notes.py", BROKEN_PYTHON)
    assert checked(run_txlint, ".") == {"envs/notes.py"}


def test_similar_names_are_not_skipped(project, run_txlint):
    for name in ("builder", "my_build", "venv_tools", "gitstuff"):
        project.write(f"{name}/mod.py", BROKEN_PYTHON)
    assert checked(run_txlint, ".") == {"builder/mod.py", "my_build/mod.py", "venv_tools/mod.py", "gitstuff/mod.py"}


def test_python_stub_and_sql_files_are_checked(project, run_txlint):
    project.write("app.py", BROKEN_PYTHON)
    project.write("types.pyi", BROKEN_PYTHON)
    project.write("db/schema.sql", BROKEN_SQL)
    for other in ("notes.txt", "README.md", "app.pyc", "script", "data.json", "app.py.bak", "query.sql.orig"):
        project.write(other, BROKEN_PYTHON)
    assert checked(run_txlint, ".") == {"app.py", "types.pyi", "db/schema.sql"}


def test_gitignore_is_honoured(project, run_txlint):
    project.write(".gitignore", "# generated code\n/generated/\n*_pb2.py\nlocal_settings.py\n")
    project.write("generated/models.py", BROKEN_PYTHON)
    project.write("api/service_pb2.py", BROKEN_PYTHON)
    project.write("config/local_settings.py", BROKEN_PYTHON)
    project.write("api/service.py", BROKEN_PYTHON)
    assert checked(run_txlint, ".") == {"api/service.py"}


def test_gitignore_negation(project, run_txlint):
    project.write("pkg/.gitignore", "*.py\n!keep.py\n")
    project.write("pkg/keep.py", BROKEN_PYTHON)
    project.write("pkg/drop.py", BROKEN_PYTHON)
    project.write("pkg/sub/keep.py", BROKEN_PYTHON)
    project.write("pkg/sub/drop.py", BROKEN_PYTHON)
    project.write("other/drop.py", BROKEN_PYTHON)  # the rules of pkg/.gitignore stop at pkg/
    assert checked(run_txlint, ".") == {"pkg/keep.py", "pkg/sub/keep.py", "other/drop.py"}


def test_nested_gitignore_overrides_the_outer_one(project, run_txlint):
    project.write(".gitignore", "*.sql\n")
    project.write("migrations/.gitignore", "!*.sql\n")
    project.write("scratch.sql", BROKEN_SQL)
    project.write("migrations/0001.sql", BROKEN_SQL)
    assert checked(run_txlint, ".") == {"migrations/0001.sql"}


def test_gitignore_above_the_given_folder_inside_a_repository(project, run_txlint):
    project.mkdir(".git")
    project.write(".gitignore", "pkg/generated/\n")
    project.write("pkg/generated/models.py", BROKEN_PYTHON)
    project.write("pkg/app.py", BROKEN_PYTHON)
    assert checked(run_txlint, "pkg") == {"pkg/app.py"}


def test_exclude_and_gitignore_together(project, run_txlint):
    project.config('exclude = ["legacy/"]\n')
    project.write(".gitignore", "tmp/\n")
    project.write("legacy/a.py", BROKEN_PYTHON)
    project.write("tmp/a.py", BROKEN_PYTHON)
    project.write("app/a.py", BROKEN_PYTHON)
    assert checked(run_txlint, ".") == {"app/a.py"}


def test_paths_are_shown_relative_to_the_working_folder(project, run_txlint):
    path = project.write("pkg/app.py", BROKEN_PYTHON)
    assert checked(run_txlint, "pkg") == {"pkg/app.py"}
    assert checked(run_txlint, str(path)) == {"pkg/app.py"}
    assert checked(run_txlint, "./pkg/../pkg/app.py") == {"pkg/app.py"}


def test_a_file_named_twice_is_checked_once(project, run_txlint):
    project.write("app.py", BROKEN_PYTHON)
    assert checked(run_txlint, "app.py", "app.py") == {"app.py"}
    assert checked(run_txlint, ".", "app.py") == {"app.py"}


def test_several_paths(project, run_txlint):
    project.write("a/one.py", BROKEN_PYTHON)
    project.write("b/two.sql", BROKEN_SQL)
    project.write("c/three.py", BROKEN_PYTHON)
    assert checked(run_txlint, "a", "b/two.sql") == {"a/one.py", "b/two.sql"}


def test_symlinked_folder_is_checked_once(project, run_txlint):
    project.write("pkg/app.py", BROKEN_PYTHON)
    os.symlink(project.root / "pkg", project.root / "alias", target_is_directory=True)
    assert len(checked(run_txlint, ".")) == 1


def test_nonexistent_path_exits_2_naming_it(project, run_txlint):
    """Nothing of what was asked exists: a usage error, as a typo in the only path usually is."""
    for args in (["missing.py"], ["missing.py", "missing_dir"]):
        run = run_txlint("check", "--exit-zero", *args)
        assert run.exit_code == 2, args
        assert run.stdout == ""
        for path in args:
            assert f"{path}: no such file or directory" in run.stderr
        assert "Traceback" not in run.output


def test_nonexistent_path_beside_real_ones_does_not_stop_the_check(project, run_txlint):
    """As ruff's E902: the other paths are checked, the missing one is named on stderr even with
    --quiet, and the run fails (exit 1) because a file it was told to check was not checked."""
    project.write("app.py")
    project.write("clean.py", LOCKED_UPDATE)
    run = run_txlint("check", "--quiet", "--format", "json", "app.py", "missing_dir")
    assert run.exit_code == 1, run.output
    assert run.findings() == [("TX101", "app.py", LOST_UPDATE_LINE)]
    assert run.stderr.splitlines() == ["missing_dir: no such file or directory"]
    clean = run_txlint("check", "clean.py", "missing.py")
    assert clean.exit_code == 1, clean.output  # no finding, but missing.py was not checked
    assert "1 could not be analysed" in clean.stdout
    assert run_txlint("check", "--exit-zero", "clean.py", "missing.py").exit_code == 0


def test_nonexistent_path_through_the_console_script(project, run_script):
    run = run_script("check", "missing_dir")
    assert run.exit_code == 2
    assert "missing_dir" in run.stderr
    assert "Traceback" not in run.output


def test_named_file_of_another_type_is_reported_and_skipped(project, run_txlint):
    project.write("notes.txt", "hello\n")
    project.write("app.py", BROKEN_PYTHON)
    run = run_txlint("check", "--format", "json", "notes.txt", "app.py")
    assert run.exit_code == 1
    assert run.codes() == ["TX000"]
    assert run.stderr.count("notes.txt") == 1


def test_empty_folder_exits_0_and_says_so(project, run_txlint):
    project.mkdir("empty")
    run = run_txlint("check", "empty")
    assert run.exit_code == 0, run.output
    assert run.stderr == "No Python or SQL files found under empty.\n"
    assert run.stdout == "No findings (0 files checked).\n"
    assert run_txlint("check", "--quiet", "empty").output == ""


def test_paths_without_python_or_sql_say_so(project, run_txlint):
    project.write("docs/index.md", "# hello\n")
    project.write("notes.txt", "hello\n")
    run = run_txlint("check", "--format", "json", "docs", "notes.txt")
    assert run.exit_code == 0, run.output
    assert run.json() == []
    assert "No Python or SQL files found under docs, notes.txt." in run.stderr
