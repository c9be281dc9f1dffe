"""The registered teachers ``triage`` and ``llf-masked`` follow their rules, decision by decision.

Each decision of a run on the tiny platform is checked against the rule recomputed here from the
simulator's own state and the definitions in docs/rl.md (not from the feature code): the feasible,
non-risky ready requests of the idle sub-accelerator; ``llf-masked`` takes the least laxity one;
``triage`` takes the least laxity one of the best tenant class (protected < savable < lost)."""

from __future__ import annotations

import pytest

from fairsched.api import default_schedulers
from fairsched.rl.features import RISKY
from fairsched.schedulers.registry import make
from fairsched.sim.engine import SimConfig, Simulator
from fairsched.workload.scenario import ScenarioConfig, resolve


def _feasible(sim, sub):
    out = []
    prof = sim.prof[sim.sub_prof[sub]]
    for r in sim.ready.values():
        lax = r.deadline - sim.now - prof[r.mi].suffix[r.next_layer]
        D = sim.workload.slos[r.slo].deadline
        best_lax = r.deadline - sim.now - sim.best_suffix[r.mi][r.next_layer]
        if lax >= 0 and not (lax < RISKY[0] * D and best_lax >= RISKY[1] * D):
            out.append((lax, r.id, r))
    return sorted(out, key=lambda f: f[:2])


def _tenant_class(sim, theta):
    """Per tenant: 0 protected, 1 savable, 2 lost (docs/rl.md: triage)."""
    wl = sim.workload
    counted = wl.requests - int(wl.warmup_fraction * wl.requests)
    M = sim.M
    need, share = {}, {}
    for s in wl.slos:
        N = max(1.0, counted * s.rate / wl.total_rate)
        left = N - (sim.slo_hits[s.index] + sim.slo_dropped[s.index])
        q = (s.target * N - sim.slo_hits[s.index]) / left if left >= 1 else (0.0 if sim.slo_hits[s.index] >= s.target * N else 2.0)
        need[s.tenant] = max(need.get(s.tenant, -9), q)
        mi = sim.slo_model[s.index]
        iso = sum(sim.prof[sim.sub_prof[i]][mi].suffix[0] for i in range(M)) / M
        share[s.tenant] = share.get(s.tenant, 0.0) + s.target * s.rate * iso / M
    cls, acc = {}, 0.0
    for t in sorted(share, key=lambda t: (share[t], t)):
        if need[t] > 1.0:
            cls[t] = 2
        else:
            acc += share[t]
            cls[t] = 0 if acc <= theta else 1
    return cls


def _run_checked(name, tiny_setup, check, **kw):
    plat, table, scen = tiny_setup
    wl = resolve(ScenarioConfig.model_validate(scen), plat, table, load=1.3)
    sched = make(name, **kw)
    decide = sched.decide
    n = [0]

    def checked(sim):
        skip = set(sched._skip) if sim.now == sched._t else set()
        d = decide(sim)
        if d.assign:
            (req, sub), = d.assign
            # the sub asked is the lowest-index idle one not yet left idle (the env's protocol)
            assert sub == next(i for i in sim.idle if i not in skip and _feasible(sim, i))
            check(sim, sub, req)
            n[0] += 1
        return d

    sched.decide = checked
    sim = Simulator(plat, table, wl, SimConfig(seed=3)).run(sched)
    assert sum(sim.slo_done_all) == sim.n_total
    assert n[0] > 50
    return n[0]


def test_llf_masked_takes_the_least_laxity_feasible_request(tiny_setup):
    def check(sim, sub, req):
        feas = _feasible(sim, sub)
        assert req is feas[0][2]

    _run_checked("llf-masked", tiny_setup, check)


@pytest.mark.parametrize("theta", [0.8, 0.3])
def test_triage_serves_the_best_class_least_laxity_first(tiny_setup, theta):
    def check(sim, sub, req):
        feas = _feasible(sim, sub)
        cls = _tenant_class(sim, theta)
        tq = [s.tenant for s in sim.workload.slos]
        best = min(cls[tq[r.slo]] for _, _, r in feas)
        want = next(r for _, _, r in feas if cls[tq[r.slo]] == best)
        assert cls[tq[req.slo]] == best
        # within a class, least laxity (a different request of the same SLO would tie only on laxity)
        lax = {r.id: x for x, _, r in feas}
        assert lax[req.id] == pytest.approx(lax[want.id])

    _run_checked("triage", tiny_setup, check, theta=theta, K=16)


def test_teachers_are_default_rivals():
    names = default_schedulers()
    assert "triage" in names and "llf-masked" in names
    from fairsched.rl.evaluate import HEURISTICS

    assert {"triage", "llf-masked"} <= set(HEURISTICS)


def test_found_rules_are_default_rivals():
    """sjf-feasible beat sjf and sjf-bytes beat sjf-feasible as fixed rules while bounding relmas's
    headroom: rivals everywhere."""
    from fairsched.experiments.headroom import DRL_RIVALS, TENANT_AGNOSTIC
    from fairsched.rl.evaluate import HEURISTICS

    for name in ("sjf-feasible", "sjf-bytes"):
        assert name in default_schedulers()
        assert name in HEURISTICS and name in DRL_RIVALS and name in TENANT_AGNOSTIC
