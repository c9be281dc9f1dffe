"""Online use: the scheduler driving real executors (dispatcher, state protocol, ONNX Runtime demo).

* :mod:`.state`: :class:`SchedulerState`, the read-only view schedulers use (the simulator and the
  dispatcher both implement it);
* :mod:`.dispatcher`: :class:`Dispatcher`, real-time events in, decisions out, firm deadlines;
* :mod:`.replay`: feed an event sequence on a fake clock (tests, overhead measurement);
* :mod:`.layers`, :mod:`.executors`, :mod:`.profile`, :mod:`.serve`, :mod:`.sim2real`: the serving demo
  on ONNX Runtime (optional extra ``online``).
"""

from fairsched.online.dispatcher import Dispatcher
from fairsched.online.state import SchedulerState

__all__ = ["Dispatcher", "SchedulerState"]
