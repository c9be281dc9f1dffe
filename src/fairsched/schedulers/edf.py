"""Earliest deadline first."""

from fairsched.schedulers.base import PriorityScheduler
from fairsched.schedulers.registry import register


@register("edf")
class EDF(PriorityScheduler):
    def key(self, sim, req):
        return req.deadline, req.id
