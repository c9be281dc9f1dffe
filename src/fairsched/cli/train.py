"""``fairsched train``: train a learned scheduler (MaskablePPO) and export a torch-free policy.

Thin wrapper over :func:`fairsched.rl.train.train` (needs the rl extra: torch, gymnasium, sb3-contrib).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from fairsched.errors import InputError


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_cmd(
        scheduler: str = typer.Option("drl", "--scheduler", help="drl (tenant-aware) or relmas (tenant-agnostic)"),
        timesteps: int = typer.Option(500_000, "--timesteps", help="total env decisions (PPO timesteps; 0: cloning only)"),
        out: Path = typer.Option(..., "--out", help="output folder: policy .npz/.json, checkpoints, eval logs"),
        scenario: str = typer.Option("default", "--scenario", help="base scenario (shipped name or YAML path)"),
        platform: str = typer.Option("default", "--platform", help="platform (shipped name or YAML path)"),
        costs: Optional[Path] = typer.Option(None, "--costs", help="cost table CSV (default: shipped)"),
        seed: int = typer.Option(0, "--seed", help="seed of the training run"),
        resume: Optional[Path] = typer.Option(None, "--resume", help="continue from a checkpoint .zip"),
        n_envs: int = typer.Option(2, "--n-envs", help="vectorised envs (subprocesses)"),
        requests: int = typer.Option(1000, "--requests", help="requests per training episode"),
        time_limit_min: Optional[float] = typer.Option(None, "--time-limit-min", help="stop after this wall time"),
        bc_steps: int = typer.Option(60_000, "--bc-steps", help="teacher decisions for behaviour cloning (0: off)"),
        dagger_rounds: int = typer.Option(0, "--dagger-rounds", help="DAgger rounds after cloning (student rolls out, teacher labels)"),
        teacher_theta: Optional[float] = typer.Option(None, "--teacher-theta", help="drl teacher: platform share the protected tenants may need together (default 0.8)"),
        learning_rate: float = typer.Option(1e-4, "--learning-rate"),
        eval_freq: int = typer.Option(200_000, "--eval-freq", help="timesteps between evaluations"),
        checkpoint_freq: int = typer.Option(200_000, "--checkpoint-freq", help="timesteps between checkpoints"),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress bar"),
    ) -> None:
        """Train the tenant-aware (drl) or RELMAS-like (relmas) policy with MaskablePPO."""
        if teacher_theta is not None and not teacher_theta > 0:
            raise InputError(f"--teacher-theta: must be > 0, got {teacher_theta}")
        try:
            from fairsched.rl.train import train
        except ModuleNotFoundError as e:  # pragma: no cover
            raise InputError(f"training needs the rl extra ({e.name} is missing); pip install 'fairsched[rl]'") from None
        stem = train(
            scheduler=scheduler, timesteps=timesteps, out=out, scenario=scenario, platform=platform,
            costs=costs, seed=seed, resume=resume, n_envs=n_envs, requests=requests,
            time_limit_min=time_limit_min, bc_steps=bc_steps, dagger_rounds=dagger_rounds, learning_rate=learning_rate, teacher_theta=teacher_theta,
            eval_freq=eval_freq, checkpoint_freq=checkpoint_freq, progress=progress,
        )
        typer.echo(f"policy written to {stem}.npz / {stem}.json")
