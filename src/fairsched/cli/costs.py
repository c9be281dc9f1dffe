"""``fairsched costs``: build the cost table with zigzag-dse, show it, import a user's table."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

from fairsched.errors import InputError

app = typer.Typer(
    help="Per-layer cost tables: build with zigzag-dse, show per (model, type), import your own CSV.",
    no_args_is_help=True,
)


def _split(values: Optional[list[str]]) -> list[str] | None:
    if not values:
        return None
    out = [v.strip() for item in values for v in item.split(",") if v.strip()]
    return out or None


def resolve_models(specs: list[str] | None) -> tuple[list[str] | None, dict | None, list[str]]:
    """``--models`` entries: zoo names and/or model files. Returns (names, zoo or None, report lines)."""
    from fairsched.costs.user_models import is_model_file, load_model_file
    from fairsched.workload.zoo import get_model

    if not specs or not any(is_model_file(s) for s in specs):
        return specs, None, []
    zoo: dict = {}
    report: list[str] = []
    for spec in specs:
        if is_model_file(spec):
            m = load_model_file(spec)
            name, layers = m.name, m.layers
            report += m.report()
        else:
            name, layers = spec, get_model(spec)
        if name in zoo:
            raise InputError(f"--models: two models are named '{name}'; rename one of the files")
        zoo[name] = layers
    return list(zoo), zoo, report


@app.command()
def build(
    out: Path = typer.Option(..., "--out", help="CSV to write (meta JSON and resume cache go beside it); required: the shipped table is never overwritten"),
    models: Optional[list[str]] = typer.Option(None, "--models", help="zoo models and/or model files (.onnx, layer-list .yaml/.csv), comma-separated or repeated; default: the whole zoo"),
    types: Optional[list[str]] = typer.Option(None, "--types", help="shipped type names and/or type YAML paths from any folder (comma-separated or repeated); default: eyeriss_like, simba_like, tpu_like"),
    jobs: int = typer.Option(os.cpu_count() or 1, "--jobs", "-j", min=1, help="parallel zigzag-dse workers"),
    lpf_limit: int = typer.Option(6, "--lpf-limit", min=1, help="zigzag LOMA loop-prime-factor limit (search size)"),
    opt: str = typer.Option("EDP", "--opt", help="zigzag mapping criterion: EDP, energy or latency"),
) -> None:
    """Run zigzag-dse for every unique (layer shape, type) and write the cost table. Resumes after interruption."""
    from fairsched.costs.build import build_cost_table

    try:
        import zigzag  # noqa: F401
    except ImportError:
        raise InputError("costs build: zigzag-dse is not installed; install the extra: pip install 'fairsched[costmodel]'") from None
    if opt not in ("EDP", "energy", "latency"):
        raise InputError(f"--opt: '{opt}' is not one of EDP, energy, latency")
    names, zoo, report = resolve_models(_split(models))
    for line in report:
        typer.echo(f"note: {line}", err=True)
    meta = _run_build(lambda cb: build_cost_table(names, _split(types), jobs=jobs, out=out, opt=opt,
                                                  lpf_limit=lpf_limit, on_progress=cb, zoo=zoo))
    b = meta["build"]
    typer.echo(f"cost table: {len(meta['models'])} models x {len(meta['types'])} types, {b['unique_jobs']} unique "
               f"(shape, type) jobs, {b['jobs_run_this_time']} run now in {b['wall_seconds_this_run']:.0f} s "
               f"with {b['workers']} workers; written: {out}")
    for w in meta.get("physics_warnings", []):
        typer.echo(f"warning: {w}", err=True)


def _run_build(run):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), transient=False) as progress:
        task = progress.add_task("zigzag-dse", total=None)

        def on_progress(done: int, total: int, what: str) -> None:
            progress.update(task, completed=done, total=total, description=f"zigzag-dse {what[:40]:<40}")

        return run(on_progress)


@app.command()
def validate(
    table: Optional[Path] = typer.Option(None, "--table", help="validation rows to read (default: the shipped ones, built with the shipped eyeriss_v1)"),
    rebuild: Optional[Path] = typer.Option(None, "--rebuild", help="build the chip's layers with zigzag-dse into this CSV first (resumes; about 10-30 min on 2 cores)"),
    platform: str = typer.Option("eyeriss_v1_chip", "--platform", help="platform giving the chip's clock and off-chip link bandwidth"),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="parallel zigzag-dse workers (with --rebuild)"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON list, one object per layer"),
) -> None:
    """Predicted vs measured latency of the Eyeriss v1 chip (AlexNet: calibration; VGG-16: held out)."""
    from dataclasses import asdict

    from fairsched.costs import silicon
    from fairsched.costs.table import load_cost_table
    from fairsched.platform.config import load_platform

    if table is not None and rebuild is not None:
        raise InputError("--table and --rebuild: give one of them (--rebuild writes the table it then reads)")
    if rebuild is not None:
        from fairsched.costs.build import build_cost_table

        _run_build(lambda cb: build_cost_table(types=["eyeriss_v1"], jobs=jobs, out=rebuild, on_progress=cb,
                                               zoo=silicon.validation_zoo()))
        table = rebuild
    plat = load_platform(platform)
    subs = [s for s in plat.subs if s.type == "eyeriss_v1"]
    if not subs:
        raise InputError(f"--platform: '{platform}' has no eyeriss_v1 sub-accelerator; use eyeriss_v1_chip")
    t = load_cost_table(table if table is not None else silicon.VALIDATION_TABLE)
    rows = silicon.compare(t, subs[0].clock_hz, plat.bandwidth)
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in rows], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    def pct(pred, meas):
        return "" if meas is None else f"{100 * (pred / meas - 1):+.1f}%"

    def ms(v):
        return "" if v is None else f"{v:,.1f}"

    tab = Table(title=f"eyeriss_v1 vs the chip ({silicon.SOURCE_EYERISS}); {subs[0].clock_hz / 1e6:g} MHz, "
                      f"link {plat.bandwidth / 1e6:g} MB/s; ms per batch")
    for col in ("model", "layer", "proc chip", "proc pred", "err", "DRAM MB chip", "pred", "fmap MB", "total chip",
                "total pred", "err", "overlap", "err", "GLB GB/s chip"):
        tab.add_column(col, justify="left" if col in ("model", "layer") else "right", no_wrap=True)
    for r in rows:
        tag = r.model.replace("_conv_b", " b") + (" cal" if r.role == "calibration" else " held-out")
        glb = "" if r.measured_glb_mb is None else f"{r.measured_glb_mb / r.measured_processing_ms:.2f}"
        tab.add_row(tag, r.layer, ms(r.measured_processing_ms), ms(r.processing_ms),
                    pct(r.processing_ms, r.measured_processing_ms), ms(r.measured_dram_mb), f"{r.dram_mb:.1f}",
                    f"{r.fmap_mb:.1f}", ms(r.measured_total_ms), ms(r.serial_ms), pct(r.serial_ms, r.measured_total_ms),
                    ms(r.overlapped_ms), pct(r.overlapped_ms, r.measured_total_ms), glb)
    Console(width=max(Console().width, 180)).print(tab)
    typer.echo("total pred = processing + fmap MB / link bandwidth (the chip stops processing while it loads ifmaps "
               "and dumps ofmaps; filters are preloaded); overlap = max(processing, DRAM pred / B), the simulator's "
               "rule; fmap MB = compulsory feature-map traffic, 16 b; GLB GB/s chip = published GLB accesses / "
               "processing latency")
    fit = silicon.implied_link_bandwidth(t, subs[0].clock_hz)
    if fit is not None:
        typer.echo(f"link bandwidth that would close AlexNet's measured total with these rows: {fit / 1e6:.0f} MB/s "
                   f"(used: platform '{plat.name}', {plat.bandwidth / 1e6:g} MB/s, the chip's 64-bit bus at 60 MHz)")
    for what, ok, fig in silicon.verdicts(rows):
        typer.echo(f"{'PASS' if ok else 'FAIL'} {what}: {fig}")


def summarize(table, platform) -> list[dict]:
    """Per (model, type): layers, MACs, isolated latency (unlimited and platform bandwidth), energy, traffic."""
    import numpy as np

    from fairsched.platform.config import load_accelerator_type

    clocks: dict[str, float] = {}
    for s in platform.subs:
        clocks.setdefault(s.type, s.clock_hz)
    rows = []
    for t in table.accel_types:
        if t not in clocks:
            clocks[t] = load_accelerator_type(t).clock_mhz * 1e6
        for m in table.models:
            c = table.get(m, t)
            compute = c.cycles / clocks[t]
            memory = c.dram_bytes / platform.bandwidth
            rows.append({
                "model": m,
                "accel_type": t,
                "layers": int(len(c.cycles)),
                "macs": int(c.macs.sum()),
                "latency_ms": float(np.maximum(compute, memory).sum() * 1e3),
                "latency_unlimited_ms": float(compute.sum() * 1e3),
                "energy_mj": float(c.energy_pj.sum() * 1e-9),
                "dram_mb": float(c.dram_bytes.sum() / 1e6),
                "bandwidth_bound_layers": int((memory > compute).sum()),
                "clock_mhz": clocks[t] / 1e6,
            })
    return rows


@app.command()
def show(
    as_json: bool = typer.Option(False, "--json", help="print a JSON list, one object per (model, type)"),
    platform: str = typer.Option("default", "--platform", help="platform name or YAML path (gives the bandwidth and clocks)"),
    table: Optional[Path] = typer.Option(None, "--table", help="cost table CSV; default: the shipped table"),
) -> None:
    """Per (model, type): layers, MACs, isolated latency (unlimited / platform bandwidth), energy."""
    from fairsched.costs.table import load_cost_table
    from fairsched.platform.config import load_platform

    plat = load_platform(platform)
    rows = summarize(load_cost_table(table), plat)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"isolated cost per inference ({plat.describe()})")
    for col in ("model", "type", "layers", "GMACs", "ms B=inf", "ms at B", "BW-bound", "mJ", "DRAM MB"):
        t.add_column(col, justify="left" if col in ("model", "type") else "right", no_wrap=True)
    for r in rows:
        t.add_row(r["model"], r["accel_type"], str(r["layers"]), f"{r['macs'] / 1e9:.2f}",
                  f"{r['latency_unlimited_ms']:.2f}", f"{r['latency_ms']:.2f}", str(r["bandwidth_bound_layers"]),
                  f"{r['energy_mj']:.2f}", f"{r['dram_mb']:.1f}")
    Console(width=max(Console().width, 110)).print(t)  # never truncate model/type names


def check_user_table(table, allow_new_models: bool = False) -> list[str]:
    """Check a user's table against the known types and the zoo; return warnings, raise InputError on errors."""
    from fairsched.platform.config import available_accelerator_types
    from fairsched.workload.zoo import ALL_MODEL_NAMES as MODEL_NAMES, get_model

    known_types = available_accelerator_types()
    for t in table.accel_types:
        if t not in known_types:
            raise InputError(
                f"accel_type: unknown accelerator type '{t}'; use one of {known_types} "
                "(or add a type YAML for it, see docs/costs.md)"
            )
    warnings = []
    for m in table.models:
        if m not in MODEL_NAMES:
            if allow_new_models:
                warnings.append(f"model '{m}' is not in the zoo; its layer shapes are taken on trust")
                continue
            raise InputError(
                f"model: unknown model '{m}'; use one of {list(MODEL_NAMES)} (or pass --allow-new-models)"
            )
        zoo = get_model(m)
        n = table.n_layers(m)
        if n != len(zoo):
            raise InputError(f"model '{m}': the table has {n} layers, the zoo has {len(zoo)}; "
                             "give one row per MAC layer, in the zoo's order (see `fairsched costs show`)")
        macs = table.get(m, table.accel_types[0]).macs
        zoo_macs = [x.macs for x in zoo]
        bad = [i for i, (a, b) in enumerate(zip(macs, zoo_macs)) if abs(a - b) > 0.01 * b]
        if bad:
            warnings.append(f"model '{m}': MACs of layer(s) {bad[:5]} differ from the zoo by > 1%")
    from fairsched.costs.physics import check_physics, type_limits

    layers = {m: get_model(m) for m in table.models if m in MODEL_NAMES}
    for v in check_physics(table.frame, layers, {t: type_limits(t) for t in table.accel_types}):
        if v.explanation is None:
            warnings.append(f"physics: {v.message()}")
    return warnings


@app.command("import")
def import_(
    csv: Path = typer.Argument(..., help="your cost table CSV (columns: model, layer_index, layer_name, kind, accel_type, macs, cycles, dram_bytes, energy_pj)"),
    out: Optional[Path] = typer.Option(None, "--out", help="write the validated table here (with a meta JSON beside it)"),
    allow_new_models: bool = typer.Option(False, "--allow-new-models", help="accept models that are not in the zoo"),
) -> None:
    """Validate a cost table made with another tool (MAESTRO, Timeloop, measurements) and optionally store it."""
    from datetime import datetime, timezone

    from fairsched.costs.build import FORMAT_VERSION
    from fairsched.costs.table import load_cost_table
    from fairsched.io import atomic_write_text

    if out is not None:
        from fairsched.io import check_write_target

        check_write_target(out, "--out")
        check_write_target(out.with_name(out.stem + ".meta.json"), "--out (meta JSON)")
    table = load_cost_table(csv)
    for w in check_user_table(table, allow_new_models):
        typer.echo(f"warning: {w}", err=True)
    typer.echo(f"{csv}: valid cost table, {len(table.frame)} rows, models {table.models}, types {table.accel_types}")
    if out is not None:
        atomic_write_text(out, table.frame.to_csv(index=False))
        meta = {
            "format_version": FORMAT_VERSION,
            "generator": "fairsched costs import",
            "cost_model": "user-provided",
            "imported_from": Path(csv).name,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "types": table.accel_types,
            "models": {m: {"layers": table.n_layers(m)} for m in table.models},
        }
        atomic_write_text(out.with_name(out.stem + ".meta.json"), json.dumps(meta, indent=2) + "\n")
        typer.echo(f"written: {out}")
