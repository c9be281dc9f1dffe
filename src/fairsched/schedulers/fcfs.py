"""First come, first served: the oldest request first."""

from fairsched.schedulers.base import PriorityScheduler
from fairsched.schedulers.registry import register


@register("fcfs")
class FCFS(PriorityScheduler):
    compiled_key = "arrival"  # same order as ``key``: sim/compiled.py runs it

    def key(self, sim, req):
        return req.arrival, req.id
