"""``fairsched costs profile``: measure the executors' per-layer cost table.

Every layer of every model is timed on every executor kind (the mean, or the median, of ``reps`` runs
after a warm-up run), and written as a cost table in the project's CSV format: ``cycles`` at a
nominal 1 GHz clock (so cycles = nanoseconds), ``dram_bytes = 0`` (the CPU executors share no modelled
bandwidth), ``energy_pj = macs`` (a placeholder: energy is not measured). The simulator and the
dispatcher read it like any other table, with :func:`executor_platform` as the platform.

By default the kinds are timed concurrently, one thread each, as they run when serving: executors
that share cores, caches and memory slow each other down, and a table measured alone would be too
optimistic. On a machine that others use, times stay noisy (other users' load changes between the
profile and the serving run); that is part of what the sim-to-real comparison shows. The mean is the
default statistic: on a shared CPU a layer is now and then preempted for a whole time slice (the
mean was 5-10x the median on the development machine), and the mean is what sets the executors'
capacity, hence the load; the median describes an undisturbed layer.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from fairsched.costs.table import COLUMNS, from_frame
from fairsched.errors import InputError
from fairsched.online.executors import LayerRunner, check_kind
from fairsched.platform.config import Platform

CLOCK_HZ = 1e9  # nominal: cycles of the profiled table are nanoseconds
NO_CONTENTION_BW = 1e18  # bytes/s: the table has no traffic, so any bandwidth gives no contention


def parse_executors(text: str) -> list[tuple[str, int]]:
    """``"ort-opt:1,ort-noopt:1"`` -> ``[("ort-opt", 1), ("ort-noopt", 1)]``."""
    out = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        kind, _, n = part.partition(":")
        try:
            check_kind(kind)
        except InputError as e:
            raise InputError(f"--executors: {e}") from None
        try:
            cnt = int(n) if n else 1
        except ValueError:
            raise InputError(f"--executors: '{part}' needs KIND:COUNT with a whole count, e.g. ort-opt:1") from None
        if not 1 <= cnt <= 16:
            raise InputError(f"--executors: count of '{kind}' must be 1..16, got {cnt}")
        out.append((kind, cnt))
    if not out:
        raise InputError("--executors: give at least one KIND:COUNT, e.g. ort-opt:1,ort-noopt:1")
    kinds = [k for k, _ in out]
    if len(set(kinds)) != len(kinds):
        raise InputError(f"--executors: kind listed twice in {text!r}; give each kind once with its count")
    return out


def executor_platform(executors: list[tuple[str, int]]) -> Platform:
    """One sub-accelerator per executor; its type is the executor kind."""
    return Platform.build([(k, n, CLOCK_HZ, 0.0) for k, n in executors], NO_CONTENTION_BW, name="onnxruntime-cpu")


STATS = {"mean": np.mean, "median": np.median}


def profile_runner(runner: LayerRunner, reps: int = 7, stat: str = "mean") -> list[dict]:
    rows = []
    for m, sess in runner.sessions.items():
        for k in range(len(sess)):
            runner.run(m, k)  # warm-up
            ts = []
            for _ in range(reps):
                t0 = time.perf_counter()
                runner.run(m, k)
                ts.append(time.perf_counter() - t0)
            l = runner.layers[m][k]
            rows.append(dict(model=m, layer_index=k, layer_name=l.name, kind=l.kind, accel_type=runner.kind,
                             macs=l.macs, cycles=float(STATS[stat](ts)) * CLOCK_HZ, dram_bytes=0.0,
                             energy_pj=float(max(l.macs, 1))))
    return rows


def profile(kinds: list[str], models: list[str], scale: float, reps: int = 7, runners: dict | None = None,
            concurrent: bool = True, stat: str = "mean"):
    """Profile ``models`` on each kind; returns ``(CostTable, runners by kind)`` (runners reused).

    ``concurrent`` (default): all kinds are timed at the same time, one thread each, as they run
    when serving (they share the cores, caches and memory); else one kind after the other, alone."""
    if reps < 1:
        raise InputError(f"--reps: must be >= 1, got {reps}")
    if stat not in STATS:
        raise InputError(f"--stat: '{stat}' is not one of {', '.join(STATS)}")
    runners = dict(runners or {})
    for kind in kinds:
        if kind not in runners:
            runners[kind] = LayerRunner(kind, models, scale)
    if not concurrent:
        rows = [r for kind in kinds for r in profile_runner(runners[kind], reps, stat)]
    else:
        import threading

        out: dict[str, list] = {}
        ts = [threading.Thread(target=lambda k=k: out.__setitem__(k, profile_runner(runners[k], reps, stat))) for k in kinds]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        rows = [r for k in kinds for r in out[k]]
    df = pd.DataFrame(rows, columns=COLUMNS)
    return from_frame(df, "profiled cost table"), runners
