"""Least laxity first: laxity = deadline - now - remaining work (best type, alone).

``now`` is common to all candidates, so ordering by ``deadline - remaining`` is the same order.
"""

from fairsched.schedulers.base import PriorityScheduler
from fairsched.schedulers.registry import register


@register("llf")
class LLF(PriorityScheduler):
    compiled_key = "laxity"  # same order as ``key``: sim/compiled.py runs it

    def key(self, sim, req):
        return req.deadline - sim.best_remaining(req), req.id
