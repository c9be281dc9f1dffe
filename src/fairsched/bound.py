"""Clairvoyant offline bound (``fairsched bound``): how far is each scheduler from the best schedule?

A small instance (a few tens of requests) is drawn once: every arrival is known in advance. Every
scheduler runs on exactly these arrivals (``Simulator(..., arrivals=...)``), and a CP-SAT model
(OR-Tools) of the same instance, platform and cost table finds the most hits any schedule can get.

The model (a relaxation of the simulator, so its optimum is an upper bound on every scheduler):

* one Boolean ``hit`` per request; a hit request runs all its layers in order, each whole on one
  sub-accelerator type, starting no earlier than its arrival and ending by its deadline; a missed
  request runs nothing (in the simulator a miss may have used the platform; leaving that out only
  loosens the bound);
* layers of one type share its ``count`` sub-accelerators as a cumulative resource of capacity
  ``count`` (unit demand). For intervals this is the same as a no-overlap per sub-accelerator
  (interval graphs are perfect, so any such set of layers can be placed on ``count`` machines),
  without the symmetry between identical sub-accelerators;
* **bandwidth contention is ignored**: a layer takes its solo time ``max(cycles / f, dram_bytes / B)``.
  Under any sharing a layer's progress rate is at most its solo rate, so every schedule the
  simulator can produce is feasible here and the bound stays an upper bound; with contention it
  may be loose (it is exact when the platform's bandwidth never binds);
* time is in integer units of ``resolution_s`` (1 ns by default): arrivals and durations rounded
  down, deadlines up, again only loosening the bound;
* decision cost is not modelled (the default ``decision_cost_s`` is 0).

Objectives are lexicographic: most hits, then most tenants upheld (a tenant is upheld when each of
its SLOs with requests reaches ``hits / requests >= target``, as in :mod:`fairsched.metrics`); a
second solve with the order swapped bounds tenants upheld. When the time limit stops CP-SAT
before it proves optimality, the reported bound is its proven objective bound (still valid, less
tight) and ``optimal`` is False.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fairsched.errors import InputError

DEFAULT_REQUESTS = 12


@dataclass
class Solve:
    objective: str  # "hits" or "upheld" first
    status: str
    optimal: bool
    hits: int  # of the best schedule found
    upheld: int
    hits_bound: int  # proven upper bound on the first objective's quantity (hits or upheld)
    upheld_bound: int
    wall_s: float
    hit: list[bool] = field(default_factory=list)  # per request, best schedule found


@dataclass
class BoundResult:
    requests: int
    tenants: int  # tenants with at least one request in the instance
    arrivals: list[tuple[float, int]]
    hits_bound: int
    upheld_bound: int | None
    upheld_at_max_hits: int
    optimal: bool
    solves: list[Solve]
    schedulers: pd.DataFrame  # one row per scheduler


def _need(n: int, target: float) -> int:
    """Fewest hits out of ``n`` that achieve ``target`` (the test of :mod:`fairsched.metrics`)."""
    for h in range(n + 1):
        if h / n >= target - 1e-12:
            return h
    return n + 1


def solve(platform, costs, workload, arrivals, *, objective: str = "hits", time_limit_s: float = 30.0,
          resolution_s: float = 1e-9, workers: int = 1, seed: int = 0, hint=None) -> Solve:
    """CP-SAT model of the instance (see the module docstring); ``objective``: "hits" or "upheld" first.

    ``hint``: a schedule to start from, ``{request index: [(start_s, sub), ...] per layer}`` of the
    requests it hits (e.g. a scheduler's run); it speeds up the search, not the bound's validity."""
    try:
        from ortools.sat.python import cp_model
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise InputError("fairsched bound needs OR-Tools; install the extra: pip install 'fairsched[bound]'") from None
    if objective not in ("hits", "upheld"):
        raise InputError(f"objective: unknown '{objective}'; use hits or upheld")
    t0 = time.perf_counter()
    arr = sorted((float(t), int(s)) for t, s in arrivals)
    q = float(resolution_s)
    lo, hi = 1.0 - 1e-12, 1.0 + 1e-12
    B = float(platform.bandwidth)
    # profiles: identical sub-accelerators (type, clock) pooled, capacity = count
    prof: dict[tuple, int] = {}
    for s in platform.subs:
        prof[(s.type, s.clock_hz)] = prof.get((s.type, s.clock_hz), 0) + 1
    profiles = list(prof)
    dur_cache: dict[str, np.ndarray] = {}

    def durations(model: str) -> np.ndarray:  # (layers, profiles) integer solo durations, rounded down
        if model not in dur_cache:
            cols = []
            for t, clk in profiles:
                mc = costs.get(model, t)
                solo = np.maximum(np.asarray(mc.cycles, float) / clk, np.asarray(mc.dram_bytes, float) / B)
                cols.append(np.floor(solo / q * lo).astype(np.int64))
            dur_cache[model] = np.stack(cols, axis=1)
        return dur_cache[model]

    m = cp_model.CpModel()
    hint = hint or {}
    sub_prof = [profiles.index((s.type, s.clock_hz)) for s in platform.subs]
    hit = []
    by_prof: list[list] = [[] for _ in profiles]
    for j, (a, s) in enumerate(arr):
        slo = workload.slos[s]
        A = int(math.floor(a / q * lo))
        D = int(math.floor((a + slo.deadline) / q * hi))
        dur = durations(slo.model)
        best = dur.min(axis=1)
        h = m.NewBoolVar(f"hit{j}")
        hit.append(h)
        if A + int(best.sum()) > D:  # cannot finish even alone on its best types
            m.Add(h == 0)
            continue
        hj = hint.get(j)
        m.AddHint(h, hj is not None)
        pre = np.concatenate([[0], np.cumsum(best)])  # best time of layers before k
        post = int(best.sum()) - pre  # best time of layers k.. to the end
        prev_end = None
        for k in range(dur.shape[0]):
            st = m.NewIntVar(A + int(pre[k]), D - int(post[k]), f"s{j}_{k}")
            en = m.NewIntVar(A + int(pre[k + 1]), D - int(post[k + 1]), f"e{j}_{k}")
            pres = []
            for p in range(len(profiles)):
                d = int(dur[k, p])
                if A + int(pre[k]) + d + int(post[k + 1]) > D:
                    continue  # this type is too slow for this layer to fit at all
                x = m.NewBoolVar(f"x{j}_{k}_{p}")
                by_prof[p].append(m.NewOptionalFixedSizeIntervalVar(st, d, x, f"i{j}_{k}_{p}"))
                pres.append((x, d))
                if hj is not None:
                    m.AddHint(x, sub_prof[hj[k][1]] == p)
            if hj is not None:
                m.AddHint(st, int(math.floor(hj[k][0] / q * lo)))
            if not pres:
                m.Add(h == 0)
                break
            m.Add(sum(x for x, _ in pres) == h)
            # the time windows of st/en assume the request runs: tie them only if it does
            m.Add(en == st + sum(d * x for x, d in pres)).OnlyEnforceIf(h)
            if prev_end is not None:
                m.Add(st >= prev_end).OnlyEnforceIf(h)
            prev_end = en
    for p, (key, cap) in enumerate(prof.items()):
        if by_prof[p]:
            m.AddCumulative(by_prof[p], [1] * len(by_prof[p]), cap)
    # SLOs achieved and tenants upheld (SLOs without requests are left out, as in metrics)
    per_slo: dict[int, list] = {}
    for j, (_, s) in enumerate(arr):
        per_slo.setdefault(s, []).append(hit[j])
    ach = {}
    for s, hs in per_slo.items():
        need = _need(len(hs), workload.slos[s].target)
        a = ach[s] = m.NewBoolVar(f"ach{s}")
        if need > len(hs):
            m.Add(a == 0)
        else:
            m.Add(sum(hs) >= need).OnlyEnforceIf(a)
        if hint:
            m.AddHint(a, sum(1 for j, (_, s2) in enumerate(arr) if s2 == s and j in hint) >= need)
    upheld = []
    tenants = sorted({workload.slos[s].tenant for s in per_slo})
    for t in tenants:
        u = m.NewBoolVar(f"up{t}")
        mine = [s for s in per_slo if workload.slos[s].tenant == t]
        for s in mine:
            m.AddImplication(u, ach[s])
        upheld.append(u)
        if hint:
            m.AddHint(u, all(_need(len(per_slo[s]), workload.slos[s].target)
                             <= sum(1 for j, (_, s2) in enumerate(arr) if s2 == s and j in hint) for s in mine))
    n, T = len(arr), len(tenants)
    if objective == "hits":
        big = T + 1
        m.Maximize(big * sum(hit) + sum(upheld))
    else:
        big = n + 1
        m.Maximize(big * sum(upheld) + sum(hit))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    st = solver.Solve(m)
    name = solver.StatusName(st)
    if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(f"CP-SAT returned {name} on the bound model (time limit {time_limit_s} s too short?)")
    got_hits = int(sum(solver.Value(h) for h in hit))
    got_up = int(sum(solver.Value(u) for u in upheld))
    optimal = st == cp_model.OPTIMAL
    ub = int(round(solver.ObjectiveValue() if optimal else solver.BestObjectiveBound()))
    first = ub // big
    if objective == "hits":
        hb, ubd = first, (ub - big * first) if optimal else T
    else:
        ubd, hb = first, (ub - big * first) if optimal else n
    return Solve(objective, name, optimal, got_hits, got_up, hb, ubd, time.perf_counter() - t0,
                 [bool(solver.Value(h)) for h in hit])


def run_bound(*, scenario="default", platform="default", costs=None, load: float | None = None,
              requests: int = DEFAULT_REQUESTS, seed: int = 0, schedulers=None, time_limit_s: float = 30.0,
              both: bool = True, workers: int = 1, resolution_s: float = 1e-9) -> BoundResult:
    """Draw an instance, solve the bound, run every scheduler on the same arrivals, report gaps."""
    from fairsched.api import build, default_schedulers
    from fairsched.bench import draw_arrivals
    from fairsched.schedulers.registry import make

    if requests < 1:
        raise InputError(f"requests: must be >= 1, got {requests}")
    if time_limit_s <= 0:
        raise InputError(f"time_limit: must be > 0 seconds, got {time_limit_s}")
    names = list(schedulers) if schedulers else default_schedulers()
    for nme in names:
        make(nme)  # fail fast on an unknown name
    plat, table, wl = build(scenario=scenario, platform=platform, costs=costs, load=load, requests=requests)
    wl = dataclasses.replace(wl, warmup_fraction=0.0)  # every request of the instance counts
    arr = draw_arrivals(plat, table, wl, seed)
    return bound_instance(plat, table, wl, arr, names, seed=seed, time_limit_s=time_limit_s, both=both,
                          workers=workers, resolution_s=resolution_s)


def bound_instance(plat, table, wl, arrivals, schedulers, *, seed: int = 0, time_limit_s: float = 30.0,
                   both: bool = True, workers: int = 1, resolution_s: float = 1e-9) -> BoundResult:
    """The bound and every scheduler's result on a given instance (arrivals fixed)."""
    from fairsched.metrics import slo_frame, tenant_frame
    from fairsched.schedulers.registry import make
    from fairsched.sim.engine import SimConfig, Simulator

    wl = dataclasses.replace(wl, warmup_fraction=0.0, requests=len(arrivals))
    arr = sorted((float(t), int(s)) for t, s in arrivals)
    runs = []  # (name, hits, tenants upheld, schedule of the hit requests)
    for name in schedulers:
        sim = Simulator(plat, table, wl, SimConfig(seed=seed, log_requests=True, trace_layers=True), arrivals=arr)
        sim.run(make(name))
        ten = tenant_frame(slo_frame(sim))
        hits = int(sum(sim.slo_hits))
        up = int(ten["upheld"].sum()) if len(ten) else 0
        won = {r[0] for r in sim.request_log if r[7]}
        sched: dict[int, list] = {j: [] for j in won}
        for start, _end, sub, rid, _k, what in sim.layer_trace:
            if rid in won and what == "done":
                sched[rid].append((start, sub))
        runs.append((name, hits, up, sched))
    kw = dict(time_limit_s=time_limit_s, resolution_s=resolution_s, workers=workers, seed=seed)
    best_h = max(runs, key=lambda r: (r[1], r[2]), default=None)
    best_u = max(runs, key=lambda r: (r[2], r[1]), default=None)
    solves = [solve(plat, table, wl, arr, objective="hits", hint=best_h and best_h[3], **kw)]
    if both:
        solves.append(solve(plat, table, wl, arr, objective="upheld", hint=best_u and best_u[3], **kw))
    s1 = solves[0]
    hits_bound = s1.hits_bound
    upheld_bound = solves[1].upheld_bound if both else None
    n_tenants = len({wl.slos[s].tenant for _, s in arr})
    rows = []
    for name, hits, up, _ in runs:
        rows.append(dict(scheduler=name, hits=hits, hits_bound=hits_bound, gap_hits=hits_bound - hits,
                         gap=(hits_bound - hits) / hits_bound if hits_bound else 0.0,
                         tenants_upheld=up, upheld_bound=upheld_bound,
                         gap_upheld=None if upheld_bound is None else upheld_bound - up))
        if hits > hits_bound:  # would mean the model is not a relaxation of the simulator
            raise RuntimeError(f"scheduler {name} got {hits} hits above the bound {hits_bound}: a bug in the bound model")
    return BoundResult(len(arr), n_tenants, arr, hits_bound, upheld_bound, s1.upheld,
                       all(s.optimal for s in solves), solves, pd.DataFrame(rows))
