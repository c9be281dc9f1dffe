"""One experiment cell = one simulation; cached on disk so reruns skip finished work.

A cell's key hashes everything that determines its result (resolved scenario, platform, cost
table content, load, request count, seed, scheduler, fairsched version, the SHA-256 of every input
file the run reads, e.g. arrival traces, and a fingerprint of the code and policy files that compute
a result, so an edited trace, an edited simulator or a retrained policy never reuses stale cells).
Results are written atomically as JSON; a rerun that finds a cell's file with the same key and a
well-formed record reuses it; any other file there (damaged, not UTF-8, ``null``, a list, another
key) is recomputed and replaced.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from fairsched import __version__
from fairsched.io import atomic_write_text
from fairsched.schedulers.registry import identity as scheduler_identity


@dataclass(frozen=True)
class CellSpec:
    scheduler: str
    scenario: dict  # ScenarioConfig.model_dump()
    platform: dict  # platform description (name, bandwidth, subs)
    costs: str  # cost-table fingerprint
    load: float | None
    requests: int | None
    seed: int
    inputs: dict = field(default_factory=dict)  # input file -> SHA-256 of its bytes (Workload.inputs)

    def key(self) -> str:
        blob = json.dumps(
            dict(v=__version__, code=code_fingerprint(), s=scheduler_identity(self.scheduler), sc=self.scenario, p=self.platform, c=self.costs,
                 l=self.load, r=self.requests, seed=self.seed, inputs=sorted(self.inputs.values())),
            sort_keys=True, default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


#: package parts whose files decide a cell's result (plots, CLI and experiment plumbing do not)
_RESULT_PARTS = ("sim", "schedulers", "rl", "workload", "platform", "costs/table.py", "metrics.py", "api.py")
_RESULT_SUFFIXES = {".py", ".npz", ".json", ".yaml"}


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the source and data files that compute a result (read once per process)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for part in _RESULT_PARTS:
        p = root / part
        files = sorted(p.rglob("*")) if p.is_dir() else [p]
        for f in files:
            if f.is_file() and f.suffix in _RESULT_SUFFIXES and "__pycache__" not in f.parts:
                h.update(f.relative_to(root).as_posix().encode())
                h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]


def costs_fingerprint(table) -> str:
    h = pd.util.hash_pandas_object(table.frame, index=False).to_numpy()
    return hashlib.sha256(h.tobytes()).hexdigest()[:16]


def platform_fingerprint(platform) -> dict:
    return dict(
        name=platform.name, bandwidth=platform.bandwidth,
        subs=[(s.type, s.clock_hz, s.idle_power_w) for s in platform.subs],
    )


def cell_path(folder: Path, spec: CellSpec) -> Path:
    safe = spec.scheduler.replace("/", "_")
    return folder / f"{safe}-{spec.key()}.json"


def load_cell(folder: Path, spec: CellSpec) -> dict | None:
    p = cell_path(folder, spec)
    try:
        if p.is_symlink() or not p.is_file():
            return None
        data = json.loads(p.read_bytes().decode("utf-8"))
    except (ValueError, OSError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None  # a damaged cell is recomputed
    return data if _well_formed(data, spec.key()) else None


def _well_formed(data, key: str) -> bool:
    """The shape :func:`cell_data` writes: anything else (``null``, a list, a cut record) is not trusted."""
    return (isinstance(data, dict) and data.get("key") == key and isinstance(data.get("summary"), dict)
            and isinstance(data.get("tenants"), list) and isinstance(data.get("slos"), list)
            and all(isinstance(r, dict) for r in data["tenants"] + data["slos"])
            and isinstance(data["summary"].get("tenants_upheld"), (int, float)))


def cell_data(spec: CellSpec, result) -> dict:
    """The JSON-ready record of a finished cell (what :func:`load_cell` returns)."""
    data = dict(
        key=spec.key(), scheduler=spec.scheduler, load=spec.load, seed=spec.seed,
        summary=result.summary,
        tenants=result.tenants.to_dict(orient="records"),
        slos=result.slos.to_dict(orient="records"),
    )
    # round-trip through JSON so a fresh cell and a cached one are the same plain values
    return json.loads(json.dumps(data, default=_json_default))


def write_cell(folder: Path, spec: CellSpec, data: dict) -> None:
    atomic_write_text(cell_path(folder, spec), json.dumps(data, default=_json_default))


def save_cell(folder: Path, spec: CellSpec, result) -> dict:
    data = cell_data(spec, result)
    write_cell(folder, spec, data)
    return data


def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(type(o))
