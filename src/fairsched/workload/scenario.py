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
from pydantic import Field, ValidationError, model_validator

from fairsched.costs.table import CostTable
from fairsched.errors import InputError, pydantic_message
from fairsched.io import file_digest, load_yaml, shipped_or_path
from fairsched.platform.config import Platform
from fairsched.validate import MAX_REQUESTS, MAX_SLOS, MAX_SPAN_S, MAX_TENANTS, MIN_LAYER_S, StrictModel
from fairsched.workload.arrivals import read_trace_gaps

#: largest window of an (m,k) constraint (schedulers keep k outcomes per stream)
MK_MAX_K = 1000
SCENARIO_DIR = Path(str(resources.files("fairsched.workload") / "data"))


class _Strict(StrictModel):
    """Unknown keys, inf/nan and booleans in number fields are errors (:mod:`fairsched.validate`)."""


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
    requests: int = Field(default=20000, ge=1, le=MAX_REQUESTS)
    warmup_fraction: float = Field(default=0.1, ge=0, lt=1)
    tenants: list[TenantConfig] = Field(min_length=1, max_length=MAX_TENANTS)

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
    #: SHA-256 of every input file the run reads (trace path -> digest): part of a cell's cache key
    inputs: dict = field(default_factory=dict)

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
    if requests is not None and not 1 <= requests <= MAX_REQUESTS:
        raise InputError(f"requests: must be >= 1 and <= {MAX_REQUESTS:,}, got {requests}")
    n_slos = sum(len(t.slos) for t in cfg.tenants)
    if n_slos > MAX_SLOS:
        raise InputError(f"scenario: tenants: {n_slos:,} SLOs in all, more than the {MAX_SLOS:,} allowed; split the scenario")
    base = base_dir or Path.cwd()
    costs.check_covers([], platform.type_names, f"platform '{platform.name}'")
    rho = cfg.load if load is None else load
    flat, work, inputs = [], [], {}
    for ti, t in enumerate(cfg.tenants):
        for si, s in enumerate(t.slos):
            if s.model not in costs.models:
                raise InputError(
                    f"scenario: tenants.{ti}.slos.{si}.model: '{s.model}' is not in the cost table; use one of {costs.models}"
                )
            _check_layer_times(costs, s.model, platform, f"scenario: tenants.{ti}.slos.{si}.model")
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
                tp = tp if tp.is_absolute() else base / tp
                gaps = read_trace_gaps(tp, s.arrival.column, f"scenario: tenants.{ti}.slos.{si}.arrival")
                inputs[str(tp)] = file_digest(tp)
                if not s.arrival.rescale:
                    _check_trace_scale(gaps, s.arrival.unit, f"scenario: tenants.{ti}.slos.{si}.arrival")
            if not np.isfinite(deadline) or deadline > MAX_SPAN_S:
                raise InputError(f"scenario: tenants.{ti}.slos.{si}: deadline {deadline:.6g} s is too long (at most "
                                 f"{MAX_SPAN_S:.0e} s); give a shorter deadline")
            flat.append((ti, t.name, s, deadline))
            work.append(float(iso.mean()))
    shares = np.array([f[2].rate_share for f in flat])
    with np.errstate(all="ignore"):
        k = rho * platform.n / float(np.dot(shares, work))
    slos = [
        SLO(i, ti, tn, s.model, d, s.rate_target, float(shares[i] * k), s.arrival,
            tuple(s.mk) if s.mk is not None else None) for i, (ti, tn, s, d) in enumerate(flat)
    ]
    n_req = cfg.requests if requests is None else requests
    _check_rates(slos, n_req, rho)
    return Workload(cfg.name, [t.name for t in cfg.tenants], slos, rho, n_req, cfg.warmup_fraction, base, inputs)


def _check_layer_times(costs: CostTable, model: str, platform: Platform, where: str) -> None:
    """Every layer of ``model`` takes at least :data:`MIN_LAYER_S` on every sub-accelerator: shorter
    layers (e.g. 1e-300 cycles and no DRAM traffic) stop the simulated clock from advancing."""
    for s in platform.subs:
        mc = costs.get(model, s.type)
        with np.errstate(all="ignore"):
            solo = np.maximum(mc.cycles / s.clock_hz, mc.dram_bytes / platform.bandwidth)
        bad = ~(solo >= MIN_LAYER_S) | ~np.isfinite(solo) | (solo > MAX_SPAN_S)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise InputError(f"{where}: '{model}' layer {j} on '{s.type}' takes {solo[j]:.3g} s on platform "
                             f"'{platform.name}'; a layer must take between {MIN_LAYER_S:g} s and {MAX_SPAN_S:.0e} s, "
                             "fix its cycles/dram_bytes in the cost table")


def _check_trace_scale(gaps: np.ndarray, unit: str, where: str) -> None:
    scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6}[unit]
    with np.errstate(all="ignore"):
        span = float(gaps.sum()) * scale
    if not (np.isfinite(span) and 0 < span <= MAX_SPAN_S) or gaps.mean() * scale < MIN_LAYER_S:
        raise InputError(f"{where}: trace spans {span:.3g} s in unit '{unit}'; with rescale: false it must span "
                         f"more than zero and at most {MAX_SPAN_S:.0e} s; check 'unit' or use rescale: true")


def _check_rates(slos: list[SLO], requests: int, rho: float) -> None:
    """Arrival rates that are finite, positive and give a finite simulated span (a load of 1e-300
    makes rates underflow; a huge rate_share overflows them)."""
    rates = np.array([s.rate for s in slos], dtype=np.float64)
    with np.errstate(all="ignore"):
        ok = np.isfinite(rates) & (rates > 0) & np.isfinite(1.0 / rates)
        span = requests / rates.sum() if ok.all() else np.inf
    if not ok.all() or not span <= MAX_SPAN_S:
        raise InputError(f"load {rho:g}: gives arrival rates {rates.min():.3g}..{rates.max():.3g} per s and a simulated "
                         f"span of {span:.3g} s (at most {MAX_SPAN_S:.0e} s); use a larger load, fewer requests or "
                         "rate_share values closer together")
    for s in slos:
        a = s.arrival
        if getattr(a, "kind", None) == "bursty":
            on, off = a.mean_on_ms * 1e-3, a.mean_off_ms * 1e-3
            with np.errstate(all="ignore"):
                peak = s.rate * (on + off) / on
            if not (np.isfinite(peak) and peak > 0 and 1.0 / peak >= MIN_LAYER_S and on + off <= MAX_SPAN_S):
                raise InputError(f"tenant '{s.tenant_name}', model '{s.model}': arrival: bursty mean_on_ms "
                                 f"{a.mean_on_ms:g} / mean_off_ms {a.mean_off_ms:g} give a peak rate of {peak:.3g} per s; "
                                 "use a longer mean_on_ms or a shorter mean_off_ms")
