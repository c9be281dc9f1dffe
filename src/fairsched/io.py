"""Small, shared file helpers: YAML loading with clear errors, atomic writes.

Every result file fairsched writes goes through :func:`atomic_write_bytes` (temp file in the
same folder, fsync, rename), so an interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import yaml

from fairsched.errors import InputError


def load_yaml(path: str | os.PathLike, what: str) -> dict[str, Any]:
    """Read a YAML mapping; missing files and syntax errors become :class:`InputError`."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what}: file '{p}' does not exist; give the path of an existing YAML file")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"{what}: '{p}' is not valid YAML{where}; fix the syntax") from None
    if not isinstance(data, dict):
        raise InputError(f"{what}: '{p}' must contain a YAML mapping (key: value pairs), got {type(data).__name__}")
    return data


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once: os.umask can only be read by setting it


def _temp_beside(p: Path) -> str:
    """A temp file next to ``p`` with the permissions a plain ``open`` would give (mkstemp makes 0600)."""
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)
    return tmp


def shipped_or_path(spec: str | os.PathLike, folder: Path, what: str, *, any_existing: bool = False) -> Path:
    """The YAML file a config spec names: a shipped name (``folder/<name>.yaml``) or a path.

    A spec ending in ``.yaml``/``.yml`` (or, with ``any_existing``, any existing file) is a path;
    anything else must be a shipped name, else :class:`InputError` lists the shipped ones.
    """
    p = Path(spec)
    if p.suffix in (".yaml", ".yml") or (any_existing and p.exists()):
        return p
    shipped = folder / f"{spec}.yaml"
    if not shipped.is_file():
        names = sorted(x.stem for x in folder.glob("*.yaml"))
        raise InputError(f"{what} '{spec}' is unknown; use one of the shipped {what}s {names} or the path of a {what} YAML file")
    return shipped


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(p)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_with(path: str | os.PathLike, writer: Callable[[Path], None]) -> None:
    """Let ``writer`` write a temp path (e.g. ``df.to_parquet``), then rename it into place."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(p)
    try:
        writer(Path(tmp))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
