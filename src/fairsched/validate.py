"""The one validation layer for numbers: schema base class, hard caps and flag checks.

Why caps: a value can be "valid" (positive, finite) and still break a run later, after validation:
2**70 requests overflow a C long, a load of 1e-300 makes arrival rates underflow to zero (infinite
gaps), a layer of 1e-300 s never advances the clock. Every such limit lives here, is checked where
the input is read (schema, flags, :func:`fairsched.workload.scenario.resolve`), and is documented in
docs/reliability.md.

Why :class:`StrictModel`: pydantic's lax mode turns YAML booleans into numbers (``requests: yes``
is 1, ``seeds: true`` is one seed) without a word. Every config schema derives from this class,
which refuses a boolean wherever the field's type does not name ``bool``.
"""

from __future__ import annotations

import math
import typing

from pydantic import BaseModel, ConfigDict, model_validator

from fairsched.errors import InputError

#: requests per simulation (the per-request arrays must fit in memory)
MAX_REQUESTS = 100_000_000
#: largest seed (seeds are stored as int64 in the result tables)
MAX_SEED = 2**63 - 1
#: tenants per scenario and SLOs per scenario
MAX_TENANTS = 1_000
MAX_SLOS = 10_000
#: cells in one sweep grid
MAX_CELLS = 1_000_000
#: shortest layer a platform may run (s): below it the simulated clock stops advancing
MIN_LAYER_S = 1e-12
#: longest expected simulated span (s) of one run (about 30 years): beyond it times lose precision
MAX_SPAN_S = 1e9
#: largest platform utilization
MAX_LOAD = 10.0


def _names_bool(tp) -> bool:
    if tp is bool:
        return True
    if tp is typing.Any or tp is object:
        return True
    return any(_names_bool(a) for a in typing.get_args(tp))


def _has_bool(v) -> bool:
    if isinstance(v, bool):
        return True
    if isinstance(v, (list, tuple)):
        return any(_has_bool(x) for x in v)
    return False


class StrictModel(BaseModel):
    """Base of every config schema: unknown keys, inf/nan and stray booleans are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_stray_bool(cls, data):
        if isinstance(data, dict):
            for name, v in data.items():
                f = cls.model_fields.get(name) if isinstance(name, str) else None
                if f is not None and _has_bool(v) and not _names_bool(f.annotation):
                    raise ValueError(f"{name}: a yes/no value (true, false, yes, no, on, off) is not allowed here; "
                                     "write a number or text")
        return data


def check_int(flag: str, v: int | None, lo: int, hi: int, hint: str = "") -> None:
    """``lo <= v <= hi`` for a whole-number flag (``None``: not given)."""
    if v is None:
        return
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise InputError(f"{flag}: must be a whole number >= {lo} and <= {hi:,}, got {v}{'; ' + hint if hint else ''}")


def check_float(flag: str, v: float | None, lo: float, hi: float, *, lo_open: bool = False, hint: str = "") -> None:
    """A finite number in [lo, hi] (or (lo, hi] with ``lo_open``); ``None``: not given."""
    if v is None:
        return
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v <= hi \
        and (v > lo if lo_open else v >= lo)
    if not ok:
        rng = f"{'>' if lo_open else '>='} {lo:g} and <= {hi:g}"
        raise InputError(f"{flag}: must be a finite number {rng}, got {v}{'; ' + hint if hint else ''}")


def check_backend(backend: str, address: str | None) -> None:
    """``--backend`` / ``--address`` of the commands that run cells (sweep, rl-eval)."""
    if backend not in ("local", "ray"):
        raise InputError(f"--backend: '{backend}' is unknown; use local or ray")
    if address and backend != "ray":
        raise InputError("--address: only used with --backend ray; add --backend ray or drop --address")


def check_run_flags(*, load=None, requests=None, seed=None, jobs=None) -> None:
    """The flags every simulating command shares."""
    check_float("--load", load, 0, MAX_LOAD, lo_open=True, hint="platform utilization, e.g. 0.8")
    check_int("--requests", requests, 1, MAX_REQUESTS)
    check_int("--seed", seed, 0, MAX_SEED)
    check_int("--jobs", jobs, 1, 4096)
