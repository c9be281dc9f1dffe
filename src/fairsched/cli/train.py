"""``fairsched train``: train a learned scheduler and export a torch-free policy.

``--formulation cycle`` (default): :func:`fairsched.rl.cycle_train.train_cycle`, PPO sets the
triage line (drl) or dispatch order (relmas) once per scheduling cycle. ``--formulation layer``: the
per-layer MaskablePPO recipe of :func:`fairsched.rl.train.train`. Flags whose default is ``None`` take
the chosen formulation's own default. Needs the rl extra: torch, gymnasium, sb3(-contrib).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from fairsched.cli._log import verbosity
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
        formulation: str = typer.Option("cycle", "--formulation", help="cycle (one decision per scheduling cycle, default) or layer (one per layer)"),
        timesteps: Optional[int] = typer.Option(None, "--timesteps", help="total agent decisions (cycle: 12,000 cycles; layer: 3,000,000, 0 = cloning only)"),
        cycle_requests: float = typer.Option(50.0, "--cycle-requests", help="cycle: scheduling cycle length T_s in mean inter-arrival times"),
        cycle_version: Optional[int] = typer.Option(None, "--cycle-version", help="cycle: observation layout and dispatch version (default: drl 5 = triage-sjf's dispatch, the line per cycle; relmas 4); older versions train the older formulations"),
        warm_start: bool = typer.Option(True, "--warm-start/--from-scratch", help="cycle: start from the teacher (triage / llf-masked) or from a random policy"),
        warm_bias: float = typer.Option(3.0, "--warm-bias", help="cycle: logit bias of the teacher's action at the warm start (step 0 = the teacher; smaller explores more)"),
        warm_action: Optional[int] = typer.Option(None, "--warm-action", help="cycle: warm-start from this action index instead of the teacher's (e.g. the best constant action)"),
        relmas_reward: str = typer.Option("net", "--relmas-reward", help="cycle relmas: per-cycle reward, net (hits - misses), hits, or logmiss (change of -log(1 + misses))"),
        p_base: float = typer.Option(0.5, "--p-base", help="cycle: probability that an episode runs the base scenario (else a random tenant mix)"),
        load_range: Optional[str] = typer.Option(None, "--load-range", help="training loads LO,HI, drawn uniformly per episode (cycle: after the curriculum; default 0.6,1.5)"),
        out: Path = typer.Option(..., "--out", help="output folder: policy .npz/.json, checkpoints, eval logs"),
        scenario: str = typer.Option("default", "--scenario", help="base scenario (shipped name or YAML path)"),
        platform: str = typer.Option("default", "--platform", help="platform (shipped name or YAML path)"),
        costs: Optional[Path] = typer.Option(None, "--costs", help="cost table CSV (default: shipped)"),
        seed: int = typer.Option(0, "--seed", help="seed of the training run"),
        resume: Optional[Path] = typer.Option(None, "--resume", help="continue from a checkpoint .zip (unpickled: only your own files)"),
        n_envs: Optional[int] = typer.Option(None, "--n-envs", help="vectorised envs (cycle: 4 in one process; layer: 2 subprocesses)"),
        requests: Optional[int] = typer.Option(None, "--requests", help="requests per training episode (cycle 1500, layer 3000)"),
        time_limit_min: Optional[float] = typer.Option(None, "--time-limit-min", help="stop training after this wall time in minutes (cycle 14, layer 27; cloning included)"),
        bc_steps: int = typer.Option(100_000, "--bc-steps", help="teacher decisions for behaviour cloning (0: off)"),
        dagger_rounds: int = typer.Option(2, "--dagger-rounds", help="DAgger rounds after cloning (student rolls out, teacher labels)"),
        teacher_theta: Optional[float] = typer.Option(None, "--teacher-theta", help="drl teacher: platform share the protected tenants may need together (default 0.8)"),
        learning_rate: Optional[float] = typer.Option(None, "--learning-rate", help="cycle 5e-4, layer 3e-5"),
        gamma: Optional[float] = typer.Option(None, "--gamma", help="discount per decision (cycle 0.99, layer 0.995)"),
        gae_lambda: float = typer.Option(0.95, "--gae-lambda"),
        ent_coef: Optional[float] = typer.Option(None, "--ent-coef", help="entropy bonus (cycle 0.01, layer 0)"),
        clip_range: Optional[float] = typer.Option(None, "--clip-range", help="cycle 0.2, layer 0.1"),
        target_kl: Optional[float] = typer.Option(None, "--target-kl", help="stop an update's epochs once the KL to the rollout policy passes this (cycle: off, layer 0.02)"),
        n_steps: Optional[int] = typer.Option(None, "--n-steps", help="rollout length per env (cycle 24, layer 2048)"),
        batch_size: Optional[int] = typer.Option(None, "--batch-size", help="cycle 48, layer 1024"),
        n_epochs: Optional[int] = typer.Option(None, "--n-epochs", help="cycle 8, layer 4"),
        select_every: Optional[int] = typer.Option(None, "--select-every", help="score the policy on the validation scenarios every N decisions and export the best (cycle 600, layer 250,000; layer: 0 = off)"),
        select_requests: Optional[int] = typer.Option(None, "--select-requests", help="requests per validation run (cycle 1500, layer 3000)"),
        eval_freq: int = typer.Option(500_000, "--eval-freq", help="layer: timesteps between sb3 evaluations"),
        checkpoint_freq: Optional[int] = typer.Option(None, "--checkpoint-freq", help="decisions between checkpoints (cycle 600, layer 500,000)"),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress bar"),
    ) -> None:
        """Train the tenant-aware (drl) or RELMAS-like (relmas) policy (cycle formulation by default)."""
        if formulation not in ("cycle", "layer"):
            raise InputError(f"--formulation: unknown '{formulation}'; use cycle or layer")
        if teacher_theta is not None and not teacher_theta > 0:
            raise InputError(f"--teacher-theta: must be > 0, got {teacher_theta}")
        if not cycle_requests > 0:
            raise InputError(f"--cycle-requests: must be > 0, got {cycle_requests}")
        for flag, v, ok, want in (("--gamma", gamma, gamma is None or 0 < gamma <= 1, "in (0, 1]"),
                                  ("--gae-lambda", gae_lambda, 0 <= gae_lambda <= 1, "in [0, 1]"),
                                  ("--ent-coef", ent_coef, ent_coef is None or ent_coef >= 0, ">= 0"),
                                  ("--clip-range", clip_range, clip_range is None or clip_range > 0, "> 0"),
                                  ("--target-kl", target_kl, target_kl is None or target_kl > 0, "> 0"),
                                  ("--learning-rate", learning_rate, learning_rate is None or learning_rate > 0, "> 0"),
                                  ("--n-steps", n_steps, n_steps is None or n_steps >= 2, ">= 2"),
                                  ("--batch-size", batch_size, batch_size is None or batch_size >= 2, ">= 2"),
                                  ("--n-epochs", n_epochs, n_epochs is None or n_epochs >= 1, ">= 1"),
                                  ("--select-every", select_every, select_every is None or select_every >= 0, ">= 0 (0: off)"),
                                  ("--select-requests", select_requests, select_requests is None or select_requests >= 100, ">= 100"),
                                  ("--timesteps", timesteps, timesteps is None or timesteps >= 0, ">= 0"),
                                  ("--time-limit-min", time_limit_min, time_limit_min is None or time_limit_min > 0, "> 0"),
                                  ("--p-base", p_base, 0 <= p_base <= 1, "in [0, 1]")):
            if not ok or (isinstance(v, float) and not math.isfinite(v)):
                raise InputError(f"{flag}: must be {want} and finite, got {v}")
        loads = _load_range(load_range) if load_range is not None else None
        from fairsched.io import check_folder_target
        from fairsched.validate import check_int

        check_int("--seed", seed, 0, 2**32 - 1, "numpy and stable-baselines3 take 32-bit seeds")
        check_int("--requests", requests, 1, 10**7)
        check_folder_target(out, "--out")
        if resume is not None:
            _check_resume(resume)
        given = dict(timesteps=timesteps, n_envs=n_envs, requests=requests, time_limit_min=time_limit_min,
                     learning_rate=learning_rate, gamma=gamma, ent_coef=ent_coef, clip_range=clip_range,
                     target_kl=target_kl, n_steps=n_steps, batch_size=batch_size, n_epochs=n_epochs,
                     select_every=select_every, select_requests=select_requests, checkpoint_freq=checkpoint_freq)
        given = {k: v for k, v in given.items() if v is not None}
        common = dict(scheduler=scheduler, out=out, scenario=scenario, platform=platform, costs=costs, seed=seed,
                      resume=resume, progress=progress and verbosity() >= 0, gae_lambda=gae_lambda, **given)
        if loads is not None:
            common["load_range"] = loads
        try:
            if formulation == "cycle":
                from fairsched.rl.cycle_train import train_cycle as run
                common.update(cycle_requests=cycle_requests, warm_start=warm_start, warm_bias=warm_bias,
                              warm_action=warm_action, relmas_reward=relmas_reward, p_base=p_base)
                if cycle_version is not None:
                    common["cycle_version"] = cycle_version
            else:
                from fairsched.rl.train import train as run
                common.update(bc_steps=bc_steps, dagger_rounds=dagger_rounds, teacher_theta=teacher_theta,
                              eval_freq=eval_freq)
        except ModuleNotFoundError as e:  # pragma: no cover
            raise InputError(f"training needs the rl extra ({e.name} is missing); pip install 'fairsched[rl]'") from None
        stem = run(**common)
        typer.echo(f"policy written to {stem}.npz / {stem}.json")


def _load_range(text: str) -> tuple[float, float]:
    """``--load-range LO,HI`` -> (LO, HI), 0 < LO <= HI."""
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        raise InputError(f"--load-range: give two loads LO,HI, e.g. 0.6,1.5; got '{text}'") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi):
        raise InputError(f"--load-range: need finite loads 0 < LO <= HI, e.g. 0.6,1.5; got '{text}'")
    return lo, hi
