"""Small, shared file helpers: one guarded way in (YAML, text, digests), one safe way out (atomic writes).

Reading: every user YAML file goes through :func:`load_yaml`, which refuses what a plain
``yaml.safe_load`` lets through silently or turns into a crash: duplicate keys (the last one would
win without a word), aliases (``*ref``; an alias "bomb" expands exponentially), nesting deeper than
:data:`MAX_YAML_DEPTH` (recursion), files over :data:`MAX_INPUT_BYTES`, and text that is not UTF-8.
:func:`file_digest` hashes an input file's bytes, so a cached result can name the exact content it
was computed from.

Writing: every result file goes through :func:`atomic_write_bytes` (temp file in the same folder,
fsync, rename), so an interrupted run never leaves a half-written file behind. The target must be a
regular file or absent: a rename would silently replace a device node (``/dev/null``), a FIFO or a
symlink with a regular file, so those are refused (:func:`check_write_target`). :func:`output_folder`
holds an exclusive lock on a run's ``--out`` folder and removes what a failed run created.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from fairsched.errors import InputError

#: largest YAML / trace / table file read (bytes); bigger inputs are refused, not loaded
MAX_INPUT_BYTES = 64 * 1024 * 1024
#: deepest nesting of YAML mappings and lists (real configs need 4-5 levels)
MAX_YAML_DEPTH = 32
#: most YAML nodes (scalars, lists, mappings) in one file
MAX_YAML_NODES = 1_000_000


def read_input_bytes(path: str | os.PathLike, what: str) -> bytes:
    """The bytes of an existing regular input file, at most :data:`MAX_INPUT_BYTES`."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what}: file '{p}' does not exist; give the path of an existing file")
    size = p.stat().st_size
    if size > MAX_INPUT_BYTES:
        raise InputError(f"{what}: '{p}' is {size / 2**20:.0f} MiB, more than the {MAX_INPUT_BYTES // 2**20} MiB "
                         "an input file may have; give a smaller file")
    return p.read_bytes()


def decode_text(data: bytes, p: Path, what: str) -> str:
    """UTF-8 text (a UTF-8 byte-order mark is allowed); anything else is an :class:`InputError`."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{what}: '{p}' is UTF-16 text; save it as UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{what}: '{p}' is not UTF-8 text (bad byte at offset {e.start}); save it as UTF-8") from None
    if "\x00" in text:
        raise InputError(f"{what}: '{p}' contains NUL bytes, so it is not a text file; give a text file")
    return text


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (hex): what a cached result was computed from."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when present: ~10x faster


class _GuardedLoader(_SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate mapping keys (it keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _v in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    raise yaml.constructor.ConstructorError(
                        None, None, "a mapping key must be a plain value, not a list or mapping", key_node.start_mark)
                if key in seen:
                    raise _DuplicateKey(key, key_node.start_mark, seen[key])
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


class _DuplicateKey(Exception):
    def __init__(self, key, mark, first):
        self.key, self.mark, self.first = key, mark, first


def _short(v: Any, n: int = 40) -> str:
    s = str(v)
    return s if len(s) <= n else s[: n - 3] + "..."


def _check_events(text: str, p: Path, what: str) -> None:
    """Walk the YAML event stream (no recursion, no expansion): refuse aliases, deep nesting and
    huge node counts before anything is built."""
    depth = nodes = 0
    for ev in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(ev, yaml.AliasEvent):
            m = ev.start_mark
            raise InputError(f"{what}: '{p}' uses a YAML alias (*{_short(ev.anchor)}) at line {m.line + 1}; "
                             "aliases are not supported, write the value out")
        if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                m = ev.start_mark
                raise InputError(f"{what}: '{p}' nests lists/mappings more than {MAX_YAML_DEPTH} deep (line "
                                 f"{m.line + 1}); flatten the file")
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        if isinstance(ev, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            nodes += 1
            if nodes > MAX_YAML_NODES:
                raise InputError(f"{what}: '{p}' has more than {MAX_YAML_NODES:,} values; give a smaller file")


def load_yaml(path: str | os.PathLike, what: str) -> dict[str, Any]:
    """Read a YAML mapping through the guards above; every problem is one :class:`InputError`."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what}: file '{p}' does not exist; give the path of an existing YAML file")
    text = decode_text(read_input_bytes(p, what), p, what)
    try:
        _check_events(text, p, what)
        data = yaml.load(text, Loader=_GuardedLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as e:
        raise InputError(f"{what}: '{p}' has the key '{_short(e.key)}' twice (lines {e.first.line + 1} and "
                         f"{e.mark.line + 1}); keep one") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"{what}: '{p}' is not valid YAML{where}; fix the syntax") from None
    if not isinstance(data, dict):
        raise InputError(f"{what}: '{p}' must contain a YAML mapping (key: value pairs), got {type(data).__name__}")
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise InputError(f"{what}: '{p}' has a key that is not text ({_short(bad[0])!r}); keys are field names")
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
    if not str(spec).strip():
        raise InputError(f"{what}: empty name; give a shipped {what} name or the path of a {what} YAML file")
    p = Path(spec)
    if p.suffix in (".yaml", ".yml") or (any_existing and p.exists()):
        return p
    shipped = folder / f"{spec}.yaml"
    if not shipped.is_file():
        names = sorted(x.stem for x in folder.glob("*.yaml"))
        raise InputError(f"{what} '{_short(spec)}' is unknown; use one of the shipped {what}s {names} or the path of a {what} YAML file")
    return shipped


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _check_parents(p: Path, what: str) -> None:
    """The nearest existing ancestor of ``p`` must be a folder we may write into."""
    for parent in p.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{what}: '{parent}' is a file, not a folder, so '{p}' cannot be created; choose another path")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise InputError(f"{what}: cannot write into '{parent}' (permission denied); choose another path")
            return


def check_write_target(path: str | os.PathLike, what: str = "output") -> Path:
    """Refuse a file target that a rename would wrongly replace or that cannot be written.

    Allowed: a missing path (its folders are created) or an existing regular file. Refused, with one
    clear :class:`InputError`: an empty path, a folder, a symlink, a device node, a FIFO, a socket,
    a path under a file, a folder without write permission."""
    if not str(path) or str(path) in (".", ".."):
        raise InputError(f"{what}: empty or folder-only path '{path}'; give a file path")
    p = Path(path)
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        st = None  # a parent is a file: reported below
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise InputError(f"{what}: '{p}' is {_kind(st.st_mode)}, not a regular file; fairsched writes files by "
                         "replacing them, so give the path of a regular file or of a new one")
    _check_parents(p, what)
    if st is not None and not os.access(p.parent, os.W_OK | os.X_OK):
        raise InputError(f"{what}: cannot write into '{p.parent}' (permission denied); choose another path")
    return p


def check_folder_target(path: str | os.PathLike, what: str = "--out") -> Path:
    """An output folder: missing (created later) or an existing real folder (not a symlink to one
    is fine; not a file, device, FIFO) that we may write into."""
    if not str(path).strip():
        raise InputError(f"{what}: empty path; give a folder path")
    p = Path(path)
    if p.exists() or p.is_symlink():
        if not p.is_dir():
            kind = _kind(os.lstat(p).st_mode) if p.is_symlink() or p.exists() else "missing"
            raise InputError(f"{what}: '{p}' exists and is {'a file' if p.is_file() else kind}, not a folder; "
                             "choose a folder path")
        if not os.access(p, os.W_OK | os.X_OK):
            raise InputError(f"{what}: cannot write into '{p}' (permission denied); choose another folder")
    else:
        _check_parents(p, what)
    return p


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename)."""
    atomic_write_with(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_with(path: str | os.PathLike, writer: Callable[[Path], None]) -> None:
    """Let ``writer`` write a temp path (e.g. ``df.to_parquet``), then rename it into place.

    The target is checked first (:func:`check_write_target`); a file-system failure is reported
    with the target's name, never the temp file's."""
    p = check_write_target(path, "output")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_beside(p)
    except OSError as e:
        raise InputError(f"output: cannot write '{p}': {e.strerror or e}; check the path and its permissions") from None
    try:
        writer(Path(tmp))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS, errno.EISDIR):
            raise InputError(f"output: cannot write '{p}': {e.strerror}; free space or choose another path") from None
        raise


# ------------------------------------------------------------------------ output folder and its lock
LOCK_NAME = ".fairsched.lock"
_HELD_LOCKS: set[int] = set()  # fds of locks this process holds (closed in forked pool workers)
_HELD_FOLDERS: set[str] = set()  # real paths of the folders this process holds locked


def forget_inherited_locks() -> None:
    """In a forked child: close the inherited lock descriptors, so only the parent holds them."""
    for fd in list(_HELD_LOCKS):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD_LOCKS.clear()


def _lock(folder: Path, what: str) -> int | None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        return None
    lock = folder / LOCK_NAME
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            raise InputError(f"{what}: another fairsched run{f' (pid {holder})' if holder.isdigit() else ''} is "
                             f"writing into '{folder}'; wait for it to finish or choose another folder") from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:  # not a lock file the previous holder removed just now
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            _HELD_LOCKS.add(fd)
            return fd
        os.close(fd)


@contextlib.contextmanager
def output_folder(out: str | os.PathLike, what: str = "--out") -> Iterator[Path]:
    """Create ``out`` (if needed) and hold an exclusive lock on it while the block runs.

    A second run into the same folder fails at once with one clear line instead of interleaving
    its writes. If the block fails, what this call created is removed again when empty (``out``,
    its missing parents, an empty ``cells/``), so a failed run leaves the file system as it was,
    apart from finished results."""
    p = check_folder_target(out, what)
    if p.is_dir() and os.path.realpath(p) in _HELD_FOLDERS:  # nested (CLI around the API): already ours
        yield p
        return
    missing = []
    q = p.absolute()
    while not q.exists():
        missing.append(q)
        q = q.parent
    p.mkdir(parents=True, exist_ok=True)
    fd = _lock(p, what)
    real = os.path.realpath(p)
    _HELD_FOLDERS.add(real)
    ok = False
    try:
        yield p
        ok = True
    finally:
        _HELD_FOLDERS.discard(real)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(p / LOCK_NAME)
            _HELD_LOCKS.discard(fd)
            os.close(fd)
        if not ok:
            with contextlib.suppress(OSError):
                (p / "cells").rmdir()  # only when empty
            for d in missing:  # deepest first
                try:
                    d.rmdir()
                except OSError:
                    break
