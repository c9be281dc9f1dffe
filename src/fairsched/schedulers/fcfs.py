"""First come, first served: the oldest request first."""

from fairsched.schedulers.base import PriorityScheduler
from fairsched.schedulers.registry import register


@register("fcfs")
class FCFS(PriorityScheduler):
    def key(self, sim, req):
        return req.arrival, req.id
