"""The RL evaluation protocol as a resumable sweep (``fairsched rl-eval``).

Why a sweep: the protocol (default scenario + 10 unseen tenant mixes, 3 seeds, loads 0.7 / 0.9 /
1.2, every registered scheduler; 1,089 runs) used to run on its own process pool, so an interrupted
run started again from zero. Here it is a :class:`~fairsched.experiments.sweep.SweepConfig` run by
:func:`~fairsched.experiments.sweep.run_sweep`: every cell is content-hashed and written atomically to
``OUT/cells`` when it finishes, a rerun computes only the missing cells, and it runs on local
processes or Ray like ``fairsched sweep``.

The mixes are ``unseen:k`` (seed ``UNSEEN_SEED_BASE + k``) drawn over the default scenario's models,
exactly the mixes of :func:`fairsched.rl.evaluate.acceptance_scenarios`, and they keep its labels
(``mix-<seed>``), so the long table (:func:`long_table`) has the columns and values of the CSVs
under ``results/`` and prints with :func:`fairsched.rl.evaluate.wide` / ``verdict``.

Scheduler names: registered names, ``NAME:PATH`` (e.g. ``drl:runs/x/drl``), ``policy:PATH`` (any
exported policy, per-layer or cycle; the column is named after the file), and two keywords:
``all`` (every heuristic, the teachers ``triage`` and ``llf-masked``, and the shipped ``relmas`` /
``drl``), ``constants`` (the cycle dispatchers with one fixed action, :mod:`fairsched.rl.constant`)
and ``prototypes`` (the constant rules of richer action spaces, same module).
The old column name ``teacher`` is read as ``triage``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from fairsched.errors import InputError
from fairsched.rl.evaluate import LOADS, _base
from fairsched.schedulers.registry import import_plugin

#: the protocol's defaults (issue 13): 4,000 requests per run, 10 unseen mixes, 3 seeds
REQUESTS, MIXES, SEEDS = 4000, 10, 3
#: columns of the long table (one row per scenario, load, scheduler, seed), as in results/*.csv
LONG_COLUMNS = ["scenario", "load", "scheduler", "seed", "tenants", "upheld", "slos_achieved", "hit_rate",
                "decision_us_p50", "decision_us_p99"]
_PLUGIN = "fairsched.rl.constant_plugin"  # registers the constant schedulers, in workers too


def _policy_name(name: str) -> str:
    """``policy:PATH`` -> ``drl:PATH`` (or ``relmas:PATH``): both run whatever policy is at PATH (a cycle
    policy or a per-layer one, with the file's own features), so the base name does not matter."""
    from fairsched.schedulers.registry import available

    if not name.startswith("policy:"):
        return name
    base = next((n for n in ("drl", "relmas") if n in available()), None)
    if base is None:
        raise InputError(f"--schedulers: '{name}': policy files need the learned schedulers (drl or relmas) "
                         "installed; reinstall fairsched with its shipped policies")
    return f"{base}:{name[len('policy:'):]}"


def scheduler_names(spec: Sequence[str] | None) -> list[str]:
    """Resolve ``--schedulers``: keywords ``all`` / ``constants``, ``teacher`` -> ``triage``; checked."""
    from fairsched.api import default_schedulers
    from fairsched.rl.constant import constant_names, prototype_names
    from fairsched.schedulers.registry import unknown

    names: list[str] = []
    for s in spec or ["all"]:
        s = s.strip()
        add = (default_schedulers() if s == "all" else constant_names() if s == "constants"
               else prototype_names() if s == "prototypes" else ["triage"] if s == "teacher" else [s])
        names += [n for n in add if n not in names]
    if set(names) & set(constant_names() + prototype_names()):
        import_plugin(_PLUGIN)  # only when asked for: they are not schedulers of every table
    names = [_policy_name(n) for n in names]
    if not names:
        raise InputError("--schedulers: empty list; give scheduler names, `all` or `constants`")
    bad, known = unknown(names)
    if bad:
        raise InputError(f"--schedulers: unknown scheduler(s) {', '.join(bad)}; use any of {', '.join(known)}, "
                         "`all`, `constants`, `prototypes`, NAME:POLICY_PATH or policy:POLICY_PATH")
    seen: dict[str, str] = {}
    for n in names:  # the tables name a policy's column after its file: two entries must not share one
        lab = scheduler_label(n)
        if lab in seen:
            raise InputError(f"--schedulers: '{seen[lab]}' and '{n}' would share the column '{lab}' of every table; "
                             "give the policy file another name (copy its .npz and .json, e.g. to drl_v5)")
        seen[lab] = n
    return names


def protocol_config(*, requests: int = REQUESTS, mixes: int = MIXES, first_mix: int = 0, base: bool = True,
                    loads: Sequence[float] = tuple(LOADS.values()), schedulers: Sequence[str] | None = None,
                    seed: int = 0, seeds: int = SEEDS, platform: str = "default", costs: str | None = None):
    """The protocol as a :class:`~fairsched.experiments.sweep.SweepConfig` (validated: bad values raise
    :class:`InputError` naming the flag)."""
    from pydantic import ValidationError

    from fairsched.experiments.sweep import SweepConfig
    from fairsched.validate import MAX_REQUESTS

    for flag, v, lo in (("--requests", requests, 1), ("--mixes", mixes, 0), ("--first-mix", first_mix, 0),
                        ("--seed", seed, 0), ("--seeds", seeds, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise InputError(f"{flag}: give an integer >= {lo}, got {v!r}")
    if requests > MAX_REQUESTS:
        raise InputError(f"--requests: at most {MAX_REQUESTS:,}, got {requests:,}")
    if len(loads) != 3:
        raise InputError("--loads: give three loads: moderate,high,overload (e.g. 0.7,0.9,1.2)")
    scen = (["default"] if base else []) + [f"unseen:{k}" for k in range(first_mix, first_mix + mixes)]
    if not scen:
        raise InputError("--mixes: no scenario left (--no-default with --mixes 0); give --mixes 1 or more")
    raw = dict(name="rl-eval", description="the RL evaluation protocol (issue 13)",
               schedulers=scheduler_names(schedulers), loads=[float(x) for x in loads], scenarios=scen,
               platforms=[platform], seeds=list(range(seed, seed + seeds)), requests=requests,
               costs=costs, random=dict(models=_base()[1]))
    try:
        return SweepConfig.model_validate(raw)
    except ValidationError as e:
        from fairsched.experiments.sweep import _sweep_message

        raise InputError(_sweep_message("rl-eval", e)) from None


def protocol_grid(**protocol):
    """The protocol's cells (:func:`fairsched.experiments.sweep.expand` of :func:`protocol_config`)."""
    from fairsched.experiments.sweep import expand

    return expand(protocol_config(**protocol), Path.cwd())


def scenario_label(entry: str) -> str:
    """``unseen:k`` -> ``mix-<UNSEEN_SEED_BASE + k>`` (the labels of results/*.csv); others unchanged."""
    from fairsched.workload.generator import UNSEEN_SEED_BASE

    kind, _, k = entry.partition(":")
    return f"mix-{UNSEEN_SEED_BASE + int(k)}" if kind == "unseen" else entry


def scheduler_label(name: str) -> str:
    """``drl:runs/x/drl_5000`` (or ``policy:...``) -> ``drl_5000``: a policy's column is named after its file."""
    from fairsched.schedulers.registry import split

    base, path = split(name)
    return Path(path).name if path is not None else name


def long_table(summary: pd.DataFrame, tenants: pd.DataFrame) -> pd.DataFrame:
    """The sweep's ``summary`` and ``tenants`` tables as the protocol's long table (:data:`LONG_COLUMNS`):
    ``tenants`` and ``upheld`` are counts (the summary holds the fraction)."""
    per = tenants.groupby("cell", sort=False)["upheld"].agg(["size", "sum"])
    s = summary.assign(scenario=summary["scenario"].map(scenario_label),
                       scheduler=summary["scheduler"].map(scheduler_label),
                       tenants=summary["cell"].map(per["size"]).astype(int),
                       upheld=summary["cell"].map(per["sum"]).astype(int))
    return s[LONG_COLUMNS].reset_index(drop=True)


def run_protocol(out: str | Path, *, backend: str = "local", address: str | None = None, jobs: int | None = 1,
                 on_start: Callable | None = None, on_done: Callable | None = None, grid=None, **protocol):
    """Run (or resume) the protocol into ``out``; returns ``(long table, SweepResult)``.

    ``protocol``: the keywords of :func:`protocol_config` (or ``grid``: the protocol already expanded by
    :func:`protocol_grid`). Writes ``out/cells`` (one JSON per cell),
    the sweep's Parquet tables and ``out/rl_eval.csv`` (the long table), all atomically."""
    from fairsched.experiments.sweep import run_sweep
    from fairsched.io import atomic_write_text

    grid = grid if grid is not None else protocol_grid(**protocol)
    res = run_sweep(grid, out, backend=backend, address=address, jobs=jobs, on_start=on_start, on_done=on_done)
    df = long_table(res.summary, res.tenants)
    atomic_write_text(Path(out) / "rl_eval.csv", df.to_csv(index=False))
    return df, res


def table_text(df: pd.DataFrame) -> str:
    """The acceptance table and the verdict lines (what ``python -m fairsched.rl.evaluate`` prints)."""
    from fairsched.rl.evaluate import verdict, wide

    w = wide(df)
    with pd.option_context("display.width", 250, "display.max_columns", 60):
        lines = [w.to_string()]
    if "drl_wins" in w:
        lines.append(f"\ndrl wins {int(w['drl_wins'].sum())} of {len(w)} cells")
        v = verdict(w)
        lines.append(f"default scenario: {'met' if v['default'] else 'not met'}; unseen mixes met at every load: "
                     f"{v['mixes_met']} of {v['mixes']} ({', '.join(v['mixes_failed']) or 'none failed'} not met)")
    return "\n".join(lines)
