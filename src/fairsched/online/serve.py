"""The serving demo: real layer-by-layer inference driven by the dispatcher, held against the simulator.

:func:`run_real` serves a fixed open-loop arrival list on real executors (threads running ONNX Runtime
sessions, :mod:`.executors`): a load generator thread submits each request at its time, executor
threads ask the dispatcher for work when they go idle (:meth:`Dispatcher.next_for`), and a watchdog
thread enforces firm deadlines (aborting running layers). Everything is in-process, bounded (it stops
after the last arrival's deadline) and needs no network.

:func:`run_sim` runs the same arrivals in the simulator with the profiled cost table; :func:`sim_to_real`
puts the per-SLO hit rates side by side with the gap.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd

from fairsched.metrics import slo_frame, summary, tenant_frame
from fairsched.online.dispatcher import Dispatcher
from fairsched.online.executors import Executor
from fairsched.online.replay import poisson_arrivals
from fairsched.sim.engine import SimConfig, Simulator

#: The demo's own small scenario: 5 tenants, 7 SLOs on three CNNs. Deadlines are multiples of the
#: isolated latency on the fastest executor (from the profiled table), 4x to 12x: a CPU shared with
#: other processes stalls threads for milliseconds at a time, so budgets of 2-3x (tens of ms) would
#: measure the machine's time slicing more than the scheduler.
DEMO_SCENARIO = dict(
    name="serve-demo",
    description="five tenants on ONNX Runtime CPU executors",
    load=0.6,
    requests=1000,
    warmup_fraction=0.1,
    tenants=[
        dict(name="camera", slos=[dict(model="resnet18", target=0.95, deadline_x=6.0, rate_share=1.0)]),
        dict(name="phone", slos=[dict(model="mobilenetv2", target=0.9, deadline_x=5.0, rate_share=2.0),
                                 dict(model="squeezenet", target=0.9, deadline_x=5.0, rate_share=1.0)]),
        dict(name="kiosk", slos=[dict(model="squeezenet", target=0.99, deadline_x=8.0, rate_share=1.5)]),
        dict(name="batch", slos=[dict(model="resnet18", target=0.8, deadline_x=12.0, rate_share=1.0),
                                 dict(model="mobilenetv2", target=0.8, deadline_x=10.0, rate_share=1.0)]),
        dict(name="robot", slos=[dict(model="mobilenetv2", target=0.95, deadline_x=4.0, rate_share=1.0)]),
    ],
)
#: Models and their spatial down-scaling (times ``--scale``): ResNet-18 at half resolution so the
#: three have isolated latencies of the same order (a few ms to about 10 ms per request alone).
DEMO_MODELS = {"resnet18": 2.0, "mobilenetv2": 1.0, "squeezenet": 1.0}


def make_executors(platform, runners: dict) -> list[Executor]:
    return [Executor(s.index, runners[s.type]) for s in platform.subs]


def run_real(platform, costs, workload, scheduler, arrivals, executors: list[Executor], *, seed: int = 0,
             max_extra_s: float | None = None) -> Dispatcher:
    """Serve ``arrivals`` (``(time s, slo)``) on ``executors``; returns the dispatcher with the results."""
    disp = Dispatcher(platform, costs, workload, scheduler, seed=seed, n_total=len(arrivals),
                      on_abort=lambda i, req: executors[i].abort())
    arrivals_done = threading.Event()
    stop = threading.Event()
    errors: list[BaseException] = []

    def guarded(fn):
        def w(*a):
            try:
                fn(*a)
            except BaseException as e:  # noqa: BLE001 - reported by the main thread
                errors.append(e)
                stop.set()
                with disp.cond:
                    disp.cond.notify_all()
        return w

    @guarded
    def loadgen():
        base = disp.time()  # arrival times count from the generator's start, not the threads' start-up
        for t, s in arrivals:
            if stop.is_set():
                break
            dt = base + t - disp.time()
            if dt > 0:
                time.sleep(dt)  # open loop: submit at the arrival time whatever the backlog
            disp.request_arrived(s)
            disp.dispatch()
        arrivals_done.set()
        with disp.cond:
            disp.cond.notify_all()

    @guarded
    def executor(i):
        ex = executors[i]
        a = None
        while True:
            if a is None:
                with disp.cond:
                    while (a := disp.take(i)) is None:
                        if stop.is_set() or (arrivals_done.is_set() and disp.quiet()):
                            return
                        disp.cond.wait(0.05)
            req, k = a
            ex.run(req.model, k)
            disp.layer_finished(i)  # a finish, or the acknowledgement of an abort
            a = disp.next_for(i)

    @guarded
    def watchdog():
        while not stop.is_set() and not (arrivals_done.is_set() and disp.quiet()):
            with disp.cond:
                wait = min(disp.next_deadline() - disp.time(), 0.02)
                if wait > 0:
                    disp.cond.wait(wait)
            if disp.expire():
                disp.dispatch()

    threads = [threading.Thread(target=loadgen, name="loadgen", daemon=True),
               threading.Thread(target=watchdog, name="watchdog", daemon=True)]
    threads += [threading.Thread(target=executor, args=(i,), name=f"executor{i}", daemon=True) for i in range(disp.M)]
    for t in threads:
        t.start()
    last = arrivals[-1][0] if arrivals else 0.0
    bound = last + max(workload_deadlines(workload)) + (5.0 if max_extra_s is None else max_extra_s)
    threads[0].join(timeout=bound + 5.0)
    for t in threads[1:]:
        t.join(timeout=max(0.1, bound - disp.time()))
    stop.set()
    for ex in executors:
        ex.abort()
    with disp.cond:
        disp.cond.notify_all()
    for t in threads:
        t.join(timeout=5.0)
    if errors:
        raise errors[0]
    return disp


def workload_deadlines(workload) -> list[float]:
    return [s.deadline for s in workload.slos]


def run_sim(platform, costs, workload, scheduler, arrivals, *, seed: int = 0) -> Simulator:
    from fairsched.schedulers.registry import make

    sim = Simulator(platform, costs, workload, SimConfig(seed=seed), arrivals=arrivals)
    return sim.run(make(scheduler))


def frames(state, label: str, mode: str):
    """``(summary row, tenants, slos)`` of a finished dispatcher or simulator."""
    slos = slo_frame(state)
    tenants = tenant_frame(slos)
    row = dict(scheduler=label, mode=mode, **summary(state, slos, tenants))
    for df in (slos, tenants):
        df.insert(0, "mode", mode)
        df.insert(0, "scheduler", label)
    return row, tenants, slos


def sim_to_real(slos: pd.DataFrame) -> pd.DataFrame:
    """Per (scheduler, SLO): real and simulated hit rate side by side, gap in points (real - sim)."""
    keys = ["scheduler", "tenant", "model", "target"]
    r = slos[slos["mode"] == "real"].set_index(keys)
    s = slos[slos["mode"] == "sim"].set_index(keys)
    out = pd.DataFrame({"requests_real": r["requests"], "hit_rate_real": r["hit_rate"],
                        "requests_sim": s["requests"], "hit_rate_sim": s["hit_rate"]})
    out["gap_points"] = (out["hit_rate_real"] - out["hit_rate_sim"]) * 100
    out["achieved_real"] = r["achieved"]
    out["achieved_sim"] = s["achieved"]
    if (slos["mode"] == "sim-inrun").any():
        m = slos[slos["mode"] == "sim-inrun"].set_index(keys)
        out["hit_rate_sim_inrun"] = m["hit_rate"]
        out["gap_inrun_points"] = (out["hit_rate_real"] - out["hit_rate_sim_inrun"]) * 100
    return out.reset_index()


def demo_arrivals(workload, seconds: float, seed: int):
    n = max(20, int(round(workload.total_rate * seconds)))
    return poisson_arrivals(workload, n, seed=seed)


def overhead_table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["load", "scheduler", "decisions", "decision_us_p50", "decision_us_p99"])


def decision_quantiles(disp: Dispatcher) -> tuple[float, float]:
    ns = np.asarray(disp.decision_ns, dtype=np.float64)
    if not len(ns):
        return float("nan"), float("nan")
    return float(np.quantile(ns, 0.5) / 1e3), float(np.quantile(ns, 0.99) / 1e3)


def in_run_costs(disp: Dispatcher, costs):
    """A cost table from the real run itself: per (model, layer, kind) the mean measured time of
    the layers that finished (others keep the profiled time, scaled by the kind's median ratio of
    measured to profiled). Simulating with it separates the simulator's own error from a profile
    gone stale (other users' load on a shared machine changes between profiling and serving)."""
    from collections import defaultdict

    from fairsched.costs.table import from_frame

    kind_of = [s.type for s in disp.platform.subs]
    model_of = {r[0]: r[3] for r in disp.request_log or []}
    meas: dict[tuple, list] = defaultdict(list)
    for st, en, i, rid, k, what in disp.layer_trace:
        if what == "done" and rid in model_of:
            meas[(model_of[rid], k, kind_of[i])].append(en - st)
    df = costs.frame.copy()
    prof = df["cycles"].to_numpy(np.float64) / 1e9
    med = np.array([np.mean(meas[(m, k, t)]) if meas.get((m, k, t)) else np.nan
                    for m, k, t in zip(df["model"], df["layer_index"], df["accel_type"])])
    ratio = {t: float(np.nanmedian((med / prof)[(df["accel_type"] == t).to_numpy()])) if np.isfinite(
        med[(df["accel_type"] == t).to_numpy()]).any() else 1.0 for t in df["accel_type"].unique()}
    fill = prof * df["accel_type"].map(ratio).to_numpy(np.float64)
    df["cycles"] = np.where(np.isfinite(med), med, fill) * 1e9
    return from_frame(df, "in-run measured cost table")
