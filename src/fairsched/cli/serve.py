"""``fairsched serve-demo``: real ONNX Runtime executors driven by the dispatcher, vs the simulator."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer

from fairsched.errors import InputError

DEFAULT_SCHEDULERS = "edf,sla-aware,drl"


def _floats(text: str, what: str) -> list[float]:
    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{what}: '{text}' is not a comma-separated list of numbers, e.g. 0.6,1.0") from None
    if not vals or any(not (0 < v <= 10) for v in vals):
        raise InputError(f"{what}: give loads > 0 and <= 10, e.g. 0.6,1.0; got '{text}'")
    return vals


def serve_demo_cmd(
    out: Path = typer.Option(Path("out/serve-demo"), "--out", help="output folder (created)"),
    loads: str = typer.Option("0.6,1.0", help="platform utilizations to serve, comma-separated (moderate, high)"),
    seconds: float = typer.Option(15.0, min=1.0, max=120.0, help="seconds of arrivals per (load, scheduler) run"),
    schedulers: str = typer.Option(DEFAULT_SCHEDULERS, help="comma-separated scheduler names"),
    executors: str = typer.Option("ort-opt:1,ort-noopt:1", help="executor kinds and counts, KIND:N,..."),
    scale: float = typer.Option(1.0, min=1.0, max=16.0, help="divide the zoo models' spatial sizes by this (ResNet-18: twice this)"),
    costs: Optional[Path] = typer.Option(None, help="a profiled cost table CSV (default: profile now)"),
    reps: int = typer.Option(15, min=1, max=200, help="timed runs per layer when profiling"),
    stat: str = typer.Option("mean", help="per-layer statistic of the profile: mean (capacity) or median"),
    seed: int = typer.Option(0, min=0, help="seed of the arrivals (same arrivals for every scheduler)"),
) -> None:
    """Serve a small multi-tenant scenario on real ONNX Runtime CPU executors, layer by layer, with each
    scheduler; run the same arrivals in the simulator with the profiled cost table; write the per-tenant
    SLA tables, Fig. 2 / Fig. 3 and the sim-to-real gap per SLO. In-process, bounded, no network."""
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from fairsched.cli.compare import parse_schedulers
    from fairsched.costs.table import load_cost_table
    from fairsched.io import atomic_write_text
    from fairsched.online import serve as sv
    from fairsched.online.executors import LayerRunner
    from fairsched.online.profile import executor_platform, parse_executors, profile
    from fairsched.plots import fig2_slo_achievement, fig3_slo_margin
    from fairsched.workload.scenario import load_scenario, resolve

    load_list = _floats(loads, "--loads")
    names = parse_schedulers(schedulers)
    execs = parse_executors(executors)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out: '{out}' exists and is not a folder; choose a folder path")
    console = Console(stderr=True)
    t_start = time.perf_counter()
    kinds = [k for k, _ in execs]
    models = dict(sv.DEMO_MODELS)
    runners = {k: LayerRunner(k, models, scale) for k in kinds}
    console.print(f"built {sum(len(v) for r in runners.values() for v in r.sessions.values())} per-layer ONNX "
                  f"sessions ({', '.join(f'{m} 1/{f * scale:g}' for m, f in models.items())} spatial scale) in {time.perf_counter() - t_start:.1f} s")
    out.mkdir(parents=True, exist_ok=True)
    if costs is None:
        table, runners = profile(kinds, models, scale, reps, runners, stat=stat)
        atomic_write_text(out / "costs_profiled.csv", table.frame.to_csv(index=False))
        console.print(f"profiled {len(table.frame)} (layer, kind) costs -> {out / 'costs_profiled.csv'}")
    else:
        table = load_cost_table(costs)
    plat = executor_platform(execs)
    cfg, base = load_scenario(sv.DEMO_SCENARIO)
    iso = {m: {k: table.get(m, k).cycles.sum() / 1e6 for k in kinds} for m in models}
    console.print("isolated latency (ms): " + "; ".join(f"{m} " + "/".join(f"{v:.1f}" for v in d.values())
                                                     for m, d in iso.items()) + f" on {'/'.join(kinds)}")
    overhead, all_summ, gaps_rows = [], [], []
    for load in load_list:
        wl = resolve(cfg, plat, table, load=load, base_dir=base)
        arr = sv.demo_arrivals(wl, seconds, seed)
        wl.requests = len(arr)
        summ, ten, slo = [], [], []
        for name in names:
            ex = sv.make_executors(plat, runners)
            disp = sv.run_real(plat, table, wl, name, arr, ex, seed=seed)
            sim = sv.run_sim(plat, table, wl, name, arr, seed=seed)
            sim_in = sv.run_sim(plat, sv.in_run_costs(disp, table), wl, name, arr, seed=seed)
            for state, mode in ((disp, "real"), (sim, "sim"), (sim_in, "sim-inrun")):
                row, t, s = sv.frames(state, name, mode)
                row["load"] = load
                summ.append(row)
                ten.append(t)
                slo.append(s)
            p50, p99 = sv.decision_quantiles(disp)
            overhead.append(dict(load=load, scheduler=name, decisions=len(disp.decision_ns),
                                 decision_us_p50=p50, decision_us_p99=p99))
            console.print(f"  load {load:g} {name:<10} real: tenants upheld {summ[-3]['tenants_upheld']:.0%}, "
                          f"hit rate {summ[-3]['hit_rate']:.3f} | sim: {summ[-2]['tenants_upheld']:.0%}, "
                          f"{summ[-2]['hit_rate']:.3f} | sim with in-run costs: {summ[-1]['tenants_upheld']:.0%}, "
                          f"{summ[-1]['hit_rate']:.3f} | decide p50 {p50:.0f} us, p99 {p99:.0f} us")
        summary = pd.DataFrame(summ)
        tenants = pd.concat(ten, ignore_index=True)
        slos = pd.concat(slo, ignore_index=True)
        gap = sv.sim_to_real(slos)
        gap.insert(0, "load", load)
        d = out / f"load_{load:g}"
        d.mkdir(parents=True, exist_ok=True)
        atomic_write_text(d / "summary.csv", summary.to_csv(index=False))
        atomic_write_text(d / "tenants.csv", tenants.to_csv(index=False))
        atomic_write_text(d / "slos.csv", slos.to_csv(index=False))
        atomic_write_text(d / "sim2real.csv", gap.to_csv(index=False))
        shown = tenants[tenants["mode"] != "sim-inrun"]
        labelled = shown.assign(scheduler=shown["scheduler"] + " " + shown["mode"])
        title = f"serve-demo @ load {load:g}, {'+'.join(f'{n}x {k}' for k, n in execs)}"
        fig2_slo_achievement(labelled, d / "fig2_slo_achievement.png", f"Fig. 2: SLO achievement, real vs sim ({title})")
        fig3_slo_margin(labelled, d / "fig3_slo_margin.png", f"Fig. 3: actual - target, real vs sim ({title})")
        all_summ.append(summary)
        gaps_rows.append(gap)
        t = Table(title=f"load {load:g}: per-SLO hit rate, real vs simulated (gap = real - sim, points)")
        for c in ("scheduler", "tenant", "model", "target", "real", "sim", "gap", "sim in-run", "gap in-run"):
            t.add_column(c, justify="left" if c in ("scheduler", "tenant", "model") else "right")
        for _, r in gap.iterrows():
            t.add_row(r["scheduler"], r["tenant"], r["model"], f"{r['target']:.2f}", f"{r['hit_rate_real']:.3f}",
                      f"{r['hit_rate_sim']:.3f}", f"{r['gap_points']:+.1f}", f"{r['hit_rate_sim_inrun']:.3f}",
                      f"{r['gap_inrun_points']:+.1f}")
        Console(width=120).print(t)
    summary = pd.concat(all_summ, ignore_index=True)
    gaps = pd.concat(gaps_rows, ignore_index=True)
    ov = sv.overhead_table(overhead)
    atomic_write_text(out / "summary.csv", summary.to_csv(index=False))
    atomic_write_text(out / "sim2real.csv", gaps.to_csv(index=False))
    atomic_write_text(out / "decision_overhead.csv", ov.to_csv(index=False))
    t = Table(title="tenants upheld and per-SLO gap, real vs simulated")
    for c in ("load", "scheduler", "upheld real", "upheld sim", "upheld sim in-run", "hit real", "hit sim",
              "mean |gap|", "max |gap|", "mean |gap| in-run", "dec. us p50", "dec. us p99"):
        t.add_column(c, justify="left" if c == "scheduler" else "right")
    agg = []
    for (load, name), g in gaps.groupby(["load", "scheduler"], sort=False):
        sr = summary[(summary["load"] == load) & (summary["scheduler"] == name)].set_index("mode")
        o = ov[(ov["load"] == load) & (ov["scheduler"] == name)].iloc[0]
        a = dict(load=load, scheduler=name, upheld_real=sr.loc["real", "tenants_upheld"],
                 upheld_sim=sr.loc["sim", "tenants_upheld"], upheld_sim_inrun=sr.loc["sim-inrun", "tenants_upheld"],
                 hit_real=sr.loc["real", "hit_rate"], mean_abs_gap_inrun=float(g["gap_inrun_points"].abs().mean()),
                 hit_sim=sr.loc["sim", "hit_rate"], mean_abs_gap=float(g["gap_points"].abs().mean()),
                 max_abs_gap=float(g["gap_points"].abs().max()), dec_p50=o["decision_us_p50"],
                 dec_p99=o["decision_us_p99"])
        agg.append(a)
        t.add_row(f"{load:g}", name, f"{a['upheld_real']:.0%}", f"{a['upheld_sim']:.0%}",
                  f"{a['upheld_sim_inrun']:.0%}", f"{a['hit_real']:.3f}", f"{a['hit_sim']:.3f}",
                  f"{a['mean_abs_gap']:.1f}", f"{a['max_abs_gap']:.1f}", f"{a['mean_abs_gap_inrun']:.1f}",
                  f"{a['dec_p50']:.0f}", f"{a['dec_p99']:.0f}")
    Console(width=120).print(t)
    atomic_write_text(out / "report.json", json.dumps(dict(
        command=dict(loads=load_list, seconds=seconds, schedulers=names, executors=execs, scale=scale, seed=seed,
                     costs=str(costs) if costs else "profiled"),
        wall_s=time.perf_counter() - t_start, results=agg), indent=2, default=float))
    console.print(f"results in {out}/ (summary.csv, sim2real.csv, decision_overhead.csv, costs_profiled.csv, "
                  f"load_*/fig2_slo_achievement.png, load_*/fig3_slo_margin.png); "
                  f"wall {time.perf_counter() - t_start:.0f} s. Real timings are noisy on a shared machine.")


def register(app: typer.Typer) -> None:
    app.command("serve-demo")(serve_demo_cmd)
