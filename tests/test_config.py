"""`[tool.txlint]`: where it is found, what it changes, and how mistakes are reported.

A typo in the configuration must not silently switch a check off: unknown
keys, wrong types and invalid TOML exit 2 with a message naming the key and
the file.
"""

from __future__ import annotations

import pytest

from conftest import LOST_UPDATE_LINE

# -- finding the configuration ----------------------------------------------------------------


def test_config_is_read_from_pyproject(project, run_txlint):
    project.write("app.py")
    assert run_txlint("check", ".").exit_code == 1
    project.config('ignore = ["TX101"]\n')
    run = run_txlint("check", ".")
    assert run.exit_code == 0, run.output


def test_nearest_pyproject_walking_up_from_the_path(project, run_txlint):
    project.config('ignore = ["TX101"]\n')
    project.write("service/pyproject.toml", "[tool.txlint]\n")  # the nearest: defaults
    project.write("service/pkg/deep/app.py")
    project.write("other/app.py")
    assert run_txlint("check", "service/pkg").exit_code == 1
    assert run_txlint("check", "service/pkg/deep/app.py").exit_code == 1
    assert run_txlint("check", "other").exit_code == 0


def test_pyproject_without_a_txlint_table_is_passed_over(project, run_txlint):
    project.config('ignore = ["TX101"]\n')
    project.write("service/pyproject.toml", '[project]\nname = "service"\n')
    project.write("service/app.py")
    run = run_txlint("check", "service")
    assert run.exit_code == 0, run.output


def test_config_found_from_a_subfolder_working_directory(project, run_txlint, monkeypatch):
    project.config('ignore = ["TX101"]\n')
    project.write("pkg/app.py")
    monkeypatch.chdir(project.root / "pkg")
    run = run_txlint("check")
    assert run.exit_code == 0, run.output


def test_explicit_config_file_replaces_discovery(project, run_txlint):
    project.config('ignore = ["TX101"]\n')
    project.write("ci/txlint.toml", 'select = ["TX1"]\n')  # a bare table, not under [tool.txlint]
    project.write("app.py")
    assert run_txlint("check", ".").exit_code == 0
    run = run_txlint("check", "--config", "ci/txlint.toml", "--format", "json", ".")
    assert run.exit_code == 1, run.output
    assert run.findings() == [("TX101", "app.py", LOST_UPDATE_LINE)]


def test_explicit_config_may_be_a_pyproject(project, run_txlint):
    project.write("app.py")
    project.config('ignore = ["TX101"]\n', "elsewhere/pyproject.toml")
    assert run_txlint("check", "--config", "elsewhere/pyproject.toml", ".").exit_code == 0


def test_missing_explicit_config_exits_2(project, run_txlint):
    project.write("app.py")
    run = run_txlint("check", "--config", "nope.toml", ".")
    assert run.exit_code == 2
    assert "nope.toml" in run.stderr


def test_cli_select_overrides_config_select(project, run_txlint):
    project.config('select = ["TX000"]\n')
    project.write("app.py")
    assert run_txlint("check", ".").exit_code == 0
    assert run_txlint("check", "--select", "TX101", ".").exit_code == 1
    assert run_txlint("check", "--extend-select", "TX101", ".").exit_code == 1


def test_cli_ignore_adds_to_config_ignore(project, run_txlint):
    project.config('ignore = ["TX000"]\n')
    project.write("app.py")
    assert run_txlint("check", ".").exit_code == 1
    assert run_txlint("check", "--ignore", "TX101", ".").exit_code == 0


def test_config_prefix_selection(project, run_txlint):
    project.config('select = ["TX0"]\nextend-select = ["TX1"]\nignore = ["TX10"]\n')
    project.write("app.py")
    assert run_txlint("check", ".").exit_code == 0


# -- mistakes exit 2 naming the key and the file ----------------------------------------------


def _assert_config_error(run, *names: str) -> None:
    assert run.exit_code == 2, run.output
    for name in names:
        assert name in run.stderr, (name, run.stderr)
    assert run.stdout == ""
    assert "Traceback" not in run.output


@pytest.mark.parametrize("key", ["selct", "max_file_size", "exclude-dirs"])
def test_unknown_key_exits_2_naming_key_and_file(project, run_txlint, key):
    project.config(f"{key} = []\n")
    project.write("app.py")
    _assert_config_error(run_txlint("check", "."), key, "pyproject.toml")


def test_unknown_subtable_exits_2(project, run_txlint):
    project.config("[tool.txlint.rules]\nTX101 = true\n")
    project.write("app.py")
    _assert_config_error(run_txlint("check", "."), "rules", "pyproject.toml")


def test_unknown_key_in_an_explicit_config_names_that_file(project, run_txlint):
    project.write("ci/txlint.toml", "severity = 'high'\n")
    project.write("app.py")
    _assert_config_error(run_txlint("check", "--config", "ci/txlint.toml", "."), "severity", "txlint.toml")


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ('select = "TX1"', "select"),
        ('ignore = "TX101"', "ignore"),
        ("extend-select = [101]", "extend-select"),
        ('exclude = "build/"', "exclude"),
        ('per-file-ignores = ["tests/*"]', "per-file-ignores"),
        ('per-file-ignores = { "tests/*" = "TX101" }', "per-file-ignores"),
        ("dialect = 5", "dialect"),
        ('money-columns = "balance"', "money-columns"),
        ('atomic-requests = "yes"', "atomic-requests"),
        ('max-file-size = "2MB"', "max-file-size"),
        ("max-file-size = -1", "max-file-size"),
        ("max-file-size = true", "max-file-size"),
    ],
)
def test_wrong_type_exits_2_naming_the_key(project, run_txlint, setting, key):
    project.config(setting + "\n")
    project.write("app.py")
    _assert_config_error(run_txlint("check", "."), key, "pyproject.toml")


def test_unknown_selector_in_config_exits_2_naming_it(project, run_txlint):
    project.config('select = ["TX999"]\n')
    project.write("app.py")
    _assert_config_error(run_txlint("check", "."), "TX999")


@pytest.mark.parametrize(
    "text",
    [
        '[tool.txlint\nselect = ["TX1"]\n',
        '[tool.txlint]\nselect = ["TX1"\n',
        "[tool.txlint]\nselect = [\"TX1\"]\nselect = [\"TX2\"]\n",
        "[tool.txlint]\n\x00\n",
    ],
    ids=["unclosed-header", "unclosed-array", "duplicate-key", "nul-byte"],
)
def test_invalid_toml_exits_2_naming_the_file(project, run_txlint, text):
    project.write("pyproject.toml", text)
    project.write("app.py")
    _assert_config_error(run_txlint("check", "."), "pyproject.toml")


def test_txlint_table_that_is_not_a_table_exits_2(project, run_txlint):
    project.write("pyproject.toml", "[tool]\ntxlint = 1\n")
    project.write("app.py")
    _assert_config_error(run_txlint("check", "."), "pyproject.toml")


def test_config_errors_through_the_console_script(project, run_script):
    project.config('select = "TX1"\n')
    project.write("app.py")
    _assert_config_error(run_script("check", "."), "select", "pyproject.toml")


# -- what the settings do ---------------------------------------------------------------------


def test_exclude(project, run_txlint):
    project.config('exclude = ["generated/", "*_pb2.py"]\n')
    project.write("generated/app.py")
    project.write("api/models_pb2.py")
    project.write("app.py")
    run = run_txlint("check", "--format", "json", ".")
    assert run.findings() == [("TX101", "app.py", LOST_UPDATE_LINE)]


def test_exclude_applies_to_files_named_on_the_command_line(project, run_txlint):
    # pre-commit passes every changed file by name; excluded ones must stay excluded.
    project.config('exclude = ["generated/"]\n')
    project.write("generated/app.py")
    project.write("app.py")
    run = run_txlint("check", "--format", "json", "generated/app.py", "app.py")
    assert run.findings() == [("TX101", "app.py", LOST_UPDATE_LINE)]


def test_exclude_is_relative_to_the_config_folder(project, run_txlint, monkeypatch):
    project.config('exclude = ["pkg/generated/"]\n')
    project.write("pkg/generated/app.py")
    project.write("pkg/app.py")
    monkeypatch.chdir(project.root / "pkg")
    run = run_txlint("check", "--format", "json", ".")
    assert run.findings() == [("TX101", "app.py", LOST_UPDATE_LINE)]


def test_per_file_ignores(project, run_txlint):
    project.config('[tool.txlint.per-file-ignores]\n"legacy/*.py" = ["TX101"]\n"scripts/**" = ["TX1"]\n')
    project.write("legacy/old.py")
    project.write("scripts/once/fix.py")
    project.write("app/new.py")
    project.write("legacy/broken.py", "def f(:\n")  # only TX101 is ignored there
    run = run_txlint("check", "--format", "json", ".")
    assert sorted(run.findings()) == [("TX000", "legacy/broken.py", 1), ("TX101", "app/new.py", LOST_UPDATE_LINE)]


def test_per_file_ignores_from_a_subfolder_working_directory(project, run_txlint, monkeypatch):
    project.config('per-file-ignores = { "pkg/legacy/**" = ["TX101"] }\n')
    project.write("pkg/legacy/old.py")
    project.write("pkg/new.py")
    monkeypatch.chdir(project.root / "pkg")
    run = run_txlint("check", "--format", "json", ".")
    assert run.findings() == [("TX101", "new.py", LOST_UPDATE_LINE)]


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite", "MySQL"])
def test_known_dialects_are_accepted(project, run_txlint, dialect):
    project.config(f'dialect = "{dialect}"\n')
    project.write("app.py")
    project.write("q.sql", "SELECT id FROM accounts WHERE id = 1;\n")
    run = run_txlint("check", "--format", "json", ".")
    assert run.findings() == [("TX101", "app.py", LOST_UPDATE_LINE)]


BACKTICKS = "SELECT `id` FROM `accounts`;\n"  # MySQL quoting; not PostgreSQL


def test_dialect_decides_how_sql_is_parsed(project, run_txlint):
    project.write("q.sql", BACKTICKS)
    project.config('dialect = "postgres"\n')
    assert run_txlint("check", "--format", "json", ".").codes() == ["TX000"]  # PostgreSQL, as configured
    project.config('dialect = "mysql"\n')
    run = run_txlint("check", "--format", "json", ".")
    assert run.exit_code == 0, run.output


def test_with_no_dialect_configured_a_file_in_mysql_quoting_is_read_as_mysql(project, run_txlint):
    project.write("q.sql", BACKTICKS)
    run = run_txlint("check", "--format", "json", ".")
    assert run.exit_code == 0, run.output


def test_first_line_comment_overrides_the_dialect(project, run_txlint):
    project.write("q.sql", "-- txlint: dialect=mysql\n" + BACKTICKS)
    run = run_txlint("check", "--format", "json", ".")
    assert run.exit_code == 0, run.output


def test_unknown_dialect_exits_2(project, run_txlint):
    project.config('dialect = "postgress"\n')
    project.write("app.py")
    _assert_config_error(run_txlint("check", "."), "dialect", "pyproject.toml")


def test_max_file_size(project, run_txlint):
    project.config("max-file-size = 300\n")
    project.write("small.py")  # 201 bytes
    project.write("big.py", "# padding\n" * 40 + "def f(:\n")  # over 300 bytes, and broken
    run = run_txlint("check", "--format", "json", ".")
    assert run.findings() == [("TX101", "small.py", LOST_UPDATE_LINE)]
    assert run.stderr.count("big.py") == 1
    assert "small.py" not in run.stderr


def test_max_file_size_applies_to_stdin(project, run_txlint):
    project.config("max-file-size = 50\n")
    run = run_txlint("check", "-", "--stdin-filename", "app.py", input="def f(:\n" + "#" * 100 + "\n")
    assert run.exit_code == 0, run.output
    assert "app.py" in run.stderr


def test_other_documented_keys_are_accepted(project, run_txlint):
    project.config(
        'money-columns = ["balance", "credits"]\n'
        'core-tables = ["accounts"]\n'
        'lock-functions = ["app.locks.advisory_lock"]\n'
        'non-negative-columns = ["balance"]\n'
        'monotonic-columns = ["sequence"]\n'
        'version-fields = ["version"]\n'
        "atomic-requests = true\n"
    )
    project.write("app.py")
    run = run_txlint("check", ".")
    assert run.exit_code == 1, run.output
