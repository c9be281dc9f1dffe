"""Importing this module registers the constant-action schedulers of :mod:`fairsched.rl.constant`.

A module (not a call) so that :func:`fairsched.schedulers.registry.import_plugin` can hand it to
worker processes (``$FAIRSCHED_IMPORT``): ``--import fairsched.rl.constant_plugin``.
"""

from fairsched.rl.constant import register_all

register_all()
