"""Name -> scheduler class registry, filled lazily by importing the policy modules."""

from __future__ import annotations

import importlib

from fairsched.errors import InputError

_REGISTRY: dict[str, type] = {}
# modules that register schedulers; a new policy adds its module here
_MODULES = (
    "fcfs", "edf", "llf", "sjf", "rr", "prema", "affinity_edf", "sla_aware", "dbp",
    "teachers",  # triage, llf-masked: the rule-based teachers of drl / relmas
)
_EXTRA_MODULES = ("fairsched.rl.policy_scheduler",)  # learned policies (may be absent)
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
    for m in _MODULES:
        importlib.import_module(f"fairsched.schedulers.{m}")
    for m in _EXTRA_MODULES:
        try:
            importlib.import_module(m)
        except ModuleNotFoundError as e:
            if e.name != m:
                raise
    _loaded = True


def available() -> list[str]:
    _load()
    return list(_REGISTRY)


def unknown(names) -> tuple[list[str], list[str]]:
    """``(names that are not registered, all registered names)``: one check for every caller."""
    known = available()
    return [n for n in names if n not in known], known


def scheduler_class(name: str) -> type:
    """The class registered under ``name`` (class attributes, without building a scheduler)."""
    _load()
    cls = _REGISTRY.get(name)
    if cls is None:
        raise InputError(f"scheduler '{name}' is unknown; use one of {', '.join(_REGISTRY)}")
    return cls


def make(name: str, **kwargs):
    """Instantiate a scheduler by registered name."""
    return scheduler_class(name)(**kwargs)
