"""Schedulers: one small interface, a name -> class registry, one module per policy.

Adding a scheduler is one file: subclass :class:`Scheduler`, implement ``decide``, decorate
with ``@register("name")`` and list the module in ``_MODULES`` below.
"""

from fairsched.schedulers.base import Scheduler
from fairsched.schedulers.registry import available, make, register

__all__ = ["Scheduler", "available", "make", "register"]
