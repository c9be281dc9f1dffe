"""Packaging: compatible ranges in pyproject, exact versions in the lock, the files a package ships.

Independent checks: the lock's pins must satisfy pyproject's ranges (so `pip install -c lock` can
resolve), torch is pinned to the one allowed version, and the metadata files parse.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
packaging = pytest.importorskip("packaging.requirements")
from packaging.requirements import Requirement  # noqa: E402
from packaging.utils import canonicalize_name  # noqa: E402


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"lock line '{line}' is not an exact pin"
            pins[canonicalize_name(name)] = version
    return pins


def _requirements() -> list[Requirement]:
    proj = _pyproject()["project"]
    reqs = [Requirement(r) for r in proj["dependencies"]]
    for extra, rs in proj["optional-dependencies"].items():
        reqs += [Requirement(r) for r in rs if not r.startswith("fairsched[")]
    return reqs


def test_dependencies_are_ranges_not_pins():
    for r in _requirements():
        assert not any(s.operator in ("==", "===") for s in r.specifier), f"{r}: use a compatible range"
        assert r.specifier, f"{r}: give a lower bound"


def test_lock_pins_every_dependency_inside_its_range():
    pins = _lock()
    for r in _requirements():
        name = canonicalize_name(r.name)
        assert name in pins, f"{r.name} is not in requirements/lock.txt; run `make lock`"
        assert r.specifier.contains(pins[name], prereleases=True), f"lock {r.name}=={pins[name]} outside {r}"


def test_lock_pins_the_one_allowed_torch_and_no_torchvision():
    pins = _lock()
    assert pins["torch"] == "2.13.0"  # no local tag (+cpu), so the pin matches the CPU and the default wheel
    assert "torchvision" not in pins


def test_python_range_and_classifiers():
    proj = _pyproject()["project"]
    assert proj["requires-python"] == ">=3.11,<3.14"
    for v in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {v}" in proj["classifiers"]


def test_shipped_metadata_files():
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]
    assert "Version 2.0" in (ROOT / "LICENSE").read_text()[:200]
    assert (ROOT / "src" / "fairsched" / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["fairsched"]
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["license"] == "Apache-2.0"
    import fairsched

    assert cff["version"] == fairsched.__version__
    urls = _pyproject()["project"]["urls"]
    assert {"Homepage", "Source", "Issues"} <= set(urls)


def test_version_flag():
    import fairsched

    out = subprocess.run([sys.executable, "-m", "fairsched", "--version"], capture_output=True, text=True,
                         env=_env(), timeout=120)
    assert out.returncode == 0
    assert out.stdout.strip() == f"fairsched {fairsched.__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", fairsched.__version__)


def test_numba_cache_goes_to_the_user_cache_dir(tmp_path):
    """Importing fairsched points numba's cache at <user cache>/fairsched/numba/k-<digest of the
    numba modules>, never the package."""
    env = _env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("NUMBA_CACHE_DIR", None)
    env.pop("FAIRSCHED_CACHE_DIR", None)
    code = "import fairsched, numba; print(numba.config.CACHE_DIR)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    from fairsched._paths import kernel_source_digest

    assert Path(out.stdout.strip()) == tmp_path / "cache" / "fairsched" / "numba" / f"k-{kernel_source_digest()}"
    # a user's own choice wins
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "mine")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert Path(out.stdout.strip()) == tmp_path / "mine"


def test_kernel_cache_folder_changes_with_any_numba_module(tmp_path):
    """Editing a callee module (not the cached function's own file) must give a new cache folder:
    numba alone would keep the stale machine code (it checks only the function's file)."""
    from fairsched._paths import kernel_source_digest

    pkg = tmp_path / "pkg"
    (pkg / "sim").mkdir(parents=True)
    (pkg / "sim" / "kernel.py").write_text("from numba import njit\n")
    (pkg / "sim" / "callee.py").write_text("import numba\nX = 1\n")
    (pkg / "other.py").write_text("Y = 1\n")
    d0 = kernel_source_digest(pkg)
    (pkg / "other.py").write_text('"""Not a numba module."""\nY = 2\n')  # imports no numba: same folder
    assert kernel_source_digest(pkg) == d0
    (pkg / "sim" / "callee.py").write_text("import numba\nX = 2\n")
    d1 = kernel_source_digest(pkg)
    assert d1 != d0
    (pkg / "sim" / "callee.py").write_text("import numba\nX = 1\n")
    assert kernel_source_digest(pkg) == d0  # a content key, not a timestamp


def _env(**extra) -> dict:
    import os

    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    return env
