"""Differential test (issue 15): the compiled event loop and the Python oracle loop agree, or both refuse.

Hypothesis draws extreme-but-valid instances: cost tables whose layer times span 1e-12 s to
1e3 s with zero-traffic and heavily bandwidth-bound layers, clocks from 1 MHz to 1 GHz, DRAM from
1 MB/s to 1 TB/s, loads from 0.001 to 5, bursty streams with ON/OFF ratios up to 1e7, and traces
with bursts of simultaneous (zero-gap) arrivals. Each instance is first validated
(``workload.scenario.resolve``); one that is refused is refused for both cores alike (validation
runs before either). One that is accepted runs on the oracle (``tests/oracle/engine_py.py``) and under ``--core compiled`` for
every scheduler with a compiled core, and the per-request logs and summaries (timings aside) must be
identical -- the documented contract of ``SimConfig.core``.

A hang is the failure this guards against, so each run sits under ``faulthandler``'s watchdog: a
run that does not finish in 300 s dumps the stacks and ends the process instead of blocking CI.
"""

from __future__ import annotations

import faulthandler
import math
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from fairsched.api import run_one
from fairsched.costs.table import from_frame
from fairsched.errors import InputError
from fairsched.platform.config import Platform
from fairsched.workload.scenario import ScenarioConfig, resolve
from tests.oracle.engine_py import api_on_oracle

COMPILED = ["edf", "fcfs", "sjf", "llf"]
TIMINGS = ("sim_wall_s", "decision_us_p50", "decision_us_p99")


def log_uniform(lo, hi):
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: float(10.0 ** e))


@st.composite
def instance(draw):
    types = [f"t{i}" for i in range(draw(st.integers(1, 2)))]
    models = [f"m{i}" for i in range(draw(st.integers(1, 3)))]
    clock = {t: draw(log_uniform(1e6, 1e9)) for t in types}
    bandwidth = draw(log_uniform(1e6, 1e12))
    rows = []
    for m in models:
        n_layers = draw(st.integers(1, 4))
        for t in types:
            for k in range(n_layers):
                secs = draw(log_uniform(2e-12, 1e-1))  # compute time of the layer on this type
                dram = draw(st.one_of(st.just(0.0), log_uniform(1.0, 1e9)))
                rows.append(dict(model=m, layer_index=k, layer_name=f"{m}.{k}", kind="conv", accel_type=t, macs=1,
                                 cycles=secs * clock[t], dram_bytes=dram, energy_pj=draw(log_uniform(1e-3, 1e12))))
    table = from_frame(pd.DataFrame(rows), "random table")
    plat = Platform.build([(t, draw(st.integers(1, 3)), clock[t], draw(st.floats(0, 2))) for t in types],
                          bandwidth, name="random")
    trace = None
    tenants = []
    for ti in range(draw(st.integers(1, 3))):
        slos = []
        for _ in range(draw(st.integers(1, 2))):
            kind = draw(st.sampled_from(["poisson", "periodic", "bursty", "trace"]))
            if kind == "periodic":
                arr = dict(kind="periodic", jitter=draw(st.floats(0, 1)))
            elif kind == "bursty":
                arr = dict(kind="bursty", mean_on_ms=draw(log_uniform(1e-3, 1e3)),
                           mean_off_ms=draw(log_uniform(1e-3, 1e4)))
            elif kind == "trace":
                # bursts of simultaneous arrivals: many zero gaps
                sizes = draw(st.lists(st.integers(1, 20), min_size=1, max_size=6))
                times = [i * draw(log_uniform(1e-3, 1e3)) for i, n in enumerate(sizes) for _ in range(n)]
                if len(times) < 2 or times[-1] <= times[0]:
                    times = [0.0, 0.0, 1.0]
                trace = times
                arr = dict(kind="trace", path="t.csv", rescale=draw(st.booleans()))
            else:
                arr = dict(kind="poisson")
            slos.append(dict(model=draw(st.sampled_from(models)), target=draw(st.floats(0, 1)),
                             deadline_x=draw(st.floats(1.0, 50.0)), rate_share=draw(log_uniform(1e-3, 1e3)),
                             arrival=arr))
        tenants.append(dict(name=f"tenant{ti}", slos=slos))
    cfg = ScenarioConfig.model_validate(dict(load=draw(log_uniform(1e-3, 5.0)), requests=draw(st.integers(20, 300)),
                                             warmup_fraction=draw(st.floats(0, 0.5)), tenants=tenants))
    return plat, table, cfg, trace, draw(st.integers(0, 2**32))


def _same(plat, table, wl, seed):
    for name in COMPILED:
        faulthandler.dump_traceback_later(300, exit=True)
        try:
            with api_on_oracle():  # the Python event loop (tests/oracle/engine_py.py)
                a = run_one(plat, table, wl, name, seed=seed, log_requests=True)
            b = run_one(plat, table, wl, name, seed=seed, log_requests=True, core="compiled")
        finally:
            faulthandler.cancel_dump_traceback_later()
        pd.testing.assert_frame_equal(a.requests, b.requests, check_exact=True, obj=f"{name} per-request log")
        nan = "nan"  # NaN != NaN: an undefined metric (e.g. Jain of all-zero hit rates) must be undefined on both
        sa = {k: nan if isinstance(v, float) and v != v else v for k, v in a.summary.items() if k not in TIMINGS}
        sb = {k: nan if isinstance(v, float) and v != v else v for k, v in b.summary.items() if k not in TIMINGS}
        assert sa == sb, name


def _check(inst):
    plat, table, cfg, trace, seed = inst
    note(f"{plat.describe()}; {cfg.model_dump()}; trace {trace}")
    with tempfile.TemporaryDirectory() as d:
        if trace is not None:
            Path(d, "t.csv").write_text("arrival_ms\n" + "\n".join(repr(t) for t in trace) + "\n")
        try:
            wl = resolve(cfg, plat, table, base_dir=Path(d))
        except InputError as e:  # refused before either core runs: both refuse alike
            note(f"refused: {e}")
            event(f"refused: {str(e).split(':')[0]}")
            return
        event("ran on both cores")
        _same(plat, table, wl, seed)


@settings(max_examples=12)
@given(instance())
def test_compiled_and_python_cores_agree_on_extreme_inputs(inst):
    _check(inst)


@pytest.mark.slow
@settings(max_examples=500)
@given(instance())
def test_compiled_and_python_cores_agree_on_extreme_inputs_long(inst):
    _check(inst)
