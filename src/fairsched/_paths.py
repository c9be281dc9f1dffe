"""Where fairsched may write outside ``--out``: the user cache dir, and nothing else.

Set before anything imports numba (``fairsched/__init__`` calls :func:`set_numba_cache`), so the
compiled simulator core caches its machine code under the user cache dir instead of inside the
installed package (which may be read-only, shared by users, or wiped by a reinstall).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def user_cache_dir() -> Path:
    """``$FAIRSCHED_CACHE_DIR``, else the platform's per-user cache folder + ``/fairsched``.

    Linux: ``$XDG_CACHE_HOME`` or ``~/.cache``; macOS: ``~/Library/Caches``; Windows:
    ``%LOCALAPPDATA%`` (the same places platformdirs picks, without the dependency)."""
    env = os.environ.get("FAIRSCHED_CACHE_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "fairsched"


def kernel_source_digest(package: Path = _PACKAGE) -> str:
    """A digest of every module of the package that imports numba (path and bytes).

    Why: numba's on-disk cache checks only the source file of the cached function itself, so a
    kernel whose callees live in another module (``run_kernel`` in ``sim/compiled.py`` calls
    ``sim/compiled_policy.py``) would silently keep running the old callee after that module
    changed. Keying the cache folder on all numba modules together makes any such change a
    fresh folder, i.e. a recompile, never a stale kernel."""
    h = hashlib.sha1()
    for f in sorted(package.rglob("*.py")):
        data = f.read_bytes()
        if b"import numba" in data or b"from numba" in data:
            h.update(f.relative_to(package).as_posix().encode() + b"\0" + data + b"\0")
    return h.hexdigest()[:16]


def set_numba_cache() -> None:
    """Point numba's on-disk cache at ``<user cache>/numba/k-<digest>`` unless the user chose a
    folder (``NUMBA_CACHE_DIR``); ``<digest>`` is :func:`kernel_source_digest`, so every version
    of the compiled core has a folder of its own. The variable is inherited by worker processes;
    if numba is already imported, its config is updated too (numba reads ``config.CACHE_DIR``
    when a cached function is defined). A user-chosen folder is used as is: numba's own check of
    each function's file then applies (clear it after editing a kernel module)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    folder = str(user_cache_dir() / "numba" / f"k-{kernel_source_digest()}")
    os.environ["NUMBA_CACHE_DIR"] = folder
    cfg = sys.modules.get("numba.core.config")
    if cfg is not None and not getattr(cfg, "CACHE_DIR", ""):
        cfg.CACHE_DIR = folder
