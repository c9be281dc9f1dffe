"""Learned schedulers: a Gymnasium env over the simulator, training, export, numpy inference.

Importing this package registers the env id ``fairsched/MultiTenant-v0`` when gymnasium is
installed (``pip install fairsched[rl]``); it never imports torch. The schedulers ``drl`` and
``relmas`` (:mod:`fairsched.rl.policy_scheduler`) need numpy only.
"""

ENV_ID = "fairsched/MultiTenant-v0"

try:  # gymnasium is an optional dependency (the rl extra)
    import gymnasium as _gym
except ModuleNotFoundError:  # pragma: no cover - exercised without the rl extra
    _gym = None

if _gym is not None and ENV_ID not in _gym.registry:
    _gym.register(id=ENV_ID, entry_point="fairsched.rl.env:FairSchedEnv")

CYCLE_ENV_ID = "fairsched/Cycle-v0"  # the cycle formulation: one step = one scheduling cycle
if _gym is not None and CYCLE_ENV_ID not in _gym.registry:
    _gym.register(id=CYCLE_ENV_ID, entry_point="fairsched.rl.cycle_env:CycleEnv")
