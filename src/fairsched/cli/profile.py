"""``fairsched costs profile``: measure a cost table on real executors (added to the ``costs`` group)."""

from __future__ import annotations

from pathlib import Path

import typer


def profile_cmd(
    out: Path = typer.Option(..., "--out", help="CSV to write (the project's cost-table format)"),
    executors: str = typer.Option("ort-opt,ort-noopt", help="executor kinds to profile, comma-separated"),
    models: str = typer.Option("resnet18,mobilenetv2,squeezenet", help="zoo models, comma-separated"),
    scale: float = typer.Option(1.0, min=1.0, max=16.0, help="divide the models' spatial sizes by this"),
    reps: int = typer.Option(15, min=1, max=200, help="timed runs per layer"),
    stat: str = typer.Option("mean", help="per-layer statistic kept: mean (capacity, default) or median"),
) -> None:
    """Time every layer of the models on each ONNX Runtime executor kind; write the cost table."""
    from fairsched.errors import InputError
    from fairsched.io import atomic_write_text
    from fairsched.online.profile import parse_executors, profile
    from fairsched.workload.zoo import MODEL_NAMES

    kinds = [k for k, _ in parse_executors(executors)]
    ms = [m.strip() for m in models.split(",") if m.strip()]
    bad = [m for m in ms if m not in MODEL_NAMES]
    if bad or not ms:
        raise InputError(f"--models: unknown {bad or 'empty list'}; use any of {', '.join(MODEL_NAMES)}")
    if out.is_dir():
        raise InputError(f"--out: '{out}' is a folder; give the path of a CSV file")
    table, _ = profile(kinds, ms, scale, reps, stat=stat)
    atomic_write_text(out, table.frame.to_csv(index=False))
    for m in ms:
        typer.echo(f"{m}: " + ", ".join(f"{k} {table.get(m, k).cycles.sum() / 1e6:.2f} ms" for k in kinds))
    typer.echo(f"cost table: {len(table.frame)} rows -> {out}")


def register(app: typer.Typer) -> None:
    from fairsched.cli import costs

    costs.app.command("profile")(profile_cmd)
