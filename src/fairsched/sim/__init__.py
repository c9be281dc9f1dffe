"""The discrete-event simulator: firm deadlines, layer-boundary preemption, shared DRAM bandwidth."""

from fairsched.sim.engine import Decision, SimConfig, Simulator, SchedulerError
from fairsched.sim.request import Request

__all__ = ["Decision", "Request", "SimConfig", "Simulator", "SchedulerError"]
