"""Sweeps: a grid of cells (scheduler x load x scenario x platform x seed) from one YAML file.

A sweep file (validated by :class:`SweepConfig`; relative paths are relative to the file)::

    name: my-sweep
    schedulers: all                 # or a list: [edf, sla-aware, drl]
    loads: [0.6, 0.85, 1.2]         # platform utilization
    scenarios: [default, random:1, unseen:0, my_tenants.yaml]
    platforms: [default]            # shipped names or YAML paths
    seeds: 5                        # a count (0..4) or a list [0, 7, 11]
    requests: 3000                  # per cell (default: each scenario's own)
    upheld_by: rate                 # rate | mk | both: how a tenant's SLA counts as upheld
    costs: null                     # cost table CSV (default: the shipped table)
    random: {n_tenants: [8, 12]}    # options of the random tenant mixes (random:<seed>)

``random:<seed>`` is a seeded random tenant mix drawn by
:func:`fairsched.workload.generator.random_scenario` over the cost table's models; ``unseen:<k>`` is
the same with seed ``UNSEEN_SEED_BASE + k``, a mix the learned policies never saw in training.
A shipped sweep (``src/fairsched/experiments/data/<name>.yaml``, e.g. ``paper``) may be named instead
of a path.

:func:`run_sweep` runs every cell through :func:`fairsched.experiments.runner.run_cells` (local
process pool or Ray), so finished cells are cached under ``OUT/cells`` and a rerun computes only the
missing ones. It then writes, atomically, ``summary.parquet`` (one row per cell), ``tenants.parquet``
(one row per cell and tenant), ``slos.parquet`` (one row per cell and SLO) and ``sweep.yaml`` (the
resolved grid). :func:`sweep_figures` draws the figures from those files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Literal

import pandas as pd
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from fairsched.errors import InputError
from fairsched.io import atomic_write_text, atomic_write_with, load_yaml, output_folder, shipped_or_path
from fairsched.validate import MAX_CELLS, MAX_REQUESTS, MAX_SEED, MAX_TENANTS, StrictModel

#: columns that identify a cell in every output table
CELL_COLUMNS = ["cell", "scheduler", "load", "scenario", "platform", "seed"]
#: summary columns measured in wall-clock time: they differ between runs of the same cell
TIMING_COLUMNS = ["sim_wall_s", "decision_us_p50", "decision_us_p99"]
#: most seeds a count may ask for (the grid size is capped separately, MAX_CELLS)
MAX_SEED_COUNT = 100_000
_RANDOM_RE = re.compile(r"^(random|unseen):(\d+)$")
SWEEP_DIR = Path(str(resources.files("fairsched.experiments") / "data"))


class _Strict(StrictModel):
    """Unknown keys, inf/nan and booleans in number fields are errors (:mod:`fairsched.validate`)."""


class RandomMixOptions(_Strict):
    """Options for ``random:<seed>`` scenarios (see :func:`~fairsched.workload.generator.random_scenario`)."""

    models: list[str] | None = Field(default=None, description="models to draw from (default: the cost table's)")
    n_tenants: tuple[int, int] = (8, 16)
    models_per_tenant: tuple[int, int] = (1, 3)
    target: tuple[float, float] = (0.80, 0.99)
    share_sigma: float = Field(default=0.8, ge=0)
    requests: int = Field(default=20000, ge=1, le=MAX_REQUESTS, description="used when the sweep sets no `requests`")
    warmup_fraction: float = Field(default=0.1, ge=0, lt=1)


class SweepConfig(_Strict):
    """Schema of a sweep YAML file."""

    name: str = "sweep"
    description: str = ""
    schedulers: Literal["all"] | list[str] = "all"
    loads: list[float] = Field(min_length=1)
    scenarios: list[str] = Field(default_factory=lambda: ["default"], min_length=1)
    platforms: list[str] = Field(default_factory=lambda: ["default"], min_length=1)
    seeds: int | list[int] = Field(default=1, validate_default=True)
    requests: int | None = Field(default=None, ge=1, le=MAX_REQUESTS)
    costs: str | None = None
    random: RandomMixOptions = Field(default_factory=RandomMixOptions)
    upheld_by: Literal["rate", "mk", "both"] = "rate"  # how tenants count as upheld (metrics.judge)

    @field_validator("schedulers")
    @classmethod
    def _known_schedulers(cls, v):
        if v == "all":
            return v
        from fairsched.schedulers.registry import unknown

        if not v:
            raise ValueError("empty list; list scheduler names, or write `schedulers: all`")
        bad, known = unknown(v)
        if bad:
            raise ValueError(f"unknown scheduler(s) {bad}; use any of {known}, or `all`")
        return _unique(v, "schedulers")

    @field_validator("loads")
    @classmethod
    def _positive_loads(cls, v):
        bad = [x for x in v if not (0 < x <= 10)]
        if bad:
            raise ValueError(f"each load must be a platform utilization in (0, 10], e.g. [0.6, 0.85, 1.2]; got {bad}")
        return _unique(v, "loads")

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v):
        if isinstance(v, int):
            if not 1 <= v <= MAX_SEED_COUNT:
                raise ValueError(f"a seed count must be >= 1 and <= {MAX_SEED_COUNT:,} (seeds: 5 means 0..4), got {v}")
            return list(range(v))
        if not v:
            raise ValueError("empty list; give a count (seeds: 5) or a list of seeds (seeds: [0, 1, 2])")
        bad = [s for s in v if not 0 <= s <= MAX_SEED]
        if bad:
            raise ValueError(f"seeds must be >= 0 and <= 2**63-1, got {str(bad[:3])[:80]}")
        return _unique(v, "seeds")

    @field_validator("scenarios", "platforms")
    @classmethod
    def _entries(cls, v, info):
        for s in v:
            if not s.strip():
                raise ValueError(f"empty {info.field_name} entry; give a shipped name or a YAML path")
            if info.field_name == "scenarios" and s.split(":")[0] in ("random", "unseen") and not _RANDOM_RE.match(s):
                raise ValueError(f"'{s}' is not a random mix; write random:<seed> or unseen:<k> with an integer, "
                                 "e.g. random:3")
        return _unique(v, info.field_name)

    @model_validator(mode="after")
    def _random_ranges(self):
        r = self.random
        if not (1 <= r.n_tenants[0] <= r.n_tenants[1] <= MAX_TENANTS):
            raise ValueError(f"random.n_tenants: need 1 <= low <= high, got {list(r.n_tenants)}")
        if not (1 <= r.models_per_tenant[0] <= r.models_per_tenant[1] <= 1000):
            raise ValueError(f"random.models_per_tenant: need 1 <= low <= high, got {list(r.models_per_tenant)}")
        if not (0 <= r.target[0] <= r.target[1] <= 1):
            raise ValueError(f"random.target: need 0 <= low <= high <= 1, got {list(r.target)}")
        return self


def _unique(v: list, what: str) -> list:
    dup = sorted({str(x) for x in v if v.count(x) > 1})
    if dup:
        raise ValueError(f"duplicated {what} {dup}; list each once")
    return v


_FIELDS = list(SweepConfig.model_fields)
_HINTS = {
    "name": "write a short text",
    "schedulers": "write a list of scheduler names ([edf, sla-aware]) or `all`",
    "loads": "write a list of platform utilizations, e.g. [0.6, 0.85, 1.2]",
    "scenarios": "write a list of shipped scenario names, YAML paths or random:<seed>",
    "platforms": "write a list of shipped platform names or YAML paths",
    "seeds": "write a seed count (seeds: 5) or a list of seeds ([0, 1, 2])",
    "requests": "write a positive integer (requests per cell), e.g. 3000",
    "costs": "write the path of a cost table CSV, relative to the sweep file",
    "random": "write a mapping of random-mix options",
    "upheld_by": "write rate, mk or both",
}


def _sweep_message(source: str, err: ValidationError) -> str:
    """One clause per bad field: the field, what is wrong, how to fix it."""
    clauses: dict[str, str] = {}
    for e in err.errors():
        # drop the union-branch parts pydantic adds to a location (``literal['all']``, ``list[str]``, ``int``)
        loc = [str(x) for x in e.get("loc", ()) if not re.match(r"^(literal\[.*\]|\w+\[.*\]|int|str|float)$", str(x))]
        where = ".".join(loc) or "(root)"
        if where in clauses:
            continue
        typ, msg = e.get("type", ""), e.get("msg", "invalid")
        if typ == "extra_forbidden":
            allowed = list(RandomMixOptions.model_fields) if where.startswith("random.") else _FIELDS
            msg = f"unknown field; allowed fields are {allowed}"
        elif typ == "missing":
            msg = f"required field is missing; {_HINTS.get(loc[-1], 'add it')}"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        else:
            got = e.get("input")
            shown = f" (got {_short_repr(got)})" if not isinstance(got, dict) else ""
            hint = _HINTS.get(loc[0]) if loc and len(loc) <= 2 else None
            msg = f"{msg}{shown}" + (f"; {hint}" if hint else "")
        clauses[where] = f"{where}: {msg}"
    return f"{source}: " + "; ".join(clauses.values())


def _short_repr(v, n: int = 60) -> str:
    """A bounded repr: the message quotes the input, never the whole of it."""
    if isinstance(v, (list, tuple)) and len(v) > 5:
        v = list(v[:5]) + ["..."]
    r = repr(v)
    return r if len(r) <= n else r[: n - 3] + "..."


def available_sweeps() -> list[str]:
    return sorted(p.stem for p in SWEEP_DIR.glob("*.yaml"))


def load_sweep(spec: str | Path | dict) -> tuple[SweepConfig, Path]:
    """Parse a sweep: YAML path or dict. Returns (config, folder that relative paths refer to)."""
    if isinstance(spec, SweepConfig):
        return spec, Path.cwd()
    if isinstance(spec, dict):
        raw, where, base = spec, "sweep", Path.cwd()
    else:
        p = shipped_or_path(spec, SWEEP_DIR, "sweep", any_existing=True)
        raw, where, base = load_yaml(p, "sweep"), f"sweep '{p}'", p.parent
    try:
        return SweepConfig.model_validate(raw), base
    except ValidationError as e:
        raise InputError(_sweep_message(where, e)) from None


# --------------------------------------------------------------------------------------------- grid


@dataclass
class Cell:
    """One cell of the grid: labels for the tables plus everything needed to run it."""

    scheduler: str
    load: float
    scenario: str
    platform: str
    seed: int
    spec: Any  # CellSpec
    objects: tuple  # (platform, costs, workload)


@dataclass
class Grid:
    config: SweepConfig
    base_dir: Path
    schedulers: list[str]
    cells: list[Cell] = field(default_factory=list)
    scenarios: dict[str, dict] = field(default_factory=dict)  # label -> resolved scenario dict


def _path_or_name(entry: str, base: Path) -> str:
    """YAML paths are relative to the sweep file; shipped names stay names."""
    p = Path(entry)
    if p.suffix in (".yaml", ".yml") and not p.is_absolute():
        return str(base / p)
    return entry


def expand(cfg: SweepConfig, base_dir: Path) -> Grid:
    """Load every platform/scenario once and list the cells (scheduler-fastest order)."""
    from fairsched.api import default_schedulers
    from fairsched.costs.table import load_cost_table
    from fairsched.experiments.cells import CellSpec, costs_fingerprint, platform_fingerprint
    from fairsched.platform.config import load_platform
    from fairsched.workload.generator import UNSEEN_SEED_BASE, random_scenario
    from fairsched.workload.scenario import load_scenario, resolve

    names = default_schedulers() if cfg.schedulers == "all" else list(cfg.schedulers)
    costs_path = None
    if cfg.costs:
        costs_path = Path(cfg.costs) if Path(cfg.costs).is_absolute() else base_dir / cfg.costs
        if not costs_path.is_file():
            raise InputError(f"sweep: costs: '{costs_path}' does not exist; give the path of a cost table CSV "
                             "(relative to the sweep file), or drop `costs` to use the shipped table")
    table = load_cost_table(costs_path)
    fp = costs_fingerprint(table)
    n_cells = len(names) * len(cfg.loads) * len(cfg.scenarios) * len(cfg.platforms) * len(cfg.seeds)
    if n_cells > MAX_CELLS:
        raise InputError(f"sweep: the grid has {n_cells:,} cells, more than the {MAX_CELLS:,} allowed; "
                         "use fewer schedulers, loads, scenarios, platforms or seeds")
    grid = Grid(cfg, base_dir, names)
    plats = {}
    for pl in cfg.platforms:
        try:
            plats[pl] = load_platform(_path_or_name(pl, base_dir))
        except InputError as e:
            raise InputError(f"sweep: platforms: '{pl}': {e}") from None
    scen = {}
    for sc in cfg.scenarios:
        m = _RANDOM_RE.match(sc)
        try:
            if m:
                r = cfg.random
                models = r.models or table.models
                seed = int(m.group(2)) + (UNSEEN_SEED_BASE if m.group(1) == "unseen" else 0)
                raw = random_scenario(
                    seed, models, n_tenants=r.n_tenants, models_per_tenant=r.models_per_tenant,
                    target=r.target, share_sigma=r.share_sigma, requests=r.requests,
                    warmup_fraction=r.warmup_fraction, name=f"{m.group(1)}-{m.group(2)}",
                )
                scen[sc] = load_scenario(raw)
            else:
                scen[sc] = load_scenario(_path_or_name(sc, base_dir))
        except InputError as e:
            raise InputError(f"sweep: scenarios: '{sc}': {e}") from None
        grid.scenarios[sc] = scen[sc][0].model_dump(mode="json")
    for pl, plat in plats.items():
        pfp = platform_fingerprint(plat)
        for sc, (scfg, sbase) in scen.items():
            dump = scfg.model_dump()
            for load in cfg.loads:
                try:
                    wl = resolve(scfg, plat, table, load=load, requests=cfg.requests, base_dir=sbase)
                except InputError as e:
                    raise InputError(f"sweep: scenario '{sc}' on platform '{pl}': {e}") from None
                for seed in cfg.seeds:
                    for n in names:
                        spec = CellSpec(n, dump, pfp, fp, wl.load, wl.requests, seed, wl.inputs)
                        grid.cells.append(Cell(n, float(load), sc, pl, seed, spec, (plat, table, wl)))
    return grid


# --------------------------------------------------------------------------------------------- run


@dataclass
class SweepResult:
    summary: pd.DataFrame
    tenants: pd.DataFrame
    slos: pd.DataFrame
    computed: int
    cached: int
    out: Path


def run_sweep(
    sweep: str | Path | dict | SweepConfig | Grid,
    out: str | Path,
    *,
    backend: str = "local",
    address: str | None = None,
    jobs: int | None = None,
    on_start: Callable[[Grid], None] | None = None,
    on_done: Callable[[Cell, dict, bool], None] | None = None,
) -> SweepResult:
    """Run (or resume) a sweep into ``out``; returns the result tables and how many cells ran.

    ``sweep``: a YAML path, a dict, a :class:`SweepConfig` or an already expanded :class:`Grid`.
    """
    from fairsched.experiments.runner import run_cells

    from fairsched.io import check_folder_target

    out = check_folder_target(out, "--out")
    grid = sweep if isinstance(sweep, Grid) else expand(*load_sweep(sweep))
    cfg = grid.config
    if on_start:
        on_start(grid)
    by_key = {}
    counts = dict(computed=0, cached=0)

    def done(spec, data, cached):
        counts["cached" if cached else "computed"] += 1
        if on_done:
            on_done(by_key[spec.key()], data, cached)

    for c in grid.cells:
        by_key[c.spec.key()] = c
    with output_folder(out, "--out"):  # locked; a failed run removes what it created
        cells = run_cells([(c.spec, *c.objects) for c in grid.cells], out / "cells", jobs=jobs, on_done=done,
                          backend=backend, address=address)
        summary, tenants, slos = tables(grid, cells)
        from fairsched.metrics import judge, judge_summary

        summary = judge_summary(summary, cfg.upheld_by)
        tenants, slos = judge(tenants, cfg.upheld_by, slos)
        write_tables(out, summary, tenants, slos)
        snapshot = dict(cfg.model_dump(mode="json"), resolved_schedulers=grid.schedulers,
                        cells=len(grid.cells), resolved_scenarios=grid.scenarios)
        atomic_write_text(out / "sweep.yaml", yaml.safe_dump(snapshot, sort_keys=False))
    return SweepResult(summary, tenants, slos, counts["computed"], counts["cached"], out)


def tables(grid: Grid, cells: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Flatten cell results into the three tables, each row tagged with its cell's labels."""
    srows, trows, orows = [], [], []
    for c, data in zip(grid.cells, cells):
        tag = dict(cell=data["key"], scheduler=c.scheduler, load=c.load, scenario=c.scenario,
                   platform=c.platform, seed=c.seed)
        summ = {k: v for k, v in data["summary"].items() if k != "scheduler"}
        srows.append({**tag, **summ})
        trows += [{**tag, **{k: v for k, v in r.items() if k != "scheduler"}} for r in data["tenants"]]
        orows += [{**tag, **{k: v for k, v in r.items() if k != "scheduler"}} for r in data["slos"]]
    return pd.DataFrame(srows), pd.DataFrame(trows), pd.DataFrame(orows)


def write_tables(out: Path, summary: pd.DataFrame, tenants: pd.DataFrame, slos: pd.DataFrame) -> None:
    for name, df in (("summary", summary), ("tenants", tenants), ("slos", slos)):
        atomic_write_with(out / f"{name}.parquet", lambda p, df=df: df.to_parquet(p, index=False))


def read_tables(out: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Read a finished sweep's ``summary``, ``tenants`` and ``slos`` tables."""
    out = Path(out)
    missing = [n for n in ("summary", "tenants", "slos") if not (out / f"{n}.parquet").is_file()]
    if missing:
        raise InputError(f"'{out}' has no {', '.join(m + '.parquet' for m in missing)}; "
                         "give the --out folder of a finished `fairsched sweep` run")
    return tuple(pd.read_parquet(out / f"{n}.parquet") for n in ("summary", "tenants", "slos"))  # type: ignore


# --------------------------------------------------------------------------------------------- figures


def _load_tag(load: float) -> str:
    return f"load{load:g}"


def sweep_figures(out: str | Path, summary: pd.DataFrame | None = None,
                  tenants: pd.DataFrame | None = None) -> list[Path]:
    """Draw the sweep's figures into ``out/figures``; returns their paths.

    * ``load_curve.png``: fraction of tenants upheld vs load, one line per scheduler, band across
      seeds and tenant mixes (plus one panel per mix when there are several);
    * per load, ``fig2_slo_achievement_<load>.png`` and ``fig3_slo_margin_<load>.png`` over the
      tenants of every mix and seed at that load.
    """
    from fairsched.plots import fig2_slo_achievement, fig3_slo_margin, fig_load_curve

    out = Path(out)
    if summary is None or tenants is None:
        summary, tenants, _ = read_tables(out)
    if summary.empty:
        raise InputError(f"'{out}': the sweep has no cells; nothing to plot")
    figs = out / "figures"
    paths = [figs / "load_curve.png"]
    n_mix, n_seed = summary["scenario"].nunique(), summary["seed"].nunique()
    by = str(summary["upheld_by"].iloc[0]) if "upheld_by" in summary else "rate"
    judged = {"rate": "", "mk": ", judged by (m,k)", "both": ", judged by rate and (m,k)"}[by]
    fig_load_curve(summary, paths[0], f"Tenants with SLA upheld vs load ({n_mix} tenant mix(es) x {n_seed} "
                                      f"seed(s){judged}; line: mean, band: 10th-90th percentile)")
    for load, g in tenants.groupby("load", sort=True):
        what = f"load {load:g}, {n_mix} mix(es) x {n_seed} seed(s)"
        p2 = figs / f"fig2_slo_achievement_{_load_tag(load)}.png"
        p3 = figs / f"fig3_slo_margin_{_load_tag(load)}.png"
        fig2_slo_achievement(g, p2, f"Fig. 2: SLO achievement across tenants ({what})")
        fig3_slo_margin(g, p3, f"Fig. 3: per-tenant SLO margin ({what})", by=by)
        paths += [p2, p3]
    return paths
