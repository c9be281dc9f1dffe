"""Earliest deadline first."""

from operator import attrgetter

from fairsched.schedulers.base import PriorityScheduler
from fairsched.schedulers.registry import register

_DEADLINE_ID = attrgetter("deadline", "id")


@register("edf")
class EDF(PriorityScheduler):
    compiled_key = "deadline"  # same order as ``key``: sim/compiled.py runs it

    def key(self, sim, req):
        return req.deadline, req.id

    def req_key(self, sim):
        return _DEADLINE_ID  # same order as ``key``, without a Python call per request
