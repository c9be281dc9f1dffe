"""fairsched: fair, firm real-time scheduling of DNN inference on multi-tenant multi-accelerators.

Public API (one screen):

* :func:`simulate`, :func:`compare` -- run schedulers, get data frames back
* :func:`load_platform`, :func:`load_cost_table`, :func:`load_scenario` -- validated inputs
* :class:`Simulator`, :class:`SimConfig`, :class:`Decision` -- drive the simulator yourself
* :class:`Scheduler`, :func:`register`, :func:`make_scheduler`, :func:`available_schedulers`
* :func:`build` -- platform, cost table and resolved workload in one call (for :class:`Simulator`)
* :class:`InputError` -- every bad-input error
"""

__version__ = "0.1.0"  # the single source: pyproject.toml reads it (tool.setuptools.dynamic)

from fairsched._paths import set_numba_cache  # noqa: E402

set_numba_cache()  # before anything imports numba: its cache goes to the user cache dir

from fairsched.api import CompareResult, SimResult, build, compare, simulate
from fairsched.costs.table import load_cost_table
from fairsched.errors import InputError
from fairsched.platform.config import load_platform
from fairsched.schedulers.base import Scheduler
from fairsched.schedulers.registry import available as available_schedulers
from fairsched.schedulers.registry import make as make_scheduler
from fairsched.schedulers.registry import register
from fairsched.sim.engine import Decision, SimConfig, Simulator
from fairsched.workload.scenario import load_scenario

__all__ = [
    "CompareResult", "Decision", "InputError", "Scheduler", "SimConfig", "SimResult", "Simulator",
    "__version__", "available_schedulers", "build", "compare", "load_cost_table", "load_platform", "load_scenario",
    "make_scheduler", "register", "simulate",
]
