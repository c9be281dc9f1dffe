"""SLA-aware heuristic: the SLO furthest below its target first, then earliest deadline.

Deficit = ``target - hit rate so far``; a tenant that is already above target yields to one
that is behind. Ties (equal deficits, e.g. at the start) fall back to EDF.
"""

from fairsched.schedulers.base import PriorityScheduler
from fairsched.schedulers.registry import register


@register("sla-aware")
class SLAAware(PriorityScheduler):
    kernel_spec = "sla-aware"  # sim/compiled.py decides the same way, bit for bit

    def key(self, sim, req):
        s = req.slo
        return -(sim.slo_target[s] - sim.slo_hit_rate(s)), req.deadline, req.id
