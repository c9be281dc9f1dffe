"""Shortest job first: least remaining work (each layer on its best type) first."""

from fairsched.schedulers.base import PriorityScheduler
from fairsched.schedulers.registry import register


@register("sjf")
class SJF(PriorityScheduler):
    compiled_key = "best_remaining"  # same order as ``key``: sim/compiled.py runs it

    def key(self, sim, req):
        return sim.best_remaining(req), req.id
