"""The package installs as one ``trailhound`` namespace, and its layers import downwards only.

The check runs on a real (non-editable) install into a temporary folder, built the way users install
it, so it also proves that every module ships and that nothing generic lands in site-packages. The
contracts themselves live in ``pyproject.toml`` (import-linter).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers import ROOT

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source, target = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("site")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for folder in {"trailhound", *project["tool"]["setuptools"]["package-dir"].values()}:
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(source)], check=True, capture_output=True, timeout=300)
    return target


def test_only_the_trailhound_package_is_installed(installed: Path) -> None:
    top_level = {p.name for p in installed.iterdir() if not p.name.endswith(".dist-info") and p.name != "bin"}
    assert top_level == {"trailhound"}
    for folder in ("streams", "detectors", "alerts", "ingest", "stack"):
        assert (installed / "trailhound" / folder / "__init__.py").is_file()
    assert any((installed / "trailhound" / "detectors" / "patterns").glob("*.yaml"))


def test_layers_import_downwards_only(installed: Path) -> None:
    result = subprocess.run([str(BIN / "lint-imports"), "--config", str(ROOT / "pyproject.toml")],
                            cwd=installed, env={**os.environ, "PYTHONPATH": str(installed)},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


TYPED = ["trailhound.detectors", "trailhound.alerts", "trailhound.schemas", "trailhound.synth"] + [
    f"trailhound.{name}" for name in ("config", "topics", "clock", "ids", "retrying", "timefmt", "signing")]


def test_core_detectors_and_alerts_type_check(installed: Path) -> None:
    packages = [arg for name in TYPED for arg in ("-p", name)]
    result = subprocess.run([str(BIN / "mypy"), "--config-file", str(ROOT / "pyproject.toml"),
                             "--cache-dir", str(installed.parent / "mypy-cache"), *packages],
                            cwd=installed, env={**os.environ, "MYPYPATH": str(installed)},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:]
