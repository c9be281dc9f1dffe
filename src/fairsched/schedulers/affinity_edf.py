"""Dataflow-affinity placement with EDF order (Herald-style, Kwon et al., HPCA 2021).

Requests go in EDF order; each next layer goes to an idle sub-accelerator of the type it runs
fastest on. If none of that type is idle, it takes another idle one only when the slowdown is at
most ``max_slowdown`` (default 1.5x); otherwise it waits for its preferred type.
"""

from fairsched.schedulers.base import PriorityScheduler
from fairsched.schedulers.registry import register
from fairsched.sim.engine import Decision


@register("affinity-edf")
class AffinityEDF(PriorityScheduler):
    kernel_spec = "affinity-edf"  # sim/compiled.py decides the same way, bit for bit

    def kernel_params(self, sim):
        return (self.max_slowdown,)

    def __init__(self, max_slowdown: float = 1.5):
        self.max_slowdown = max_slowdown

    def reset(self, sim, seed):
        # best solo time of each (model, layer) over all sub-accelerators
        self.best = [
            [min(sim.prof[p][mi].solo[k] for p in range(len(sim.prof))) for k in range(sim.n_layers[mi])]
            for mi in range(len(sim.models))
        ]

    def key(self, sim, req):
        return req.deadline, req.id

    def place(self, sim, req, idle):
        i = min(idle, key=lambda s: sim.layer_time(req, s))
        if sim.layer_time(req, i) <= self.max_slowdown * self.best[req.mi][req.next_layer]:
            return i
        return None

    def decide(self, sim):
        # always take the general path: placement may refuse, so min() over one idle is not enough
        idle = sim.idle
        out = []
        for req in sorted(sim.ready.values(), key=lambda r: (r.deadline, r.id)):
            if not idle:
                break
            i = self.place(sim, req, idle)
            if i is not None:
                out.append((req, i))
                idle.remove(i)
        return Decision(assign=out)
