"""PREMA-style token priority (Choi & Rhu, HPCA 2020), adapted to SLOs.

Each request earns tokens while it waits: ``priority x waiting time / isolated latency``. The
priority comes from the strictness of its SLO target (>= 0.95: 9, >= 0.90: 3, else 1: PREMA's
high/medium/low levels). Candidates are the requests whose tokens reach the highest level some
request has reached; among them the shortest remaining job runs first.
"""

from fairsched.schedulers.base import Scheduler
from fairsched.schedulers.registry import register
from fairsched.sim.engine import Decision

LEVELS = (9.0, 3.0, 1.0)


def priority_of(target: float) -> float:
    return 9.0 if target >= 0.95 else 3.0 if target >= 0.90 else 1.0


@register("prema")
class Prema(Scheduler):
    kernel_spec = "prema"  # sim/compiled.py decides the same way, bit for bit

    def kernel_params(self, sim):
        """The compiled core's copy of this rule needs the per-SLO priorities and latencies."""
        return ((self.prio, self.iso),)

    def reset(self, sim, seed):
        self.prio = [priority_of(t) for t in sim.slo_target]
        self.iso = [sim.best_suffix[mi][0] for mi in sim.slo_model]

    def decide(self, sim) -> Decision:
        now = sim.now
        prio, iso = self.prio, self.iso
        ready = list(sim.ready.values())
        tokens = [prio[r.slo] * (now - r.arrival) / iso[r.slo] for r in ready]
        top = max(tokens)
        thr = next((lv for lv in LEVELS if top >= lv), 0.0)
        cands = [r for r, tk in zip(ready, tokens) if tk >= thr]
        if len(cands) < len(sim.idle):  # fill remaining capacity with the rest
            cands += [r for r, tk in zip(ready, tokens) if tk < thr]
        cands.sort(key=lambda r: (sim.best_remaining(r), r.id))
        idle = sim.idle
        out = []
        for req in cands:
            if not idle:
                break
            i = min(idle, key=lambda s: sim.layer_time(req, s))
            idle.remove(i)
            out.append((req, i))
        return Decision(assign=out)
