"""Scenarios: tenants, their SLAs, arrival processes and the offered load.

A scenario YAML is checked by pydantic, then *resolved* against a platform and a cost table into a
:class:`Workload`: concrete SLOs with deadlines in seconds and arrival rates in requests/s. Load is
given as platform utilization ``rho``::

    rho = sum_s(lambda_s * W_s) / M

where ``W_s`` is the isolated latency of the SLO's model averaged over the platform's ``M``
sub-accelerators (each layer alone at the platform's DRAM bandwidth). Rates keep the ratios of the
SLOs' ``rate_share``; a deadline is either absolute (``deadline_ms``) or a multiple of the model's
isolated latency on its fastest sub-accelerator (``deadline_x``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fairsched.costs.table import CostTable
from fairsched.errors import InputError, pydantic_message
from fairsched.io import load_yaml, shipped_or_path
from fairsched.platform.config import Platform
from fairsched.workload.arrivals import read_trace_gaps

#: largest window of an (m,k) constraint (schedulers keep k outcomes per stream)
MK_MAX_K = 1000
SCENARIO_DIR = Path(str(resources.files("fairsched.workload") / "data"))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class PoissonArrival(_Strict):
    kind: Literal["poisson"] = "poisson"


class PeriodicArrival(_Strict):
    kind: Literal["periodic"]
    jitter: float = Field(default=0.0, ge=0, le=1, description="uniform jitter as a fraction of the period")


class BurstyArrival(_Strict):
    kind: Literal["bursty"]
    mean_on_ms: float = Field(gt=0)
    mean_off_ms: float = Field(gt=0)


class TraceArrival(_Strict):
    """Replay arrival times from a CSV column. With ``rescale`` (default) the gaps are scaled so the
    stream's mean rate is the one the load asks for (shape kept); without it they are used as
    given, in ``unit``, and this SLO's rate is the trace's own."""

    kind: Literal["trace"]
    path: str
    column: str = "arrival_ms"
    unit: Literal["s", "ms", "us"] = "ms"
    rescale: bool = True


Arrival = Annotated[Union[PoissonArrival, PeriodicArrival, BurstyArrival, TraceArrival], Field(discriminator="kind")]


class SLOConfig(_Strict):
    """One SLO. ``target`` is a long-run hit rate; ``mk: [m, k]`` an (m,k)-firm constraint (of any k
    consecutive counted requests of this stream at least m hit; docs/semantics.md). Give either or
    both; with ``mk`` alone the rate target is ``m / k``, the long-run rate (m,k) implies."""

    model: str
    target: float | None = Field(default=None, ge=0, le=1, description="target deadline hit rate tau")
    mk: tuple[int, int] | None = Field(default=None, description="(m,k)-firm constraint [m, k], 1 <= m <= k")
    deadline_ms: float | None = Field(default=None, gt=0)
    deadline_x: float | None = Field(default=None, gt=0, description="deadline as multiple of isolated latency")
    rate_share: float = Field(default=1.0, gt=0, description="relative arrival rate")
    arrival: Arrival = Field(default_factory=PoissonArrival)

    @model_validator(mode="after")
    def _one_deadline(self):
        if (self.deadline_ms is None) == (self.deadline_x is None):
            raise ValueError("give exactly one of deadline_ms or deadline_x")
        if self.target is None and self.mk is None:
            raise ValueError("give a target hit rate (target: 0.95), an (m,k) constraint (mk: [9, 10]), or both")
        if self.mk is not None and not (1 <= self.mk[0] <= self.mk[1] <= MK_MAX_K):
            raise ValueError(f"mk: need 1 <= m <= k <= {MK_MAX_K}, e.g. mk: [9, 10]; got {list(self.mk)}")
        return self

    @property
    def rate_target(self) -> float:
        """The long-run target: ``target``, else ``m / k``."""
        return self.target if self.target is not None else self.mk[0] / self.mk[1]


class TenantConfig(_Strict):
    name: str = Field(min_length=1)
    slos: list[SLOConfig] = Field(min_length=1)


class ScenarioConfig(_Strict):
    name: str = "scenario"
    description: str = ""
    load: float = Field(default=0.7, gt=0, le=10, description="offered load L (docs/formats.md), not the measured utilization")
    requests: int = Field(default=20000, ge=1)
    warmup_fraction: float = Field(default=0.1, ge=0, lt=1)
    tenants: list[TenantConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self):
        names = [t.name for t in self.tenants]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"tenant names must be unique; duplicated: {dup}")
        return self


@dataclass(frozen=True)
class SLO:
    """A resolved SLO: one (tenant, model) stream with its deadline, target and rate."""

    index: int
    tenant: int
    tenant_name: str
    model: str
    deadline: float  # seconds, relative
    target: float
    rate: float  # requests / s
    arrival: object  # the arrival config
    mk: tuple[int, int] | None = None  # (m, k)-firm constraint, or None (rate target only)


@dataclass
class Workload:
    name: str
    tenants: list[str]
    slos: list[SLO]
    load: float
    requests: int
    warmup_fraction: float
    base_dir: Path = field(default_factory=Path.cwd)

    @property
    def total_rate(self) -> float:
        return sum(s.rate for s in self.slos)


def available_scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def load_scenario(spec: str | Path | dict = "default") -> tuple[ScenarioConfig, Path]:
    """Parse a scenario: shipped name, YAML path, or dict. Returns (config, folder for relative paths)."""
    if isinstance(spec, ScenarioConfig):
        return spec, Path.cwd()
    if isinstance(spec, dict):
        raw, where, base = spec, "scenario", Path.cwd()
    else:
        p = shipped_or_path(spec, SCENARIO_DIR, "scenario")
        raw, where, base = load_yaml(p, "scenario"), f"scenario '{p}'", p.parent
    try:
        return ScenarioConfig.model_validate(raw), base
    except ValidationError as e:
        raise InputError(pydantic_message(where, e)) from None


def isolated_latency(costs: CostTable, model: str, platform: Platform) -> np.ndarray:
    """Isolated latency (s) of ``model`` on each sub-accelerator, layers alone at bandwidth B."""
    out = np.empty(platform.n)
    for s in platform.subs:
        mc = costs.get(model, s.type)
        out[s.index] = np.maximum(mc.cycles / s.clock_hz, mc.dram_bytes / platform.bandwidth).sum()
    return out


def min_latency(costs: CostTable, model: str, platform: Platform) -> float:
    """Lower bound (s) on any execution of ``model``: each layer alone, at bandwidth B, on the
    sub-accelerator where it runs fastest (a request may move between layers). A deadline below
    this can never be met."""
    best = None
    for s in platform.subs:
        mc = costs.get(model, s.type)
        solo = np.maximum(mc.cycles / s.clock_hz, mc.dram_bytes / platform.bandwidth)
        best = solo if best is None else np.minimum(best, solo)
    return float(best.sum())


def resolve(
    cfg: ScenarioConfig,
    platform: Platform,
    costs: CostTable,
    *,
    load: float | None = None,
    requests: int | None = None,
    base_dir: Path | None = None,
    allow_infeasible: bool = False,
) -> Workload:
    """Turn a scenario into concrete SLOs (deadlines in s, rates in 1/s) for this platform.

    A deadline below :func:`min_latency` can never be met and is an :class:`InputError` unless
    ``allow_infeasible`` (hand-built tests of deadline aborts)."""
    if load is not None and not (0 < load <= 10):
        raise InputError(f"load: must be > 0 and <= 10 (platform utilization, e.g. 0.7), got {load}")
    if requests is not None and requests < 1:
        raise InputError(f"requests: must be >= 1, got {requests}")
    base = base_dir or Path.cwd()
    costs.check_covers([], platform.type_names, f"platform '{platform.name}'")
    rho = cfg.load if load is None else load
    flat, work = [], []
    for ti, t in enumerate(cfg.tenants):
        for si, s in enumerate(t.slos):
            if s.model not in costs.models:
                raise InputError(
                    f"scenario: tenants.{ti}.slos.{si}.model: '{s.model}' is not in the cost table; use one of {costs.models}"
                )
            iso = isolated_latency(costs, s.model, platform)
            deadline = s.deadline_ms * 1e-3 if s.deadline_ms is not None else s.deadline_x * float(iso.min())
            fastest = min_latency(costs, s.model, platform)
            if deadline < fastest * (1 - 1e-9) and not allow_infeasible:
                field_ = "deadline_ms" if s.deadline_ms is not None else "deadline_x"
                raise InputError(
                    f"scenario: tenants.{ti}.slos.{si}.{field_}: tenant '{t.name}', model '{s.model}': deadline "
                    f"{deadline * 1e3:.6g} ms can never be met; the fastest possible execution on platform "
                    f"'{platform.name}' takes {fastest * 1e3:.6g} ms; use deadline_ms >= {fastest * 1e3 * (1 + 1e-5):.6g} "
                    f"(or deadline_x >= {fastest / float(iso.min()) * (1 + 1e-3):.4g})"
                )
            if getattr(s.arrival, "kind", "poisson") == "trace":  # check the file now, not mid-run
                tp = Path(s.arrival.path)
                read_trace_gaps(tp if tp.is_absolute() else base / tp, s.arrival.column,
                                f"scenario: tenants.{ti}.slos.{si}.arrival")
            flat.append((ti, t.name, s, deadline))
            work.append(float(iso.mean()))
    shares = np.array([f[2].rate_share for f in flat])
    k = rho * platform.n / float(np.dot(shares, work))
    slos = [
        SLO(i, ti, tn, s.model, d, s.rate_target, float(shares[i] * k), s.arrival,
            tuple(s.mk) if s.mk is not None else None) for i, (ti, tn, s, d) in enumerate(flat)
    ]
    return Workload(
        cfg.name,
        [t.name for t in cfg.tenants],
        slos,
        rho,
        cfg.requests if requests is None else requests,
        cfg.warmup_fraction,
        base,
    )
