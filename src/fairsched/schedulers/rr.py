"""Per-tenant round robin: tenants take turns; within a tenant, oldest request first."""

from fairsched.schedulers.base import Scheduler
from fairsched.schedulers.registry import register
from fairsched.sim.engine import Decision


@register("rr")
class RoundRobin(Scheduler):
    kernel_spec = "rr"  # sim/compiled.py decides the same way, bit for bit

    def reset(self, sim, seed):
        self.n_tenants = len(sim.workload.tenants)
        self.next_tenant = 0

    def decide(self, sim) -> Decision:
        heads = {}
        for r in sim.ready.values():  # dict order = ready order; keep the oldest per tenant
            h = heads.get(r.tenant)
            if h is None or (r.arrival, r.id) < (h.arrival, h.id):
                heads[r.tenant] = r
        idle = sim.idle
        out = []
        T = self.n_tenants
        while idle and heads:
            for k in range(T):
                t = (self.next_tenant + k) % T
                if t in heads:
                    break
            req = heads.pop(t)
            self.next_tenant = (t + 1) % T
            i = min(idle, key=lambda s: sim.layer_time(req, s))
            idle.remove(i)
            out.append((req, i))
        return Decision(assign=out)
