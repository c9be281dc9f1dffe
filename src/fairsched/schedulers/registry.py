"""Name -> scheduler class registry, filled lazily by importing the policy modules.

Three ways in, besides the shipped modules in ``_MODULES``:

* an installed package declares an entry point in the group ``fairsched.schedulers``
  (``my-sched = "my_pkg.sched:MySched"``, or a module that calls :func:`register` itself);
* ``--import my_sched.py`` (:func:`import_plugin`: a file or a dotted module name) on the commands
  that name schedulers; the files are remembered in ``$FAIRSCHED_IMPORT`` so worker processes
  import them too;
* ``NAME:PATH`` for a scheduler that takes a policy file (``drl:runs/x/drl``): the registered
  class built with ``policy=PATH`` (:func:`split`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import sys
from pathlib import Path

from fairsched.errors import InputError

ENTRY_POINT_GROUP = "fairsched.schedulers"
IMPORT_ENV = "FAIRSCHED_IMPORT"  # os.pathsep-separated files / modules imported by --import
log = logging.getLogger(__name__)

_REGISTRY: dict[str, type] = {}
# modules that register schedulers; a new policy adds its module here
_MODULES = (
    "fcfs", "edf", "llf", "sjf", "rr", "prema", "affinity_edf", "sla_aware", "dbp",
    "teachers",  # triage, llf-masked: the rule-based teachers of drl / relmas
)
_EXTRA_MODULES = ("fairsched.rl.policy_scheduler", "fairsched.rl.protect")  # protect: triage-sjf  # learned policies (may be absent)
_loaded = False


def register(name: str):
    def deco(cls):
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"scheduler name '{name}' registered twice")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for m in _MODULES:
        importlib.import_module(f"fairsched.schedulers.{m}")
    for m in _EXTRA_MODULES:
        try:
            importlib.import_module(m)
        except ModuleNotFoundError as e:
            if e.name != m:
                raise
    _load_entry_points()
    for spec in filter(None, os.environ.get(IMPORT_ENV, "").split(os.pathsep)):
        import_plugin(spec)


def _load_entry_points() -> None:
    """Schedulers of installed packages (group ``fairsched.schedulers``). A broken plug-in is
    skipped with a warning naming its package, so it cannot take the built-in schedulers down."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(getattr(ep, "dist", None), "name", "?")
        try:
            obj = ep.load()
        except Exception as e:  # noqa: BLE001 - any failure of third-party code
            log.warning("scheduler plug-in '%s' (%s, package %s) failed to import: %s: %s; skipped",
                        ep.name, ep.value, dist, type(e).__name__, e)
            continue
        if isinstance(obj, type) and ep.name not in _REGISTRY:
            register(ep.name)(obj)
        elif isinstance(obj, type) and _REGISTRY[ep.name] is not obj:
            log.warning("scheduler plug-in '%s' (package %s): the name is taken by %s; skipped",
                        ep.name, dist, _REGISTRY[ep.name].__module__)


_imported: dict[str, str] = {}  # --import spec -> module name


def import_plugin(spec: str | Path) -> str:
    """Import a scheduler module given as a ``.py`` file or a dotted module name; the module
    registers its schedulers with :func:`register`. Returns the module's name. Remembered in
    ``$FAIRSCHED_IMPORT`` so that worker processes (spawned or forked) see the same schedulers."""
    spec = str(spec)
    if spec in _imported:
        return _imported[spec]
    path = Path(spec)
    if path.suffix == ".py" or os.sep in spec or "/" in spec:
        if not path.is_file():
            raise InputError(f"--import: file '{spec}' does not exist; give a .py file that registers schedulers "
                             "(or an importable module name)")
        name = f"fairsched_plugin_{path.stem}_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]}"
        mspec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(mspec)  # type: ignore[arg-type]
        sys.modules[name] = mod
        try:
            mspec.loader.exec_module(mod)  # type: ignore[union-attr]
        except Exception as e:  # noqa: BLE001 - the user's code: one clear line
            del sys.modules[name]
            raise InputError(f"--import: '{spec}' failed: {type(e).__name__}: {e}; fix the file") from None
        spec_key = str(path.resolve())
    else:
        try:
            name = importlib.import_module(spec).__name__
        except ImportError as e:
            raise InputError(f"--import: cannot import module '{spec}' ({e}); give a .py file or an installed "
                             "module") from None
        spec_key = spec
    _imported[spec] = name
    remembered = [s for s in os.environ.get(IMPORT_ENV, "").split(os.pathsep) if s]
    if spec_key not in remembered:
        os.environ[IMPORT_ENV] = os.pathsep.join([*remembered, spec_key])
    return name


def split(name: str) -> tuple[str, str | None]:
    """``"drl:runs/x/drl"`` -> ``("drl", "runs/x/drl")``; a plain or registered name -> ``(name, None)``."""
    if name in _REGISTRY:  # a name registered as a whole (even with a colon) is not split
        return name, None
    base, sep, rest = name.partition(":")
    return (base, rest) if sep and rest else (name, None)


def available() -> list[str]:
    _load()
    return list(_REGISTRY)


def unknown(names) -> tuple[list[str], list[str]]:
    """``(names that are not registered, all registered names)``: one check for every caller.
    ``NAME:PATH`` counts as known when ``NAME`` is registered and takes a policy file."""
    known = available()
    bad = []
    for n in names:
        base, path = split(n)
        if base not in known or (path is not None and not getattr(_REGISTRY[base], "takes_policy", False)):
            bad.append(n)
    return bad, known


def scheduler_class(name: str) -> type:
    """The class registered under ``name`` (class attributes, without building a scheduler)."""
    _load()
    base, path = split(name)
    cls = _REGISTRY.get(base)
    if cls is None:
        raise InputError(f"scheduler '{name}' is unknown; use one of {', '.join(_REGISTRY)} "
                         "(or NAME:POLICY_PATH for drl/relmas; --import FILE.py for your own)")
    if path is not None and not getattr(cls, "takes_policy", False):
        raise InputError(f"scheduler '{name}': '{base}' takes no policy file; NAME:PATH works for "
                         f"{', '.join(n for n, c in _REGISTRY.items() if getattr(c, 'takes_policy', False))}")
    return cls


def make(name: str, **kwargs):
    """Instantiate a scheduler by registered name, or ``NAME:PATH`` (a policy file)."""
    _load()
    base, path = split(name)
    cls = scheduler_class(name)
    if not kwargs and hasattr(cls, "for_path"):
        # the policy file decides the scheduler (per-layer or cycle policy): NAME:PATH's file, or
        # for the bare name its shipped one (the shipped relmas is a cycle policy, drl per-layer)
        sched = cls.for_path(path)
    else:
        if path is not None:
            kwargs.setdefault("policy", path)
        sched = cls(**kwargs)
    if path is not None or sched.name != base:
        sched.name = name  # summaries and tables show which policy ran
    return sched


def identity(name: str) -> str:
    """What decides a scheduler's results beyond fairsched's own code: ``name``, plus a hash of
    the policy files for ``NAME:PATH`` and of the source file of a plug-in's module (cell keys use
    it, so a retrained policy or an edited plug-in never reuses stale cells)."""
    _load()
    base, path = split(name)
    h = hashlib.sha256()
    if path is not None:
        stem = Path(path).with_suffix("") if Path(path).suffix in (".npz", ".json") else Path(path)
        for f in (stem.with_suffix(".npz"), stem.with_suffix(".json")):
            if f.is_file():
                h.update(f.read_bytes())
    cls = _REGISTRY.get(base)
    mod = sys.modules.get(cls.__module__) if cls is not None else None
    src = getattr(mod, "__file__", None)
    if src and not cls.__module__.startswith("fairsched."):
        try:
            h.update(Path(src).read_bytes())
        except OSError:
            pass
    if path is None and not (src and not cls.__module__.startswith("fairsched.")):
        return name
    return f"{name}@{h.hexdigest()[:12]}"
