"""Where fairsched may write outside ``--out``: the user cache dir, and nothing else.

Set before anything imports numba (``fairsched/__init__`` calls :func:`set_numba_cache`), so the
compiled simulator core caches its machine code under the user cache dir instead of inside the
installed package (which may be read-only, shared by users, or wiped by a reinstall).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


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


def set_numba_cache() -> None:
    """Point numba's on-disk cache at ``<user cache>/numba`` unless the user chose a folder
    (``NUMBA_CACHE_DIR``). The variable is inherited by worker processes; if numba is already
    imported, its config is updated too (numba reads ``config.CACHE_DIR`` when a cached function
    is defined)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    folder = str(user_cache_dir() / "numba")
    os.environ["NUMBA_CACHE_DIR"] = folder
    cfg = sys.modules.get("numba.core.config")
    if cfg is not None and not getattr(cfg, "CACHE_DIR", ""):
        cfg.CACHE_DIR = folder
