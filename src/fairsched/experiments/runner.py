"""Run a batch of cells on a local process pool, skipping cells already on disk.

Both ``fairsched compare`` and sweeps go through :func:`run_cells`. Each finished cell is written
atomically the moment it completes, so an interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Sequence

from fairsched.api import run_one
from fairsched.experiments.cells import CellSpec, load_cell, save_cell


def _run(platform, costs, workload, spec: CellSpec, folder: Path) -> dict:
    res = run_one(platform, costs, workload, spec.scheduler, seed=spec.seed)
    return save_cell(folder, spec, res)


def run_cells(
    jobs_in: Sequence[tuple[CellSpec, object, object, object]],
    folder: Path,
    *,
    jobs: int | None = None,
    on_done: Callable[[CellSpec, dict, bool], None] | None = None,
) -> list[dict]:
    """``jobs_in``: (spec, platform, costs, workload) tuples. Returns cell dicts in input order.

    ``on_done(spec, cell, cached)`` is called as each cell finishes (for progress bars).
    """
    folder.mkdir(parents=True, exist_ok=True)
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
    n = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    if n == 1:
        for i in todo:
            spec, plat, costs, wl = jobs_in[i]
            out[i] = _run(plat, costs, wl, spec, folder)
            if on_done:
                on_done(spec, out[i], False)
    elif todo:
        with ProcessPoolExecutor(max_workers=n) as ex:
            futs = {ex.submit(_run, *jobs_in[i][1:], jobs_in[i][0], folder): i for i in todo}
            for f in as_completed(futs):
                i = futs[f]
                out[i] = f.result()
                if on_done:
                    on_done(jobs_in[i][0], out[i], False)
    return out  # type: ignore[return-value]
