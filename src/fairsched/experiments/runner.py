"""Run a batch of cells on a local process pool or a Ray cluster, skipping cells already on disk.

Both ``fairsched compare`` and sweeps go through :func:`run_cells`. Each finished cell is written
atomically the moment it completes, so an interrupted batch resumes where it stopped.

Backends:

* ``local`` (default): a process pool of ``jobs`` workers on this machine (``jobs=1``: in-process).
  Workers compute and return a cell; only this (parent) process writes cell files, so a worker
  killed part-way never leaves a file behind. Workers ignore SIGINT: on Ctrl-C the parent kills them
  at once and cancels the queue (finished cells stay, nothing else is written). Workers also watch
  their parent and exit when it dies (SIGKILL included), so no orphaned pool keeps computing.
* ``ray``: one Ray task per cell, on the cluster at ``address`` (``ray.init(address=...)``) or, without
  an address, on a Ray instance started here with ``jobs`` CPUs. If the caller already called
  ``ray.init``, that instance is used as is. Workers compute and return the cell; the driver writes
  it, so the cluster needs no shared file system, only ``fairsched`` installed on its nodes. Ray is an
  optional extra (``pip install 'fairsched[ray]'``) imported only here.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Sequence

from fairsched.api import run_one
from fairsched.errors import InputError
from fairsched.experiments.cells import CellSpec, cell_data, load_cell, save_cell, write_cell

BACKENDS = ("local", "ray")


def _compute(platform, costs, workload, spec: CellSpec, core: str = "auto") -> dict:
    return cell_data(spec, run_one(platform, costs, workload, spec.scheduler, seed=spec.seed, core=core))


def _run(platform, costs, workload, spec: CellSpec, folder: Path, core: str = "auto") -> dict:
    res = run_one(platform, costs, workload, spec.scheduler, seed=spec.seed, core=core)
    return save_cell(folder, spec, res)


def _worker_init(parent: int) -> None:
    """Pool worker set-up: leave Ctrl-C to the parent, drop its --out lock, die with it."""
    from fairsched.io import forget_inherited_locks

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    forget_inherited_locks()
    try:  # Linux: the kernel kills us when the parent dies
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:  # everywhere else (and belt and braces): poll the parent
        import time

        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="fairsched-parent-watch").start()


def _kill_pool(ex: ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel what has not started, kill what is running (results are discarded)."""
    procs = list((getattr(ex, "_processes", None) or {}).values())
    ex.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        try:
            p.kill()
        except (OSError, ValueError):
            pass
    for p in procs:
        try:
            p.join(timeout=2)
        except (OSError, ValueError, AssertionError):
            pass


def import_ray():
    """Import Ray or explain how to get it."""
    try:
        import ray
    except ImportError:
        raise InputError(
            "--backend ray: Ray is not installed; install the optional extra with "
            "`pip install 'fairsched[ray]'`, or use --backend local"
        ) from None
    return ray


def run_cells(
    jobs_in: Sequence[tuple[CellSpec, object, object, object]],
    folder: Path,
    *,
    jobs: int | None = None,
    on_done: Callable[[CellSpec, dict, bool], None] | None = None,
    backend: str = "local",
    address: str | None = None,
    core: str = "auto",
) -> list[dict]:
    """``jobs_in``: (spec, platform, costs, workload) tuples. Returns cell dicts in input order.

    ``on_done(spec, cell, cached)`` is called as each cell finishes (for progress bars).
    ``core``: the simulator's event loop (``SimConfig.core``); results do not depend on it, so
    it is not part of a cell's key.
    """
    if backend not in BACKENDS:
        raise InputError(f"--backend: '{backend}' is unknown; use one of {', '.join(BACKENDS)}")
    if address and backend != "ray":
        raise InputError("--address: only used with --backend ray; add --backend ray or drop --address")
    out: list[dict | None] = [None] * len(jobs_in)
    todo = []
    for i, (spec, *_rest) in enumerate(jobs_in):
        cell = load_cell(folder, spec)
        if cell is not None:
            out[i] = cell
            if on_done:
                on_done(spec, cell, True)
        else:
            todo.append(i)

    def finish(i: int, cell: dict) -> None:
        out[i] = cell
        if on_done:
            on_done(jobs_in[i][0], cell, False)

    if backend == "ray":
        if todo:
            _run_ray(jobs_in, todo, folder, jobs, address, finish, core)
        return out  # type: ignore[return-value]
    n = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    if n == 1:
        for i in todo:
            spec, plat, costs, wl = jobs_in[i]
            finish(i, _run(plat, costs, wl, spec, folder, core))
    elif todo:
        ex = ProcessPoolExecutor(max_workers=n, initializer=_worker_init, initargs=(os.getpid(),))
        try:
            futs = {ex.submit(_compute, *jobs_in[i][1:], jobs_in[i][0], core): i for i in todo}
            for f in as_completed(futs):
                i = futs[f]
                cell = f.result()
                write_cell(folder, jobs_in[i][0], cell)
                finish(i, cell)
        except BaseException:  # Ctrl-C, a failed cell, a full disk: stop everything now
            _kill_pool(ex)
            raise
        ex.shutdown(wait=True)
    return out  # type: ignore[return-value]


def check_ray_address(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on an unreachable ``host:port`` (Ray itself retries for minutes before giving up).

    ``auto`` and ``ray://`` client addresses are left to Ray.
    """
    if address == "auto" or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise InputError(f"--address: '{address}' is not host:port (e.g. 10.0.0.5:6379, or `auto`); fix the address")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise InputError(f"--address: cannot reach a Ray cluster at '{address}' ({e.strerror or e}); "
                         "start one with `ray start --head` or drop --address to run Ray locally") from None


def _run_ray(jobs_in, todo, folder: Path, jobs: int | None, address: str | None, finish, core: str = "auto") -> None:
    if address:
        check_ray_address(address)
    ray = import_ray()
    started = False
    if not ray.is_initialized():
        kw = dict(include_dashboard=False, log_to_driver=False, logging_level="warning")
        try:
            if address:
                ray.init(address=address, **kw)
            else:
                ray.init(num_cpus=jobs or os.cpu_count() or 1, **kw)
        except ConnectionError as e:
            raise InputError(f"--address: cannot connect to a Ray cluster at '{address}' ({e}); "
                             "start one with `ray start --head` or drop --address to run Ray locally") from None
        started = True
    try:
        task = ray.remote(num_cpus=1)(_compute)
        shared: dict[int, object] = {}  # id(object) -> ObjectRef: each platform/table/workload is sent once

        def put(o):
            ref = shared.get(id(o))
            if ref is None:
                ref = shared[id(o)] = ray.put(o)
            return ref

        refs = {}
        for i in todo:
            spec, plat, costs, wl = jobs_in[i]
            refs[task.remote(put(plat), put(costs), put(wl), spec, core)] = i
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for r in ready:
                i = refs[r]
                cell = ray.get(r)
                if cell["key"] != jobs_in[i][0].key():  # the key hashes the code that computed the cell
                    raise InputError(
                        "--backend ray: the Ray workers run different fairsched code than this driver "
                        "(cell keys differ); install the same fairsched version and files on every node"
                    )
                write_cell(folder, jobs_in[i][0], cell)
                finish(i, cell)
    finally:
        if started:
            ray.shutdown()
