"""Verbosity of the command line: ``fairsched -v ...`` (more), ``fairsched -q ...`` (errors only).

Progress and status lines go to stderr through :func:`stderr_console` (silent under ``-q``);
library messages go through :mod:`logging` under the ``fairsched`` logger (warnings shown by
default, info with ``-v``, debug with ``-vv``). Results (tables, JSON) always go to stdout.
"""

from __future__ import annotations

import logging
import sys

from rich.console import Console

_state = {"verbosity": 0}


def configure(verbosity: int) -> None:
    """``verbosity``: -1 quiet, 0 default, 1 verbose, 2+ debug."""
    _state["verbosity"] = verbosity
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    log = logging.getLogger("fairsched")
    log.setLevel(level)
    if not any(getattr(h, "_fairsched", False) for h in log.handlers):
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        h._fairsched = True  # type: ignore[attr-defined]
        log.addHandler(h)


def verbosity() -> int:
    return _state["verbosity"]


def stderr_console() -> Console:
    """The console for progress and status lines: stderr, silent under ``-q``."""
    return Console(stderr=True, quiet=_state["verbosity"] < 0)
