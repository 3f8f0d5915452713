"""txlint installs the way the README says: the wheel ships `rules/` as
`txlint.rules`, the editable install maps it to the source folder, and the
`txlint` console script is the real entry point. The wheel carries what an
index page and a type checker read: valid core metadata 2.4 with an SPDX
license expression and its license file, the project's URLs, `py.typed`.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import warnings
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from txlint import __version__
from txlint.core.links import REPOSITORY_URL

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

LOST_UPDATE = """\
from django.db import transaction

def withdraw(account_id, amount):
    with transaction.atomic():
        acct = Account.objects.get(pk=account_id)
        acct.balance -= amount
        acct.save()
"""
LOCKED = LOST_UPDATE.replace("Account.objects.get(", "Account.objects.select_for_update().get(")

# Never copied into the build tree: VCS data, virtualenvs, caches, build output.
_SKIP_NAMES = {".git", ".venv", ".ci-venv", "venv", "build", "dist", "node_modules", "__pycache__", ".pytest_cache", ".txlint_cache", ".mypy_cache"}


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env or _clean_env(), capture_output=True, text=True, timeout=timeout)


def _ignore(folder: str, names: list[str]) -> set[str]:
    skipped = {n for n in names if n in _SKIP_NAMES or n.endswith(".egg-info")}
    skipped |= {n for n in names if (Path(folder) / n / "pyvenv.cfg").exists()}
    return skipped


def _source_modules(package_dir: Path, package_path: str) -> set[str]:
    """Wheel paths (`txlint/rules/x.py`) of every module under a source folder."""
    return {f"{package_path}/{p.relative_to(package_dir).as_posix()}" for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts}


def _build_command(src: Path, outdir: Path) -> list[str]:
    """`python -m build --wheel --no-isolation`, or an isolated build when this
    environment lacks the build backend's requirements (and say so)."""
    from build import ProjectBuilder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the backend's own chatter (e.g. "[tool.setuptools] is beta")
        missing = ProjectBuilder(src).check_dependencies("wheel")
    command = [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir)]
    if not missing:
        return [*command, "--no-isolation", str(src)]
    names = sorted({chain[0] for chain in missing})
    warnings.warn(
        f"build requirements {names} are not installed here, so the wheel was built in an isolated "
        "environment (from the package index); add them to the `dev` extra to build offline",
        stacklevel=2,
    )
    return [*command, str(src)]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Build from a copy so the source tree gets no build/ or egg-info litter.
    src = tmp_path_factory.mktemp("src") / "txlint"
    shutil.copytree(ROOT, src, ignore=_ignore, symlinks=True)
    outdir = tmp_path_factory.mktemp("dist")
    result = _run(_build_command(src, outdir), cwd=src, timeout=300)
    assert result.returncode == 0, f"wheel build failed:\n{result.stdout}\n{result.stderr}"
    wheels = list(outdir.glob("txlint-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, found {wheels}"
    return wheels[0]


def test_wheel_ships_rules_folder_as_txlint_rules(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "txlint/rules/__init__.py" in names
    assert "txlint/rules/tx101_lost_update.py" in names
    expected = {f"txlint/rules/{p.name}" for p in (ROOT / "rules").glob("*.py")}
    assert expected <= names, f"rule modules missing from the wheel: {sorted(expected - names)}"
    assert not any(n.startswith("rules/") for n in names), "the wheel installs a top-level `rules` package"


def test_wheel_ships_every_module_of_the_package(wheel: Path) -> None:
    # Catches a new subpackage left out of `[tool.setuptools] packages`.
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = _source_modules(ROOT / "txlint", "txlint")
    assert expected <= names, f"modules missing from the wheel: {sorted(expected - names)}"


def test_wheel_declares_the_console_script(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        entry_points = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        parser = configparser.ConfigParser()
        parser.read_string(archive.read(entry_points).decode("utf-8"))
    assert parser.has_section("console_scripts")
    assert parser["console_scripts"].get("txlint") == PYPROJECT["project"]["scripts"]["txlint"]
    module, _, attribute = parser["console_scripts"]["txlint"].partition(":")
    assert callable(getattr(__import__(module, fromlist=[attribute]), attribute))


def _dist_info(archive: zipfile.ZipFile) -> str:
    (folder,) = {n.split("/", 1)[0] for n in archive.namelist() if n.split("/", 1)[0].endswith(".dist-info")}
    return folder


def test_wheel_ships_py_typed_and_the_license(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert "txlint/py.typed" in names, "PEP 561: without py.typed type checkers ignore txlint's annotations"
        license_path = f"{_dist_info(archive)}/licenses/LICENSE"  # PEP 639's place for it
        assert license_path in names, sorted(n for n in names if "dist-info" in n)
        assert archive.read(license_path).decode("utf-8") == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")


def test_wheel_metadata_is_valid_and_complete(wheel: Path) -> None:
    from packaging.metadata import Metadata

    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read(f"{_dist_info(archive)}/METADATA")
    metadata = Metadata.from_email(raw, validate=True)  # raises on a field that breaks the spec
    assert metadata.name == "txlint" and str(metadata.version) == __version__
    assert metadata.metadata_version == "2.4"
    assert metadata.license_expression == "MIT" and metadata.license_files == ["LICENSE"]
    assert metadata.license is None  # the old free-text field would contradict the expression
    assert not [c for c in metadata.classifiers or [] if c.startswith("License ::")]  # PEP 639: the expression only
    assert "Typing :: Typed" in (metadata.classifiers or [])
    assert metadata.keywords and metadata.author == "the txlint authors"
    urls = metadata.project_urls or {}
    assert {"Homepage", "Documentation", "Repository", "Issues"} <= set(urls), urls
    assert {"runtime", "fast", "lsp"} <= set(metadata.provides_extra or [])
    assert str(metadata.requires_python) == PYPROJECT["project"]["requires-python"]


def test_project_urls_are_the_one_repository_url() -> None:
    from txlint.cli.reporters import sarif

    urls = PYPROJECT["project"]["urls"]
    assert urls["Repository"] == urls["Homepage"] == REPOSITORY_URL == sarif.INFORMATION_URI
    assert all(url == REPOSITORY_URL or url.startswith((f"{REPOSITORY_URL}/", f"{REPOSITORY_URL}#")) for url in urls.values()), urls


def test_classifiers_are_known_to_the_index() -> None:
    classifiers = pytest.importorskip("trove_classifiers", reason="trove-classifiers is not installed").classifiers
    declared = PYPROJECT["project"]["classifiers"]
    assert [c for c in declared if c not in classifiers] == []


def test_build_backend_reads_the_license_expression() -> None:
    # `license = "MIT"` and `license-files` (PEP 639) need setuptools 77; an older one refuses the file.
    assert PYPROJECT["project"]["license"] == "MIT" and PYPROJECT["project"]["license-files"] == ["LICENSE"]
    (requirement,) = [r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    assert requirement == "setuptools>=77.0.3"
    assert requirement in PYPROJECT["project"]["optional-dependencies"]["dev"]  # --no-isolation builds need it too


def test_installed_wheel_finds_its_rules(wheel: Path, tmp_path: Path) -> None:
    """A normal (non-editable) install of the wheel works on its own."""
    target = tmp_path / "site"
    install = _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)], cwd=tmp_path)
    assert install.returncode == 0, install.stdout + install.stderr
    (tmp_path / "bad.py").write_text(LOST_UPDATE, encoding="utf-8")
    # -S: no site-packages processing, so the editable install's import hook is
    # not active; the wheel's files first, this environment's libraries after.
    env = _clean_env()
    libraries = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    env["PYTHONPATH"] = os.pathsep.join([str(target), *libraries])
    where = _run([sys.executable, "-S", "-c", "import txlint.rules as r; print(r.__file__)"], cwd=tmp_path, env=env)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).resolve() == (target / "txlint" / "rules" / "__init__.py").resolve()
    rules = _run([sys.executable, "-S", "-m", "txlint", "rules"], cwd=tmp_path, env=env)
    assert rules.returncode == 0, rules.stderr
    assert "TX101" in rules.stdout
    check = _run([sys.executable, "-S", "-m", "txlint", "check", "bad.py"], cwd=tmp_path, env=env)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "TX101" in check.stdout


def _installed(tmp_path: Path) -> dict[str, object]:
    """What this interpreter imports as txlint when run outside the source tree
    (inside it, the source folder and a stale `txlint.egg-info` would shadow
    the installed distribution)."""
    probe = (
        "import json, txlint, txlint.rules\n"
        "from importlib.metadata import distribution\n"
        "from txlint.core.registry import all_rules\n"
        "dist = distribution('txlint')\n"
        "print(json.dumps({'version': dist.version, 'direct_url': dist.read_text('direct_url.json'),"
        " 'package': txlint.__file__, 'rules': txlint.rules.__file__,"
        " 'path': list(txlint.rules.__path__), 'codes': sorted(all_rules())}))\n"
    )
    result = _run([sys.executable, "-c", probe], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_editable_install_maps_txlint_rules_to_the_source_folder(tmp_path: Path) -> None:
    found = _installed(tmp_path)
    assert found["direct_url"], "txlint is not installed with pip (no direct_url.json)"
    info = json.loads(str(found["direct_url"]))
    assert info.get("dir_info", {}).get("editable"), f"txlint is not an editable install: {info}"
    assert Path(unquote(urlparse(info["url"]).path)).resolve() == ROOT, f"editable install of another checkout: {info['url']}"
    assert Path(str(found["package"])).resolve() == ROOT / "txlint" / "__init__.py"
    assert Path(str(found["rules"])).resolve() == ROOT / "rules" / "__init__.py"
    assert [Path(p).resolve() for p in found["path"]] == [ROOT / "rules"]  # type: ignore[union-attr]
    codes = list(found["codes"])  # type: ignore[call-overload]
    shipped = {p.stem for p in (ROOT / "rules").glob("tx*.py")}
    assert {"TX000", "TX101"} <= set(codes)
    assert len(codes) >= len(shipped), f"rules {codes} for modules {sorted(shipped)}"


@pytest.fixture(scope="module")
def console_script() -> Path:
    script = Path(sys.executable).parent / ("txlint.exe" if os.name == "nt" else "txlint")
    assert script.is_file(), f"no `txlint` console script next to {sys.executable}: is the project installed?"
    return script


def test_console_script_version(console_script: Path, tmp_path: Path) -> None:
    result = _run([str(console_script), "--version"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert str(_installed(tmp_path)["version"]) in result.stdout


def test_console_script_lists_rules(console_script: Path, tmp_path: Path) -> None:
    from txlint.core.registry import all_rules

    result = _run([str(console_script), "rules"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for code in all_rules():
        assert code in result.stdout


def test_console_script_check_exit_status(console_script: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(LOST_UPDATE, encoding="utf-8")
    (tmp_path / "locked.py").write_text(LOCKED, encoding="utf-8")
    bad = _run([str(console_script), "check", "bad.py"], cwd=tmp_path)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "TX101" in bad.stdout and "bad.py" in bad.stdout
    locked = _run([str(console_script), "check", "locked.py"], cwd=tmp_path)
    assert locked.returncode == 0, locked.stdout + locked.stderr
    assert "TX101" not in locked.stdout
