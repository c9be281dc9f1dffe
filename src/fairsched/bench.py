"""Performance benchmarks, measured side by side in one run (``fairsched bench``).

What is measured, on one scenario (the shipped default unless told otherwise):

* ``sim_layer_events_per_s``: simulator throughput (completed layers per CPU second of
  :meth:`Simulator.run`, one core) with ``edf`` on the core ``core="auto"`` picks for it (the
  compiled one, ``sim/compiled.py``, with the in-kernel rule); ``sim_layer_events_per_s_python``:
  the same runs with ``core="python"`` (the same event loop, each decision by the scheduler's own
  Python ``decide`` called from the kernel, timed), alternated with them; ``compiled_speedup``:
  their ratio, i.e. what the in-kernel rule saves over deciding in Python. (The package has one
  event loop; the pure-Python loop is the test oracle, ``tests/oracle/engine_py.py``.)
  ``sim_layer_events_per_s_drl``: the ``drl`` scheduler (the core ``auto`` picks: compiled);
  ``sim_layer_events_per_s_drl_python``: with ``core="python"`` (whose run also times ``drl``'s
  whole ``decide``). ``policies``: ``drl``, ``relmas`` and their teachers ``triage`` and
  ``llf-masked``, each both ways alternated (``{name: {compiled, python, speedup}}``).
* ``user_scheduler``: a user-style scheduler (``UserEDF``: a plain ``Scheduler`` subclass, EDF in
  a dozen lines of Python, no in-kernel rule) on the compiled event loop with its ``decide`` called
  at each decision point (``core="auto"``, ``sim/pydecide.py``), alternated with the in-kernel
  ``edf`` rule on the same runs: ``{kernel: edf's rule, python: UserEDF, speedup, core: UserEDF's,
  decisions}`` (layer events per CPU second).
* ``jit_compile_s`` / ``jit_cache_load_s``: the compiled core's first call in a fresh process
  with an empty numba cache (compiles), then in another with that cache (loads). Rates never
  include either: each process warms the core up first.
* ``simpy_speedup``: the same arrivals run by the simulator (``edf``, compiled core) and by the
  plain SimPy reference in ``benchmarks/simpy_reference.py`` (present in a source checkout only);
  the ratio of their layer-event rates. ``simpy_hits_equal`` says whether both produced the same
  hits per SLO.
* ``env_steps_per_s``: per-layer Gymnasium env steps per CPU second with random valid actions, on
  the compiled kernel (the env's default core); ``env_steps_per_s_python``: ``core="python"``
  (observations built in Python, the kernel stepped through ``advance`` / ``apply``);
  ``env_steps_per_s_batched``: ``{N: steps/s}`` of N envs stepped in one call
  (``KernelVecEnv``, N = 16 and 64) with one batched ``drl`` forward pass per step (needs ``[rl]``).
* ``cycle_env_steps_per_s``: the cycle env's steps (scheduling cycles) per CPU second, per variant,
  with the dispatch in the kernel and in Python (the kernel stepped; needs ``[rl]``).
* ``decision_us_p50`` / ``decision_us_p99`` and ``predict_speedup``: from
  ``fairsched.rl.bench.decision_latency()`` when that exists (numpy policy vs sb3 ``predict``);
  otherwise p50/p99 of the ``drl`` scheduler's decisions in the simulator and no speedup.
* ``rss_mb_small`` / ``rss_mb_large``: peak resident memory of a fresh process that runs ``edf``
  (compiled core) on ``rss_requests_small`` and ``rss_requests_large`` requests (10^4 and 10^6;
  ``--quick``: 10^4 and 3*10^4; ``--rss-large 10000000`` for 10^7). Equal figures mean memory
  does not grow with the horizon.

Rates are per CPU second of this process (``time.process_time``), so other processes on a shared
machine disturb them less than wall time would; they still depend on the machine (caches, clock):
compare ratios measured in the same run, and read ``loadavg`` (the 1-minute load at the start).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import platform as _platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from fairsched.errors import InputError
from fairsched.schedulers.base import Scheduler
from fairsched.sim.engine import Decision, SimConfig, Simulator

KEYS = (
    "sim_layer_events_per_s", "sim_layer_events_per_s_python", "compiled_speedup", "jit_compile_s",
    "simpy_speedup", "env_steps_per_s", "decision_us_p50", "decision_us_p99",
    "predict_speedup", "rss_mb_small", "rss_mb_large",
)
REFERENCE = Path(__file__).resolve().parents[2] / "benchmarks" / "simpy_reference.py"


class _DropAll:
    """Drops every ready request at once: the cheapest way to draw a run's arrivals."""

    def reset(self, sim, seed):
        pass

    def decide(self, sim):
        return Decision(drop=list(sim.ready.values()))


def draw_arrivals(platform, costs, workload, seed: int = 0) -> list[tuple[float, int]]:
    """The ``(time, slo_index)`` arrivals a run with ``seed`` sees (for fixed-arrival runs)."""
    sim = Simulator(platform, costs, workload, SimConfig(seed=seed, log_requests=True, time_decisions=False))
    sim.run(_DropAll())
    return [(r[4], r[2]) for r in sorted(sim.request_log)]


def load_reference():
    """The SimPy reference module, or None outside a source checkout (or without simpy)."""
    if not REFERENCE.is_file() or importlib.util.find_spec("simpy") is None:
        return None
    spec = importlib.util.spec_from_file_location("fairsched_simpy_reference", REFERENCE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def time_scheduler(platform, costs, workload, scheduler: str, seed: int = 0, arrivals=None, repeat: int = 1,
                   core: str = "auto"):
    """Best-of-``repeat`` layer events per CPU second of one scheduler; returns (rate, simulator).

    CPU time of this process (one core), not wall time: on a shared machine wall time also counts
    the time other processes hold the core. The compiled core must be warm (:func:`warm_up`)."""
    from fairsched.schedulers.registry import make

    best, sim = 0.0, None
    for _ in range(repeat):
        sim = Simulator(platform, costs, workload, SimConfig(seed=seed, core=core), arrivals=arrivals)
        t0 = time.process_time()
        sim.run(make(scheduler))
        dt = max(time.process_time() - t0, 1e-9)
        best = max(best, sim.layer_events / dt)
    return best, sim


def warm_up(platform, costs, workload) -> float:
    """Load (or compile) the compiled core in this process, so that rates exclude it; wall seconds."""
    from fairsched.schedulers.registry import make

    sim = Simulator(platform, costs, workload, SimConfig(core="compiled"), arrivals=[(0.0, 0)])
    t0 = time.perf_counter()
    sim.run(make("edf"))
    return time.perf_counter() - t0


def side_by_side(platform, costs, workload, scheduler: str = "edf", repeat: int = 1) -> dict:
    """The core ``auto`` picks and ``core="python"`` (its own decide from the kernel), alternated,
    best of ``repeat`` each."""
    best_auto = best_py = 0.0
    sim = None
    for _ in range(repeat):
        rate, sim = time_scheduler(platform, costs, workload, scheduler)
        best_auto = max(best_auto, rate)
        best_py = max(best_py, time_scheduler(platform, costs, workload, scheduler, core="python")[0])
    return dict(sim_layer_events_per_s=best_auto, sim_layer_events_per_s_python=best_py,
                compiled_speedup=best_auto / best_py, core_auto=sim.core_used,
                layer_events=sim.layer_events, decisions=sim.decisions)


class UserEDF(Scheduler):
    """EDF as a user would write it: a plain ``Scheduler`` subclass, no in-kernel rule (so
    ``core="auto"`` runs its ``decide`` on the compiled event loop, ``sim/pydecide.py``)."""

    name = "user-edf"

    def decide(self, sim):
        idle, out = sim.idle, []
        for req in sorted(sim.ready.values(), key=lambda r: (r.deadline, r.id)):
            if not idle:
                break
            i = sim.fastest_idle(req, idle)
            idle.remove(i)
            out.append((req, i))
        return Decision(assign=out)


def user_side_by_side(platform, costs, workload, repeat: int = 1) -> dict:
    """:class:`UserEDF` on the kernel (``core="auto"``: its decide called from the kernel) and the
    in-kernel ``edf`` rule, alternated, best of ``repeat`` each (layer events per CPU second)."""
    from fairsched.schedulers.registry import make

    best = {"rule": 0.0, "user": 0.0}
    sim = None
    for _ in range(repeat):
        for kind in best:
            s = Simulator(platform, costs, workload, SimConfig())
            t0 = time.process_time()
            s.run(make("edf") if kind == "rule" else UserEDF())
            best[kind] = max(best[kind], s.layer_events / max(time.process_time() - t0, 1e-9))
            sim = s if kind == "user" else sim
    return dict(kernel=best["rule"], python=best["user"], speedup=best["rule"] / best["user"],
                core=sim.core_used, decisions=sim.decisions)


POLICY_SCHEDULERS = ("drl", "relmas", "triage", "llf-masked")


def policy_side_by_side(platform, costs, workload, repeat: int = 1) -> dict:
    """The learned schedulers and their teachers with their in-kernel rule and with their own
    decide from the kernel (``core="python"``), alternated, best of ``repeat`` each: ``{name: {compiled, python, speedup, core}}``."""
    from fairsched.schedulers.registry import available

    out = {}
    for name in POLICY_SCHEDULERS:
        if name not in available():
            continue
        r = side_by_side(platform, costs, workload, name, repeat=repeat)
        out[name] = dict(compiled=r["sim_layer_events_per_s"], python=r["sim_layer_events_per_s_python"],
                         speedup=r["compiled_speedup"], core=r["core_auto"])
    return out


# ------------------------------------------------------------- every scheduler, and scaling
def every_scheduler(platform, costs, workload, repeat: int = 1, skip=()) -> dict:
    """Layer events per CPU second of every registered scheduler on one workload, side by side
    (each on the core ``auto`` picks: ``{name: {"rate", "core"}}``; an error is reported, not raised)."""
    from fairsched.schedulers.registry import available

    out = {}
    for name in available():
        if name in skip:
            continue
        try:
            rate, sim = time_scheduler(platform, costs, workload, name, repeat=repeat)
        except InputError as e:  # e.g. a learned policy out of date: report it, measure the rest
            out[name] = dict(rate=None, core=None, error=str(e))
            continue
        out[name] = dict(rate=rate, core=sim.core_used, layer_events=sim.layer_events)
    return out


def scaled_platform(base, n: int):
    """``base`` replicated to ``n`` sub-accelerators (same type mix, ``n / base.n`` times its DRAM
    bandwidth): a multi-chip platform whose per-sub bandwidth, and so its contention, stays the
    same as the base platform's."""
    from dataclasses import replace

    from fairsched.platform.config import Platform

    if n % base.n:
        raise InputError(f"platform size: {n} is not a multiple of the base platform's {base.n} sub-accelerators")
    subs = tuple(replace(s, index=k * base.n + s.index) for k in range(n // base.n) for s in base.subs)
    return Platform(f"{base.name}x{n // base.n}", base.bandwidth * (n // base.n), subs, base.types)


def scaled_scenario(scenario, n_tenants: int) -> dict:
    """The scenario with its tenants repeated (renamed ``name~k``) up to ``n_tenants`` tenants; the
    load (platform utilization) stays the scenario's, so each tenant's rates shrink."""
    from fairsched.workload.scenario import load_scenario

    cfg, _ = load_scenario(scenario)
    raw = cfg.model_dump()
    base = raw["tenants"]
    raw["tenants"] = [dict(base[i % len(base)], name=f"{base[i % len(base)]['name']}~{i // len(base)}")
                      for i in range(n_tenants)]
    return raw


def growth_exponent(sizes, seconds_per_event) -> float | None:
    """Least-squares slope of log(time per event) against log(size): 0 = flat, 1 = linear."""
    pts = [(np.log(x), np.log(y)) for x, y in zip(sizes, seconds_per_event) if y]
    if len(pts) < 2:
        return None
    x, y = np.array(pts).T
    return float(np.polyfit(x, y, 1)[0])


def platform_scaling(scenario, platform, costs, sizes=(8, 32, 128, 512), schedulers=("edf", "sla-aware", "drl"),
                     requests_per_sub: int = 1250, python_max_size: int = 32, repeat: int = 1,
                     log: Callable[[str], None] = lambda s: None) -> dict:
    """Layer events per CPU second at each platform size (:func:`scaled_platform` of ``platform``,
    ``requests_per_sub x size`` requests so the run's length per sub stays the same), and the
    fitted growth exponent of time per event in platform size, per scheduler. Schedulers without
    an in-kernel rule (their Python decide called from the kernel) run only up to ``python_max_size``
    sub-accelerators (their time per event grows linearly in the platform size); they and the learned ones (the compiled ``policy`` rule, about
    10x slower per event than a key rule) run on a fifth of the requests."""
    from fairsched.api import build
    from fairsched.schedulers.registry import available, scheduler_class

    base = build(scenario=scenario, platform=platform, costs=costs, requests=10)[0]
    out: dict = {}
    for name in schedulers:
        if name not in available():
            continue
        spec = getattr(scheduler_class(name), "kernel_spec", None)
        rows = []
        for n in sizes:
            if spec is None and n > python_max_size:
                rows.append(dict(size=n, rate=None))
                continue
            m = requests_per_sub * n // (1 if spec not in (None, "policy") else 5)
            plat, table, wl = build(scenario=scenario, platform=scaled_platform(base, n), costs=costs, requests=m)
            log(f"  {name}, {n} sub-accelerators, {m} requests ...")
            try:
                rate, sim = time_scheduler(plat, table, wl, name, repeat=repeat)
            except InputError as e:
                rows.append(dict(size=n, rate=None, error=str(e)))
                continue
            rows.append(dict(size=n, rate=rate, core=sim.core_used, layer_events=sim.layer_events,
                             peak_bw_frac=sim.peak_bw / plat.bandwidth))
        ok = [r for r in rows if r["rate"]]
        out[name] = dict(rows=rows, exponent=growth_exponent([r["size"] for r in ok], [1 / r["rate"] for r in ok]))
    return out


def tenant_scaling(scenario, platform, costs, counts=(12, 100, 1000), schedulers=("edf", "sla-aware", "rr"),
                   requests: int = 10000, repeat: int = 1, log: Callable[[str], None] = lambda s: None) -> dict:
    """Layer events per CPU second with the scenario's tenants repeated to each count
    (:func:`scaled_scenario`), same load and requests."""
    from fairsched.api import build
    from fairsched.schedulers.registry import available

    out: dict = {}
    for n in counts:
        plat, table, wl = build(scenario=scaled_scenario(scenario, n), platform=platform, costs=costs,
                                requests=requests)
        for name in schedulers:
            if name in available():
                log(f"  {name}, {n} tenants ...")
                rate, sim = time_scheduler(plat, table, wl, name, repeat=repeat)
                out.setdefault(name, []).append(dict(tenants=n, slos=len(wl.slos), rate=rate, core=sim.core_used))
    return out


_JIT_CHILD = """
import json
from fairsched.api import build
from fairsched.bench import warm_up
print(json.dumps(dict(first_call_s=warm_up(*build(requests=20)))))
"""


def jit_times() -> dict:
    """The compiled core's first call in two fresh processes sharing a new, empty numba cache
    (``NUMBA_CACHE_DIR``): the first compiles and writes it, the second loads it."""
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=d)
        for key in ("jit_compile_s", "jit_cache_load_s"):
            r = subprocess.run([sys.executable, "-c", _JIT_CHILD], capture_output=True, text=True, check=False, env=env)
            if r.returncode != 0:
                raise RuntimeError(f"JIT child failed: {r.stderr.strip()[-500:]}")
            out[key] = json.loads(r.stdout.strip().splitlines()[-1])["first_call_s"]
    return out


def simpy_side_by_side(platform, costs, workload, seed: int = 0, repeat: int = 1) -> dict:
    """Simulator (edf, the core ``auto`` picks: compiled) and SimPy reference on the same
    arrivals; alternated, best of ``repeat``."""
    ref_mod = load_reference()
    if ref_mod is None:
        return dict(simpy_speedup=None, simpy_layer_events_per_s=None, simpy_hits_equal=None)
    arr = draw_arrivals(platform, costs, workload, seed)
    best_sim = best_ref = 0.0
    equal = True
    for _ in range(repeat):
        rate, sim = time_scheduler(platform, costs, workload, "edf", seed, arrivals=arr)
        t0 = time.process_time()
        ref = ref_mod.run_reference(platform, costs, workload, arr)
        dt = max(time.process_time() - t0, 1e-9)
        best_sim, best_ref = max(best_sim, rate), max(best_ref, ref.layer_events / dt)
        equal = equal and list(ref.slo_hits) == list(sim.slo_hits)
    return dict(simpy_speedup=best_sim / best_ref, simpy_layer_events_per_s=best_ref,
                sim_layer_events_per_s_fixed=best_sim, simpy_hits_equal=equal)


def env_steps(scenario, platform, costs, seconds: float = 3.0, requests: int = 1500, core: str = "auto") -> float | None:
    """Per-layer env steps per CPU second with random valid actions, on ``core`` (``auto``: the
    compiled kernel; ``python``: the Python engine), or None without the RL extra."""
    try:
        from fairsched.rl.env import FairSchedEnv
    except ImportError:
        return None
    env = FairSchedEnv(scenario=scenario, platform=platform, costs=costs, randomize=False, requests=requests,
                       core=core)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    env.step(env.K)  # the compiled core's first call (loads or compiles it) is not timed
    env.reset(seed=0)
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        valid = np.flatnonzero(env.action_masks())
        _, _, term, trunc, _ = env.step(int(rng.choice(valid)))
        n += 1
        if term or trunc:
            env.reset()
    return n / max(time.process_time() - c0, 1e-9)


def env_steps_batched(scenario, platform, costs, sizes=(16, 64), seconds: float = 3.0,
                      requests: int = 1500) -> dict | None:
    """``{N: steps/s}``: env steps (summed over the N envs) per CPU second of
    :class:`~fairsched.rl.vec_env.KernelVecEnv`, each step's actions from one batched forward pass
    of the per-layer ``drl`` policy (rl/policies/drl-layer, :meth:`NumpyPolicy.act_batch`, timed with
    the steps); random valid actions where that policy cannot be loaded. None without the RL extra."""
    try:
        from fairsched.rl.vec_env import KernelVecEnv
    except ImportError:
        return None
    from fairsched.rl.policy import NumpyPolicy, shipped_policy_path

    try:
        pol = NumpyPolicy.load(shipped_policy_path("drl-layer"))
    except InputError:
        pol = None
    out = {}
    for n in sizes:
        vec = KernelVecEnv(n, scenario=scenario, platform=platform, costs=costs, randomize=False, requests=requests)
        if pol is not None and pol.K != vec.K:
            pol = None
        rng = np.random.default_rng(0)
        obs, _ = vec.reset(seed=0)
        vec.step(np.full(n, vec.K))  # compile / load the batched step before timing
        steps, t0, c0 = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - t0 < seconds:
            masks = vec.action_masks()
            if pol is not None:
                acts = pol.act_batch(obs, masks)
            else:
                acts = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
            obs, _, _, _, _ = vec.step(acts)
            steps += n
        out[n] = steps / max(time.process_time() - c0, 1e-9)
    return out


def cycle_env_steps(scenario, platform, costs, episodes: int = 3, requests: int = 1500) -> dict | None:
    """Cycle env (``fairsched/Cycle-v0``, the default RL formulation) steps per CPU second with
    random actions, per variant and core, the two cores alternated episode by episode (same
    episodes: same seeds): ``{variant: {"compiled": steps/s, "python": steps/s}}``; None without the
    RL extra. A step is one scheduling cycle (50 mean inter-arrival times of decisions)."""
    try:
        from fairsched.rl.cycle_env import CycleEnv
    except ImportError:
        return None
    out = {}
    for variant in ("drl", "relmas"):
        envs = {core: CycleEnv(variant=variant, scenario=scenario, platform=platform, costs=costs,
                               randomize=False, requests=requests, core=core) for core in ("auto", "python")}
        steps = {core: 0 for core in envs}
        cpu = {core: 0.0 for core in envs}
        for ep in range(episodes):
            for core, env in envs.items():
                rng = np.random.default_rng(ep)
                c0 = time.process_time()
                env.reset(seed=ep)
                done = False
                while not done:
                    _, _, term, trunc, _ = env.step(int(rng.integers(env.action_space.n)))
                    steps[core] += 1
                    done = term or trunc
                cpu[core] += time.process_time() - c0
        out[variant] = {"compiled" if core == "auto" else core: steps[core] / max(cpu[core], 1e-9) for core in envs}
    return out


def cycle_decisions(scenario, platform, costs, quick: bool) -> dict:
    """``{name: fairsched.rl.bench.cycle_decision_latency(name)}`` for each shipped cycle policy
    (``drl``, ``relmas``); a policy that is not one (or fails) is left out."""
    from fairsched.schedulers.registry import available

    try:
        rb = importlib.import_module("fairsched.rl.bench")
    except ImportError:
        return {}
    out = {}
    for name in ("drl", "relmas"):
        if name not in available():
            continue
        try:
            out[name] = rb.cycle_decision_latency(name, scenario=scenario, platform=platform, costs=costs,
                                                  requests=1000 if quick else 4000, repeat=5 if quick else 25)
        except (ValueError, InputError):  # not a cycle policy
            continue
    return out


def decision_latency(platform, costs, workload, quick: bool, drl_sim=None) -> dict:
    """p50/p99 decision time (µs) and numpy-vs-sb3 speedup, from the RL package when present."""
    """``decision_us_*``: the numpy policy's forward pass (``fairsched.rl.bench``), with
    ``predict_speedup`` = sb3 predict p50 / numpy p50 on the same observations; falls back to the
    ``drl`` scheduler's whole ``decide`` (features + policy) timed in the simulator."""
    out = dict(decision_us_p50=None, decision_us_p99=None, predict_speedup=None, decision_source=None)
    from fairsched.schedulers.registry import available

    if "drl" in available() and drl_sim is not None:  # the learned scheduler's decide(), timed by the simulator
        sim = drl_sim
        out.update(drl_decide_us_p50=sim.decision_us(0.5), drl_decide_us_p99=sim.decision_us(0.99),
                   decision_us_p50=sim.decision_us(0.5), decision_us_p99=sim.decision_us(0.99),
                   decision_source="drl scheduler decide() in the simulator")
    try:
        rb = importlib.import_module("fairsched.rl.bench")
    except ImportError:
        return out
    if not hasattr(rb, "decision_latency"):
        return out
    try:
        d = rb.decision_latency(n_obs=500 if quick else 2000)
    except Exception as e:  # noqa: BLE001 - a broken optional measurement must not sink the bench
        out["decision_error"] = f"{type(e).__name__}: {e}"
        return out
    out["decision_latency"] = d
    npy = d.get("numpy") or {}
    if npy.get("p50_us") is not None:
        out.update(decision_us_p50=float(npy["p50_us"]), decision_us_p99=float(npy["p99_us"]),
                   decision_source="numpy policy forward pass (fairsched.rl.bench)")
    if d.get("speedup_p50") is not None:
        out["predict_speedup"] = float(d["speedup_p50"])
    return out


# Peak RSS from /proc/self/status VmHWM: the high-water mark of this process's own memory map.
# (ru_maxrss is not used where VmHWM exists: on Linux it keeps the high-water mark of the forked
# parent across exec, so a child of a big bench process would report the parent's size.)
_RSS_CHILD = """
import json, resource, sys, time

def peak_kb():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

from fairsched import api
from fairsched.bench import warm_up
from fairsched.sim.engine import SimConfig, Simulator
from fairsched.schedulers.registry import make
a = json.loads(sys.argv[1])
plat, costs, wl = api.build(scenario=a["scenario"], platform=a["platform"], costs=a["costs"], requests=a["n"])
warm_up(plat, costs, wl)  # load the compiled core before measuring
base = peak_kb()
sim = Simulator(plat, costs, wl, SimConfig(seed=0, time_decisions=False))
t0 = time.process_time()
sim.run(make("edf"))
print(json.dumps(dict(rss_kb=peak_kb(), rss_kb_before=base, layer_events=sim.layer_events,
                      cpu_s=time.process_time() - t0, core=sim.core_used)))
"""


def peak_rss(n: int, scenario, platform, costs) -> dict:
    """Peak RSS (MB) of a fresh process running edf on ``n`` requests (and before the run, with
    everything loaded, the compiled core included)."""
    arg = json.dumps(dict(n=int(n), scenario=str(scenario), platform=str(platform),
                          costs=None if costs is None else str(costs)))
    r = subprocess.run([sys.executable, "-c", _RSS_CHILD, arg], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"RSS child for {n} requests failed: {r.stderr.strip()[-500:]}")
    d = json.loads(r.stdout.strip().splitlines()[-1])
    return dict(rss_mb=d["rss_kb"] / 1024, rss_mb_before_run=d["rss_kb_before"] / 1024,
                layer_events=d["layer_events"], cpu_s=d["cpu_s"], core=d["core"])


def machine() -> dict:
    cpu = _platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return dict(cpu=cpu, cores=os.cpu_count(), python=_platform.python_version(), numpy=np.__version__,
                loadavg=os.getloadavg()[0] if hasattr(os, "getloadavg") else None)


def run_bench(
    *,
    scenario="default",
    platform="default",
    costs=None,
    quick: bool = False,
    requests: int | None = None,
    rss_requests: tuple[int, int] | None = None,
    env_seconds: float | None = None,
    rl: bool = True,
    jit: bool = True,
    scaling: bool = True,
    log: Callable[[str], None] = lambda s: None,
) -> dict:
    """Run every measurement; returns a flat dict (``KEYS`` always present, None where unavailable).

    ``env_seconds=0`` skips the env measurement, ``rl=False`` the decision latency,
    ``jit=False`` the compile-time measurement in fresh processes and ``scaling=False`` the
    per-scheduler and scaling tables (tests)."""
    from fairsched.api import build
    from fairsched.schedulers.registry import available

    n = requests or (2000 if quick else 10000)
    n_ref = max(200, n // (4 if quick else 5))
    small, large = rss_requests or ((10_000, 30_000) if quick else (10_000, 1_000_000))
    repeat = 1 if quick else 3
    res: dict = dict.fromkeys(KEYS)
    res.update(machine=machine(), quick=quick, scenario=str(scenario), platform=str(platform), requests=n)
    plat, table, wl = build(scenario=scenario, platform=platform, costs=costs, requests=n)

    if jit:
        log("compiled core: first call in fresh processes (compile, then cached) ...")
        res.update(jit_times())
    res["jit_warmup_s"] = warm_up(plat, table, wl)
    log(f"simulator, edf, {n} requests, in-kernel rule and Python decide alternated ...")
    res.update(side_by_side(plat, table, wl, "edf", repeat=repeat))
    drl_sim = None
    if "drl" in available():
        log("simulator, drl ...")
        try:
            res["sim_layer_events_per_s_drl"] = time_scheduler(plat, table, wl, "drl")[0]
            res["sim_layer_events_per_s_drl_python"], drl_sim = time_scheduler(plat, table, wl, "drl", core="python")
        except InputError as e:  # e.g. a policy file out of date: report it, measure the rest
            res["drl_error"] = str(e)
            log(f"  drl skipped: {e}")

    log(f"a user-style Python scheduler (UserEDF) and the edf rule, {n} requests, alternated ...")
    res["user_scheduler"] = user_side_by_side(plat, table, wl, repeat=repeat)

    if scaling:
        log(f"learned schedulers and teachers, {n} requests, in-kernel rule and Python decide alternated ...")
        res["policies"] = policy_side_by_side(plat, table, wl, repeat=repeat)
        log(f"every registered scheduler, {n} requests ...")
        res["schedulers"] = every_scheduler(plat, table, wl, repeat=repeat)
        log("platform-size scaling ...")
        res["platform_scaling"] = platform_scaling(
            scenario, platform, costs, sizes=(8, 32) if quick else (8, 32, 128, 512),
            requests_per_sub=max(50, n // 8 // (4 if quick else 1)), log=log)
        log("tenant-count scaling ...")
        res["tenant_scaling"] = tenant_scaling(scenario, platform, costs, counts=(12, 100) if quick else (12, 100, 1000),
                                               requests=n, log=log)

    log(f"SimPy reference side by side, {n_ref} requests ...")
    _, _, wl_ref = build(scenario=scenario, platform=plat, costs=table, requests=n_ref)
    res.update(simpy_side_by_side(plat, table, wl_ref, repeat=repeat), simpy_requests=n_ref)

    secs = (2.0 if quick else 5.0) if env_seconds is None else env_seconds
    if secs > 0:
        log("env steps, kernel observations and Python features, single and batched ...")
        res["env_steps_per_s"] = env_steps(scenario, plat, table, seconds=secs)
        res["env_steps_per_s_python"] = env_steps(scenario, plat, table, seconds=secs, core="python")
        res["env_steps_per_s_batched"] = env_steps_batched(scenario, plat, table, seconds=secs)
        log("cycle env steps, kernel and Python dispatch alternated ...")
        res["cycle_env_steps_per_s"] = cycle_env_steps(scenario, plat, table, episodes=1 if quick else 3)
    if rl:
        log("decision latency ...")
        res.update(decision_latency(plat, table, wl, quick, drl_sim))
        res["cycle_decision_latency"] = cycle_decisions(scenario, platform, costs, quick)

    for tag, m in (("small", small), ("large", large)):
        log(f"peak RSS, {m} requests (fresh process) ...")
        d = peak_rss(m, scenario, platform, costs)
        res[f"rss_mb_{tag}"] = d["rss_mb"]
        res[f"rss_requests_{tag}"] = m
        res[f"rss_mb_before_run_{tag}"] = d["rss_mb_before_run"]
        res[f"rss_layer_events_per_s_{tag}"] = d["layer_events"] / max(d["cpu_s"], 1e-9)
        res[f"rss_cpu_s_{tag}"] = d["cpu_s"]
        res[f"rss_core_{tag}"] = d["core"]
    return res


def format_table(res: dict) -> str:
    """The figures as a Markdown table (what docs/performance.md shows)."""

    def f(v, fmt):
        return "n/a" if v is None else fmt.format(v)

    rows = [
        ("simulator, edf, in-kernel rule (layer events/s)", f(res.get("sim_layer_events_per_s"), "{:,.0f}")),
        ("simulator, edf, its Python decide on the kernel (layer events/s)", f(res.get("sim_layer_events_per_s_python"), "{:,.0f}")),
        ("in-kernel rule vs Python decide", f(res.get("compiled_speedup"), "{:.1f}x")),
        ("compiled core first call: compile / from cache (s)",
         f"{f(res.get('jit_compile_s'), '{:.2f}')} / {f(res.get('jit_cache_load_s'), '{:.2f}')}"),
        ("simulator, drl, in-kernel rule (layer events/s)", f(res.get("sim_layer_events_per_s_drl"), "{:,.0f}")),
        ("simulator, drl, its Python decide on the kernel (layer events/s)", f(res.get("sim_layer_events_per_s_drl_python"), "{:,.0f}")),
        ("SimPy reference (layer events/s)", f(res.get("simpy_layer_events_per_s"), "{:,.0f}")),
        ("speed-up over SimPy (same arrivals)", f(res.get("simpy_speedup"), "{:.1f}x")),
        ("same hits per SLO as SimPy", f(res.get("simpy_hits_equal"), "{}")),
        ("env steps/s, kernel observations / Python features",
         f"{f(res.get('env_steps_per_s'), '{:,.0f}')} / {f(res.get('env_steps_per_s_python'), '{:,.0f}')}"),
    ]
    for n, r in (res.get("env_steps_per_s_batched") or {}).items():
        rows.append((f"env steps/s, {n} envs batched (KernelVecEnv, one drl forward per step)", f"{r:,.0f}"))
    for v, r in (res.get("cycle_env_steps_per_s") or {}).items():
        rows.append((f"cycle env steps/s, {v}: kernel / Python dispatch",
                     f"{r['compiled']:,.0f} / {r['python']:,.0f} ({r['compiled'] / max(r['python'], 1e-9):.1f}x)"))
    rows += [
        ("decision latency p50 / p99 (µs)",
         f"{f(res.get('decision_us_p50'), '{:.1f}')} / {f(res.get('decision_us_p99'), '{:.1f}')}"),
        ("numpy policy vs sb3 predict", f(res.get("predict_speedup"), "{:.1f}x")),
        ("drl whole decide() in the simulator, p50 / p99 (µs)",
         f"{f(res.get('drl_decide_us_p50'), '{:.1f}')} / {f(res.get('drl_decide_us_p99'), '{:.1f}')}"),
    ]
    for name, c in (res.get("cycle_decision_latency") or {}).items():
        rows.append((f"{name} cycle decision: forward pass / whole cycle step, p50 / p99 (µs)",
                     f"{c['forward']['p50_us']:.1f} / {c['forward']['p99_us']:.1f}; "
                     f"{c['whole']['p50_us']:.1f} / {c['whole']['p99_us']:.1f} ({c['cycles']} cycles)"))
    rows += [
        (f"peak RSS, {f(res.get('rss_requests_small'), '{:,}')} requests (MB)", f(res.get("rss_mb_small"), "{:.0f}")),
        (f"peak RSS, {f(res.get('rss_requests_large'), '{:,}')} requests (MB)", f(res.get("rss_mb_large"), "{:.0f}")),
    ]
    out = ["| measure | value |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(out + scaling_tables(res))


def scaling_tables(res: dict) -> list[str]:
    """Markdown tables: every scheduler; platform-size scaling with exponents; tenant scaling."""
    out = []
    pol = res.get("policies")
    if pol:
        out += ["", "| learned / teacher | in-kernel rule | Python decide | speed-up |", "|---|---|---|---|"]
        for k, v in pol.items():
            out.append(f"| {k} | {v['compiled']:,.0f} | {v['python']:,.0f} | {v['speedup']:.1f}x |")
    sch = res.get("schedulers")
    if sch:
        out += ["", "| scheduler | core | layer events/s |", "|---|---|---|"]
        for k, v in sch.items():
            rate = "n/a" if v["rate"] is None else f"{v['rate']:,.0f}"
            out.append(f"| {k} | {v.get('core') or 'n/a'} | {rate} |")
    ps = res.get("platform_scaling")
    if ps:
        sizes = sorted({r["size"] for v in ps.values() for r in v["rows"]})
        out += ["", "| scheduler | " + " | ".join(f"{n} subs" for n in sizes) + " | growth exponent |",
                "|---|" + "---|" * (len(sizes) + 1)]
        for k, v in ps.items():
            by = {r["size"]: r["rate"] for r in v["rows"]}
            cells = ["n/a" if by.get(n) is None else f"{by[n]:,.0f}" for n in sizes]
            e = v["exponent"]
            out.append(f"| {k} | " + " | ".join(cells) + f" | {'n/a' if e is None else f'{e:.2f}'} |")
    ts = res.get("tenant_scaling")
    if ts:
        counts = sorted({r["tenants"] for v in ts.values() for r in v})
        out += ["", "| scheduler | " + " | ".join(f"{n} tenants" for n in counts) + " |",
                "|---|" + "---|" * len(counts)]
        for k, v in ts.items():
            by = {r["tenants"]: r["rate"] for r in v}
            out.append(f"| {k} | " + " | ".join("n/a" if by.get(n) is None else f"{by[n]:,.0f}" for n in counts) + " |")
    return out
