"""``fairsched train``: train a learned scheduler (MaskablePPO) and export a torch-free policy.

Thin wrapper over :func:`fairsched.rl.train.train` (needs the rl extra: torch, gymnasium, sb3-contrib).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from fairsched.errors import InputError


RESUME_WARNING = ("warning: --resume loads the checkpoint with stable-baselines3, which unpickles it: a crafted "
                  "checkpoint can run any code as you. Only resume from checkpoints you made yourself.")


def _check_resume(path: Path) -> None:
    """``--resume``: an existing zip checkpoint; say plainly that loading it unpickles it."""
    import zipfile

    if not path.is_file():
        raise InputError(f"--resume: '{path}' does not exist or is not a file; give a checkpoint .zip written by "
                         "`fairsched train`")
    if not zipfile.is_zipfile(path):
        raise InputError(f"--resume: '{path}' is not a zip file; give a checkpoint .zip written by `fairsched train`")
    typer.echo(RESUME_WARNING, err=True)


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_cmd(
        scheduler: str = typer.Option("drl", "--scheduler", help="drl (tenant-aware) or relmas (tenant-agnostic)"),
        timesteps: int = typer.Option(3_000_000, "--timesteps", help="total env decisions (PPO timesteps; 0: cloning only)"),
        out: Path = typer.Option(..., "--out", help="output folder: policy .npz/.json, checkpoints, eval logs"),
        scenario: str = typer.Option("default", "--scenario", help="base scenario (shipped name or YAML path)"),
        platform: str = typer.Option("default", "--platform", help="platform (shipped name or YAML path)"),
        costs: Optional[Path] = typer.Option(None, "--costs", help="cost table CSV (default: shipped)"),
        seed: int = typer.Option(0, "--seed", help="seed of the training run"),
        resume: Optional[Path] = typer.Option(None, "--resume", help="continue from a checkpoint .zip (unpickled: only your own files)"),
        n_envs: int = typer.Option(2, "--n-envs", help="vectorised envs (subprocesses)"),
        requests: int = typer.Option(3000, "--requests", help="requests per training episode"),
        time_limit_min: Optional[float] = typer.Option(27.0, "--time-limit-min", help="stop PPO after this wall time in minutes, cloning included (the 30-minute budget)"),
        bc_steps: int = typer.Option(100_000, "--bc-steps", help="teacher decisions for behaviour cloning (0: off)"),
        dagger_rounds: int = typer.Option(2, "--dagger-rounds", help="DAgger rounds after cloning (student rolls out, teacher labels)"),
        teacher_theta: Optional[float] = typer.Option(None, "--teacher-theta", help="drl teacher: platform share the protected tenants may need together (default 0.8)"),
        learning_rate: float = typer.Option(3e-5, "--learning-rate"),
        gamma: float = typer.Option(0.995, "--gamma", help="discount per decision"),
        gae_lambda: float = typer.Option(0.95, "--gae-lambda"),
        ent_coef: float = typer.Option(0.0, "--ent-coef", help="entropy bonus"),
        clip_range: float = typer.Option(0.1, "--clip-range"),
        target_kl: Optional[float] = typer.Option(0.02, "--target-kl", help="stop an update's epochs once the KL to the rollout policy passes this"),
        n_steps: int = typer.Option(2048, "--n-steps", help="rollout length per env"),
        batch_size: int = typer.Option(1024, "--batch-size"),
        n_epochs: int = typer.Option(4, "--n-epochs"),
        select_every: int = typer.Option(250_000, "--select-every", help="score the policy on the validation scenarios every N steps and export the best (0: off, export the last)"),
        select_requests: int = typer.Option(3000, "--select-requests", help="requests per validation run"),
        eval_freq: int = typer.Option(500_000, "--eval-freq", help="timesteps between evaluations"),
        checkpoint_freq: int = typer.Option(500_000, "--checkpoint-freq", help="timesteps between checkpoints"),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress bar"),
    ) -> None:
        """Train the tenant-aware (drl) or RELMAS-like (relmas) policy with MaskablePPO."""
        if teacher_theta is not None and not teacher_theta > 0:
            raise InputError(f"--teacher-theta: must be > 0, got {teacher_theta}")
        for flag, v, ok, want in (("--gamma", gamma, 0 < gamma <= 1, "in (0, 1]"),
                                  ("--gae-lambda", gae_lambda, 0 <= gae_lambda <= 1, "in [0, 1]"),
                                  ("--ent-coef", ent_coef, ent_coef >= 0, ">= 0"),
                                  ("--clip-range", clip_range, clip_range > 0, "> 0"),
                                  ("--target-kl", target_kl, target_kl is None or target_kl > 0, "> 0"),
                                  ("--learning-rate", learning_rate, learning_rate > 0, "> 0"),
                                  ("--n-steps", n_steps, n_steps >= 2, ">= 2"),
                                  ("--batch-size", batch_size, batch_size >= 2, ">= 2"),
                                  ("--n-epochs", n_epochs, n_epochs >= 1, ">= 1"),
                                  ("--select-every", select_every, select_every >= 0, ">= 0 (0: off)"),
                                  ("--select-requests", select_requests, select_requests >= 100, ">= 100"),
                                  ("--time-limit-min", time_limit_min, time_limit_min is None or time_limit_min > 0, "> 0")):
            if not ok or (isinstance(v, float) and not math.isfinite(v)):
                raise InputError(f"{flag}: must be {want} and finite, got {v}")
        from fairsched.io import check_folder_target
        from fairsched.validate import check_int

        check_int("--seed", seed, 0, 2**32 - 1, "numpy and stable-baselines3 take 32-bit seeds")
        check_int("--requests", requests, 1, 10**7)
        check_folder_target(out, "--out")
        if resume is not None:
            _check_resume(resume)
        try:
            from fairsched.rl.train import train
        except ModuleNotFoundError as e:  # pragma: no cover
            raise InputError(f"training needs the rl extra ({e.name} is missing); pip install 'fairsched[rl]'") from None
        stem = train(
            scheduler=scheduler, timesteps=timesteps, out=out, scenario=scenario, platform=platform,
            costs=costs, seed=seed, resume=resume, n_envs=n_envs, requests=requests,
            time_limit_min=time_limit_min, bc_steps=bc_steps, dagger_rounds=dagger_rounds, learning_rate=learning_rate, teacher_theta=teacher_theta,
            eval_freq=eval_freq, checkpoint_freq=checkpoint_freq, progress=progress, gamma=gamma,
            gae_lambda=gae_lambda, ent_coef=ent_coef, clip_range=clip_range, target_kl=target_kl, n_steps=n_steps,
            batch_size=batch_size, n_epochs=n_epochs, select_every=select_every, select_requests=select_requests,
        )
        typer.echo(f"policy written to {stem}.npz / {stem}.json")
