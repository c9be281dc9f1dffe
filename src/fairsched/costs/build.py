"""Build the cost table with zigzag-dse: every unique (layer shape, accelerator type), in parallel, resumable.

Pipeline: zoo models -> unique (layer shape, type) jobs -> a process pool running
:func:`fairsched.costs.zigzag_adapter.run_layer` -> a cache (one JSON line per finished job, appended and
fsync'ed, so an interrupted build resumes where it stopped) -> the CSV and its meta JSON, written
atomically. The cache key covers the layer shape, the type's zigzag hardware and mapping files, the
search settings and the zigzag version, so editing a hardware file re-runs exactly its jobs.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd
import yaml

from fairsched.costs.table import COLUMNS, validate_cost_frame
from fairsched.errors import InputError
from fairsched.io import atomic_write_text
from fairsched.platform.config import (ACCEL_DIR, AcceleratorType, accelerator_type_path,
                                       available_accelerator_types, load_accelerator_type)
from fairsched.workload.zoo import ALL_MODEL_NAMES, MODEL_NAMES, LayerShape, get_model

FORMAT_VERSION = 1
DEFAULT_TYPES: tuple[str, ...] = ("eyeriss_like", "simba_like", "tpu_like")
CACHE_SUFFIX = ".cache.jsonl"


@dataclass(frozen=True)
class TypeFiles:
    name: str
    hardware: Path
    mapping: Path
    precision: tuple[tuple[str, int], ...] = ()  # () = the default 8/8/16/8 bits
    spatial_rule: str | None = None
    folder: Path = ACCEL_DIR

    def digest(self) -> str:
        """Hash of the parsed hardware and mapping (comments and layout do not count), plus the type's
        precision and spatial rule when they differ from the defaults (so old cache keys stay valid)."""
        try:
            content = [yaml.safe_load(self.hardware.read_text()), yaml.safe_load(self.mapping.read_text())]
        except yaml.YAMLError as e:
            raise InputError(f"accelerator type '{self.name}': a zigzag file is not valid YAML ({e}); fix it") from None
        if self.precision or self.spatial_rule:
            content.append([list(self.precision), self.spatial_rule])
        return hashlib.sha256(json.dumps(content, sort_keys=False).encode()).hexdigest()[:16]

    def precision_dict(self) -> dict[str, int] | None:
        return dict(self.precision) if self.precision else None

    def describe(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.folder))
        except ValueError:
            return path.name


@dataclass(frozen=True)
class Job:
    key: str
    layer: LayerShape
    accel_type: str
    hardware: str
    mapping: str
    precision: tuple[tuple[str, int], ...] = ()
    spatial_rule: str | None = None


def zigzag_version() -> str:
    try:
        return metadata.version("zigzag-dse")
    except metadata.PackageNotFoundError:
        return "not installed"


DEFAULT_PRECISION = {"W": 8, "I": 8, "O": 16, "O_final": 8}


def type_files(name: str) -> TypeFiles:
    """The zigzag files of a type: a shipped name or the path of a type YAML in any folder (its
    ``zigzag_hardware`` and ``zigzag_mapping`` are relative to that YAML's folder)."""
    path = accelerator_type_path(name)
    t: AcceleratorType = load_accelerator_type(name)
    if not t.zigzag_hardware or not t.zigzag_mapping:
        raise InputError(
            f"accelerator type '{name}': zigzag_hardware/zigzag_mapping are not set; "
            "a type needs both to be built with zigzag-dse"
        )
    folder = path.parent
    hw, mp = folder / t.zigzag_hardware, folder / t.zigzag_mapping
    for p, f in ((hw, "zigzag_hardware"), (mp, "zigzag_mapping")):
        if not p.is_file():
            raise InputError(f"accelerator type '{name}': {f} file '{p}' does not exist; "
                             "give a path relative to the type YAML's folder")
    prec = t.precision
    prec_t = () if prec == DEFAULT_PRECISION else tuple(sorted(prec.items()))
    return TypeFiles(t.name, hw, mp, prec_t, t.spatial_rule, folder)


def check_hardware(tf: TypeFiles) -> None:
    """Reject a type's zigzag hardware file before any job runs (one clear error instead of a failed worker)."""
    try:
        data = yaml.safe_load(tf.hardware.read_text())
    except yaml.YAMLError:
        raise InputError(f"accelerator type '{tf.name}': zigzag_hardware '{tf.hardware.name}' is not valid YAML; "
                         "fix the syntax") from None
    where = f"accelerator type '{tf.name}': zigzag_hardware '{tf.hardware.name}'"
    if not isinstance(data, dict) or "memories" not in data or "operational_array" not in data:
        raise InputError(f"{where} needs `memories` and `operational_array` (see zigzag-dse's hardware format)")
    try:
        from zigzag.parser.accelerator_validator import AcceleratorValidator
    except ImportError:
        return
    try:
        v = AcceleratorValidator(data)
        ok = v.validate()
    except Exception as e:  # the validator itself trips over some malformed files
        raise InputError(f"{where} is rejected by zigzag-dse ({type(e).__name__}: {e}); fix the file") from None
    if not ok:
        raise InputError(f"{where} is rejected by zigzag-dse: {v.validator.errors}; fix the file")


def job_key(layer: LayerShape, tf_digest: str, accel_type: str, opt: str, lpf_limit: int, zz: str) -> str:
    raw = json.dumps([list(layer.shape_key()), accel_type, tf_digest, opt, lpf_limit, zz])
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def read_cache(path: Path) -> dict[str, dict[str, Any]]:
    """Finished jobs by key; a torn last line (killed mid-write) is ignored."""
    out: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return out
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and "key" in rec:
            out[rec["key"]] = rec
    return out


def _append_cache(path: Path, rec: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(rec, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _worker_init(parent_pid: int) -> None:
    """Exit the worker when the builder dies (a killed parent must not leave zigzag searches behind)."""
    import threading

    def watch() -> None:
        while True:
            time.sleep(2.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _run_job(job: Job, opt: str, lpf_limit: int) -> dict[str, Any]:
    from fairsched.costs.zigzag_adapter import run_layer

    t0 = time.perf_counter()
    r = run_layer(job.layer, job.hardware, job.mapping, opt=opt, lpf_limit=lpf_limit,
                  precision=dict(job.precision) if job.precision else None, spatial_rule=job.spatial_rule)
    r["seconds"] = round(time.perf_counter() - t0, 3)
    r["key"] = job.key
    r["accel_type"] = job.accel_type
    r["shape"] = list(job.layer.shape_key())
    return r


def _is_path(spec: str) -> bool:
    return Path(spec).suffix in (".yaml", ".yml")


def _check_names(models: Iterable[str] | None, types: Iterable[str] | None) -> tuple[list[str], list[str]]:
    models = list(models) if models else list(MODEL_NAMES)
    types = list(types) if types else list(DEFAULT_TYPES)
    for m in models:
        if m not in ALL_MODEL_NAMES:
            raise InputError(f"--models: unknown model '{m}'; use some of {list(ALL_MODEL_NAMES)} "
                             "or the path of an ONNX / layer-list YAML / CSV file")
    known = available_accelerator_types()
    for t in types:
        if t not in known and not _is_path(t):
            raise InputError(f"--types: unknown accelerator type '{t}'; use some of {known} "
                             "or the path of a type YAML (see docs/costs.md)")
    return models, types


def build_cost_table(
    models: Iterable[str] | None = None,
    types: Iterable[str] | None = None,
    *,
    jobs: int = 1,
    out: str | Path | None = None,
    opt: str = "EDP",
    lpf_limit: int = 6,
    on_progress: Callable[[int, int, str], None] | None = None,
    zoo: dict[str, list[LayerShape]] | None = None,
) -> dict[str, Any]:
    """Build (or finish) the cost table; return the meta dict that is written beside the CSV.

    ``zoo`` replaces the shipped model zoo (name -> layers), e.g. to cost your own layer list.
    ``jobs == 1`` runs in this process (no pool).
    """
    from fairsched.costs.zigzag_adapter import DEFAULT_LPF_LIMIT  # noqa: F401  (fails early without zigzag)

    if jobs < 1:
        raise InputError("--jobs: must be >= 1")
    if zoo is not None:
        models = list(models) if models else list(zoo)
        _, types = _check_names(None, types)
        unknown = [m for m in models if m not in zoo]
        if unknown:
            raise InputError(f"--models: {unknown} not in the given zoo {list(zoo)}")
    else:
        models, types = _check_names(models, types)
    if out is None:
        raise InputError("--out: give the CSV to write (the shipped table is never overwritten in place)")
    out = Path(out)
    if out.is_dir():
        raise InputError(f"--out: '{out}' is a folder; give the path of a CSV file to write")
    cache_path = out.with_name(out.stem + CACHE_SUFFIX)
    zz = zigzag_version()
    files: dict[str, TypeFiles] = {}
    for spec in types:
        tf = type_files(spec)
        if tf.name in files:
            raise InputError(f"--types: two types are named '{tf.name}'; give each type YAML its own name")
        files[tf.name] = tf
    for tf in files.values():
        check_hardware(tf)
    types = list(files)
    digests = {t: f.digest() for t, f in files.items()}

    layers = {m: (zoo[m] if zoo is not None else get_model(m)) for m in models}
    todo: dict[str, Job] = {}
    for m in models:
        for layer in layers[m]:
            for t in types:
                k = job_key(layer, digests[t], t, opt, lpf_limit, zz)
                if k not in todo:
                    todo[k] = Job(k, layer, t, str(files[t].hardware), str(files[t].mapping),
                                  files[t].precision, files[t].spatial_rule)
    cache = read_cache(cache_path)
    pending = [j for k, j in todo.items() if k not in cache]
    # biggest layers first: better load balance at the end of the run
    pending.sort(key=lambda j: -j.layer.macs)
    total, done = len(todo), len(todo) - len(pending)
    if on_progress:
        on_progress(done, total, "cached")

    t0 = time.perf_counter()

    def finish(rec: dict[str, Any], j: Job) -> None:
        nonlocal done
        _append_cache(cache_path, rec)
        cache[rec["key"]] = rec
        done += 1
        if on_progress:
            on_progress(done, total, f"{j.accel_type} {j.layer.name}")

    def failed(j: Job, e: BaseException) -> RuntimeError:  # a zigzag failure names the layer and type
        return RuntimeError(f"zigzag-dse failed on layer '{j.layer.name}' {j.layer.shape_key()} of type "
                            f"'{j.accel_type}': {type(e).__name__}: {e}")

    if pending and jobs == 1:
        for j in pending:
            try:
                rec = _run_job(j, opt, lpf_limit)
            except Exception as e:
                raise failed(j, e) from e
            finish(rec, j)
    elif pending:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                 initargs=(os.getpid(),)) as pool:
            futures = {pool.submit(_run_job, j, opt, lpf_limit): j for j in pending}
            remaining = set(futures)
            try:
                while remaining:
                    finished, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        j = futures[fut]
                        try:
                            rec = fut.result()
                        except Exception as e:
                            raise failed(j, e) from e
                        finish(rec, j)
            except BaseException:  # Ctrl-C or a failed job: stop now, keep what is cached
                pool.shutdown(wait=False, cancel_futures=True)
                for proc in list((getattr(pool, "_processes", None) or {}).values()):
                    proc.terminate()
                raise
    wall = time.perf_counter() - t0

    rows = []
    for m in models:
        for i, layer in enumerate(layers[m]):
            for t in types:
                r = cache[job_key(layer, digests[t], t, opt, lpf_limit, zz)]
                rows.append((m, i, layer.name, layer.kind, t, layer.macs, int(r["cycles"]), int(r["dram_bytes"]),
                             round(float(r["energy_pj"]), 1)))
    df = pd.DataFrame(rows, columns=COLUMNS)
    validate_cost_frame(df, "built cost table")
    from fairsched.costs.physics import TypeLimits, check_physics, _pe_count

    limits = {t: TypeLimits(_pe_count(str(files[t].hardware)), files[t].precision_dict() or dict(DEFAULT_PRECISION))
              for t in types}
    physics = [v.message() for v in check_physics(df, layers, limits)]
    seconds = sum(float(cache[k].get("seconds", 0.0)) for k in todo)
    meta = {
        "format_version": FORMAT_VERSION,
        "generator": "fairsched costs build",
        "cost_model": "zigzag-dse",
        "zigzag_version": zz,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "types": {t: {"zigzag_hardware": files[t].describe(files[t].hardware),
                      "zigzag_mapping": files[t].describe(files[t].mapping),
                      "operand_precision_bits": files[t].precision_dict() or dict(DEFAULT_PRECISION),
                      "spatial_rule": files[t].spatial_rule,
                      "content_sha256_16": digests[t]} for t in types},
        "models": {m: {"layers": len(layers[m]), "macs": int(sum(x.macs for x in layers[m]))} for m in models},
        "build": {
            "opt": opt,
            "lpf_limit": lpf_limit,
            "nb_spatial_mappings_generated": 1,
            "temporal_mapping_search": "loma, uneven",
            "operand_precision_bits": "per type (see types)",
            "dram_bandwidth_for_cycles": "unlimited (DRAM port widened)",
            "unique_jobs": total,
            "jobs_run_this_time": len(pending),
            "workers": jobs,
            "wall_seconds_this_run": round(wall, 1),
            "cpu_seconds_all_jobs": round(seconds, 1),
        },
        "physics_warnings": physics,
    }
    atomic_write_text(out, df.to_csv(index=False))
    atomic_write_text(out.with_name(out.stem + ".meta.json"), json.dumps(meta, indent=2) + "\n")
    return meta
