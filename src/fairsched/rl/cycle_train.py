"""Training of the cycle formulation (:mod:`fairsched.rl.cycle`) with sb3 PPO (imports torch).

``fairsched train --scheduler drl|relmas --out DIR`` (the default ``--formulation cycle``) calls
:func:`train_cycle`:

* ``n_envs`` :class:`~fairsched.rl.cycle_env.CycleEnv` in **one process** (``DummyVecEnv``: one batched
  forward pass per step; the simulator, not torch, is the cost of a step);
* **warm start** from the teacher: the action head's bias favours the default action (``theta =
  0.8`` / least laxity) by +3, and sb3 initialises the head's weights at gain 0.01, so the
  deterministic policy at step 0 *is* the teacher (``triage`` / ``llf-masked``) and PPO explores
  around it (``warm_bias``: a smaller bias explores more and moves the arg-max sooner; ``warm_action``: start
  from another action, e.g. the best constant one); ``warm_start=False`` is RL from scratch;
* a **load curriculum**: the first ``curriculum_frac`` of the steps draw loads from
  ``curriculum`` (near saturation, where the triage line matters), then from ``load_range``;
* **validation and selection**: every ``select_every`` steps (and at step 0, i.e. the teacher) the
  deterministic policy runs the validation scenarios (the default scenario and training-range mixes
  100, 101 at loads 0.9 and 1.2; relmas: mixes 100-103 at 0.7, 0.9 and 1.2; never the evaluation
  mixes) and the export is the best one (drl: most tenants upheld, then hit rate; relmas: hit rate,
  among the checkpoints that reach ``llf-masked`` at 0.7 and beat the best overload rival of
  :data:`OVERLOAD_RIVALS` at 1.2 when any does, :func:`pick_best`), so training cannot ship a policy
  worse than the teacher *on those scenarios*; a training scenario with (m,k) SLOs is validated on itself instead
  (simulator seed 100, loads :data:`VALIDATION_LOADS_MK`, tenants upheld by rate and (m,k));
* ``DIR/learning_curve.png`` and ``DIR/val/scores.csv``: validation tenants upheld and hit rate vs
  agent decisions (cycles) and vs simulated layer decisions; ``DIR/checkpoints`` (resume with
  ``--resume``); ``DIR/<scheduler>.npz/.json``; nothing is written outside ``DIR``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from fairsched.errors import InputError
from fairsched.rl.cycle import (CYCLE_REQUESTS, CYCLE_VERSION, DEFAULT_ACTION, FORMAT, K_DRL, K_RELMAS, MODES_V, N_OBS,
                                N_OBS_V, THETAS, TRAIN_VERSION, VERSIONS)

VALIDATION_MIX_SEEDS = (100, 101)
VALIDATION_LOADS = (0.9, 1.2)
#: relmas is selected on light load *and* overload: its acceptance asks it to beat llf-masked at
#: 0.7 and sjf at 1.2, and one mode wins each (docs/rl.md, "relmas, cycle_version 3")
VALIDATION_LOADS_RELMAS = (0.7, 0.9, 1.2)
#: relmas validates on more training-range mixes (cycle_version 4): with two, 13 checkpoints tied
#: the teacher at 0.7 and still lost to it on the unseen mixes (docs/rl.md, "cycle_version 4")
VALIDATION_MIX_SEEDS_RELMAS = (100, 101, 102, 103)
#: the fixed rules whose validation hit rate at the heaviest validation load a relmas checkpoint
#: must beat to be selected (the tenant-agnostic rivals that are strongest under overload)
OVERLOAD_RIVALS = ("sjf", "sjf-feasible", "sjf-bytes")
#: validation loads on a training scenario with (m,k) SLOs (those of the (m,k) table, docs/rl.md)
VALIDATION_LOADS_MK = (0.9, 1.2, 1.5)


def validation_scenarios(variant: str = "drl"):
    """The default scenario and training-range mixes (never the evaluation's unseen mixes):
    drl :data:`VALIDATION_MIX_SEEDS`, relmas :data:`VALIDATION_MIX_SEEDS_RELMAS`."""
    from fairsched.rl.evaluate import validation_scenarios as all_val

    seeds = VALIDATION_MIX_SEEDS_RELMAS if variant == "relmas" else VALIDATION_MIX_SEEDS
    keep = {"default", *(f"mix-{s}" for s in seeds)}
    return [(n, c) for n, c in all_val() if n in keep]


def export_cycle_policy(model, stem: str | Path, *, variant: str, cycle_requests: float, extra: dict | None = None,
                        version: int = CYCLE_VERSION) -> Path:
    """Write ``stem.npz`` + ``stem.json`` (format :data:`~fairsched.rl.cycle.FORMAT`, ``cycle_version``
    ``version``: the layout and dispatch the policy was trained with); returns the stem."""
    import numpy as np

    from fairsched.rl.export import actor_weights

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    layers, act = actor_weights(model)
    arrays = {"n_layers": np.array(len(layers))}
    for i, (W, b) in enumerate(layers):
        arrays[f"W{i}"], arrays[f"b{i}"] = W.astype(np.float32), b.astype(np.float32)
    tmp = stem.parent / (stem.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, stem.with_suffix(".npz"))
    modes = MODES_V[version]
    meta = dict(format=FORMAT, cycle_version=version, variant=variant, obs_dim=N_OBS_V[version][variant],
                n_actions=len(THETAS) if variant == "drl" else len(modes),
                actions=list(THETAS) if variant == "drl" else list(modes), activation=act,
                tenant_aware=variant == "drl", K=K_DRL if variant == "drl" else K_RELMAS,
                cycle_requests=cycle_requests, hidden=[int(W.shape[0]) for W, _ in layers[:-1]])
    meta.update(extra or {})
    from fairsched.io import atomic_write_text

    atomic_write_text(stem.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    return stem


def pick_best(rows: list[dict], variant: str, floor: float | None = None,
              floor_heavy: float | None = None) -> dict:
    """drl: most tenants upheld, then hit rate; relmas: hit rate; a tie goes to fewer steps.

    relmas with ``floor`` (the teacher's validation hit rate at the lightest validation load):
    only rows whose ``hit_rate_light`` reaches it compete, when any does -- the acceptance asks
    relmas to be no worse than its teacher at light load, where a better mean over the loads can
    hide a loss (the overload gains are 10x larger than the light-load losses). With
    ``floor_heavy`` too (the best overload rival's hit rate at the heaviest load), rows that reach
    ``floor`` *and* beat ``floor_heavy`` (``hit_rate_heavy``) compete first, when any does: the
    acceptance asks for both, and either alone can be bought with the other."""
    if not rows:
        raise ValueError("no validation scores to choose from")
    if variant == "relmas" and floor is not None:
        ok = [r for r in rows if r.get("hit_rate_light", float("-inf")) >= floor]
        both = [r for r in ok if floor_heavy is not None and r.get("hit_rate_heavy", float("-inf")) > floor_heavy]
        rows = both or ok or rows
    if variant == "drl":
        return max(rows, key=lambda r: (r["upheld"], round(r["hit_rate"], 9), -r["timesteps"]))
    return max(rows, key=lambda r: (round(r["hit_rate"], 9), r["upheld"], -r["timesteps"]))


def plot_learning_curve(rows: list[dict], path: Path, title: str) -> None:
    """Validation tenants upheld (fraction) and hit rate vs agent decisions; the step-0 policy is the teacher."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["timesteps"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.plot(x, [r["upheld_frac"] for r in rows], "o-", label="tenants upheld (fraction)")
    ax.plot(x, [r["hit_rate"] for r in rows], "s-", label="hit rate")
    if rows:
        ax.axhline(rows[0]["upheld_frac"], ls=":", c="C0", lw=1, label="step 0 (teacher) upheld")
        ax.axhline(rows[0]["hit_rate"], ls=":", c="C1", lw=1, label="step 0 (teacher) hit rate")
    ax.set_xlabel("agent decisions (scheduling cycles)")
    ax.set_ylabel("validation score")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    tmp = path.parent / (path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


_BUILT: dict = {}


def score_policy(stem, scenarios, loads, requests: int, seed: int = 0, upheld_by: str = "rate",
                 scheduler: str | None = None) -> dict:
    """Tenants upheld / hit rate of the exported policy ``stem`` (or of the registered
    ``scheduler``) on every (scenario, load), in this process (workloads are built once and cached:
    validation runs many times per training). ``upheld_by``: ``rate`` or ``both`` (rate and (m,k),
    on scenarios with (m,k) SLOs). Also ``hit_rate_light`` / ``hit_rate_heavy``: the mean hit
    rate at the lightest / heaviest of ``loads`` (relmas's selection floors, :func:`pick_best`)."""
    from fairsched.api import build
    from fairsched.metrics import slo_frame, tenant_frame
    from fairsched.rl.cycle import CycleScheduler
    from fairsched.schedulers.registry import make
    from fairsched.sim.engine import SimConfig, Simulator

    def sched():  # stem None: the relmas teacher (the default action, = llf-masked)
        if scheduler is not None:
            return make(scheduler)
        return CycleScheduler(None, variant="relmas") if stem is None else CycleScheduler(stem)

    up = ten = 0
    hr, sa = [], []
    by_load: dict[float, list] = {}
    for name, cfg in scenarios:
        for ld in loads:
            key = (name, ld, requests)
            if key not in _BUILT:
                _BUILT[key] = build(scenario=cfg, load=ld, requests=requests)
            plat, table, wl = _BUILT[key]
            log = any(s.mk for s in wl.slos)  # (m,k) metrics need the request log
            sim = Simulator(plat, table, wl, SimConfig(seed=seed, time_decisions=False, log_requests=log))
            sim.run(sched())
            slos = slo_frame(sim)
            t = tenant_frame(slos)
            col = "upheld_both" if upheld_by == "both" and "upheld_both" in t else "upheld"
            up += int(t[col].sum())
            ten += len(t)
            hr.append(float(slos["hits"].sum() / slos["requests"].sum()))
            by_load.setdefault(ld, []).append(hr[-1])
            sa.append(float(slos["achieved"].mean()) if "achieved" in slos else float("nan"))
    lo, hi = min(by_load), max(by_load)
    return dict(upheld=up, tenants=ten, upheld_frac=up / max(ten, 1), hit_rate=sum(hr) / len(hr),
                slos_achieved=sum(sa) / len(sa), hit_rate_light=sum(by_load[lo]) / len(by_load[lo]),
                hit_rate_heavy=sum(by_load[hi]) / len(by_load[hi]))


def _has_mk(scenario) -> bool:
    """Whether the (base) training scenario has an (m,k) SLO."""
    if scenario is None:
        return False
    from fairsched.workload.scenario import load_scenario

    cfg, _ = load_scenario(scenario)
    return any(getattr(s, "mk", None) for t in cfg.tenants for s in t.slos)


def train_cycle(
    *,
    scheduler: str = "drl",
    timesteps: int = 12_000,
    out: str | Path,
    scenario: str | Path | dict | None = "default",
    platform: str | Path | dict = "default",
    costs: str | Path | None = None,
    seed: int = 0,
    resume: str | Path | None = None,
    n_envs: int = 4,
    requests: int = 1500,
    cycle_requests: float = CYCLE_REQUESTS,
    load_range: tuple[float, float] = (0.6, 1.5),
    curriculum: tuple[float, float] | None = (0.85, 1.3),
    curriculum_frac: float = 0.3,
    p_base: float = 0.5,
    warm_start: bool = True,
    warm_bias: float = 3.0,
    warm_action: int | None = None,
    relmas_reward: str = "net",
    learning_rate: float = 5e-4,
    gamma: float = 0.99,
    gae_lambda: float = 0.95,
    ent_coef: float = 0.01,
    clip_range: float = 0.2,
    target_kl: float | None = None,
    n_steps: int = 24,
    batch_size: int = 48,
    n_epochs: int = 8,
    net_arch: tuple[int, ...] = (64, 64),
    select_every: int = 600,
    select_requests: int = 1500,
    checkpoint_freq: int = 600,
    time_limit_min: float | None = 14.0,
    progress: bool = True,
    verbose: int = 0,
    validation: list | None = None,
    cycle_version: int | None = None,
) -> Path:
    """Train (or resume) a cycle policy; returns the stem of the exported ``.npz``/``.json``."""
    t0 = time.monotonic()
    from fairsched.rl.train import check_train_args

    check_train_args(scheduler, N_OBS, timesteps, n_envs, resume)
    if cycle_version is None:
        cycle_version = TRAIN_VERSION[scheduler]
    if cycle_version not in VERSIONS:
        raise InputError(f"cycle_version: {cycle_version} unknown; use one of {', '.join(map(str, VERSIONS))} "
                         f"(default: drl {TRAIN_VERSION['drl']}, triage-sjf's dispatch; relmas {TRAIN_VERSION['relmas']})")
    try:
        import pandas as pd
        import torch
        from stable_baselines3 import PPO
        from stable_baselines3.common.callbacks import BaseCallback, CallbackList, CheckpointCallback
        from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor
    except ModuleNotFoundError as e:  # pragma: no cover - depends on the install
        raise InputError(f"training needs the rl extra ({e.name} is missing); pip install 'fairsched[rl]'") from None

    from fairsched.io import atomic_write_text
    from fairsched.rl.cycle_env import CycleEnv
    from fairsched.rl.train import _command, _time_limit_callback

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env_kwargs = dict(variant=scheduler, scenario=scenario, platform=platform, costs=costs, requests=requests,
                      cycle_requests=cycle_requests, load_range=tuple(load_range), p_base=p_base, version=cycle_version)
    if scheduler == "relmas":
        env_kwargs["relmas_reward"] = relmas_reward
    n_act = len(THETAS) if scheduler == "drl" else len(MODES_V[cycle_version])
    if warm_action is not None and not 0 <= warm_action < n_act:
        raise InputError(f"warm_action: must be in 0..{n_act - 1}, got {warm_action}")
    start_action = DEFAULT_ACTION[scheduler] if warm_action is None else int(warm_action)
    envs = [CycleEnv(**env_kwargs) for _ in range(n_envs)]  # fails fast (InputError) on bad input
    for e in envs:
        e.load_range = tuple(curriculum) if curriculum else tuple(load_range)
    torch.set_num_threads(1)
    venv = VecMonitor(DummyVecEnv([(lambda e=e: e) for e in envs]))
    venv.seed(seed)
    from fairsched.rl.train import _own_logger  # sb3's log under --out, no SB3-<timestamp> temp folder

    if resume is not None:
        model = PPO.load(str(resume), env=venv, device="cpu")
        _own_logger(model, Path(out), verbose)
    else:
        model = PPO("MlpPolicy", venv, n_steps=n_steps, batch_size=batch_size, n_epochs=n_epochs,
                    learning_rate=learning_rate, gamma=gamma, gae_lambda=gae_lambda, ent_coef=ent_coef,
                    clip_range=clip_range, target_kl=target_kl, seed=seed, device="cpu", verbose=verbose,
                    policy_kwargs=dict(net_arch=dict(pi=list(net_arch), vf=list(net_arch))))
        _own_logger(model, Path(out), verbose)
        if warm_start:
            with torch.no_grad():
                model.policy.action_net.bias[start_action] += warm_bias
    val_seed, val_by = 0, "rate"
    val_loads = VALIDATION_LOADS_RELMAS if scheduler == "relmas" else VALIDATION_LOADS
    floor = None  # relmas: the teacher's hit rate at the lightest validation load (pick_best)
    if validation is None and _has_mk(scenario):
        # an (m,k) scenario: select on it (another seed than the evaluation's 0 and 1), judged by
        # rate and (m,k) together, as the (m,k) tables are
        validation, val_seed, val_by, val_loads = [("train-scenario", scenario)], 100, "both", VALIDATION_LOADS_MK
    scen_val = validation if validation is not None else validation_scenarios(scheduler)
    scores_path = out / "val" / "scores.csv"
    rows: list[dict] = []
    if resume is not None and scores_path.is_file():
        rows = pd.read_csv(scores_path).to_dict("records")
    title = (f"{scheduler} (cycle formulation): validation on {len(scen_val)} scenarios x loads "
             f"{', '.join(str(x) for x in val_loads)}, {select_requests} requests"
             + ("\n(tenants upheld by rate and (m,k))" if val_by == "both" else ""))

    def validate(m) -> None:
        steps = int(m.num_timesteps)
        if rows and rows[-1]["timesteps"] == steps:
            return
        stem = export_cycle_policy(m, out / "val" / f"{scheduler}_{steps}", variant=scheduler,
                                   cycle_requests=cycle_requests, extra=dict(timesteps=steps), version=cycle_version)
        s = score_policy(stem, scen_val, val_loads, select_requests, seed=val_seed, upheld_by=val_by)
        layer_dec = int(sum(e.sim.decisions for e in envs if e.sim is not None))
        rows.append(dict(timesteps=steps, stem=stem.name, wall_s=round(time.monotonic() - t0, 1),
                         layer_decisions_now=layer_dec, **s))
        atomic_write_text(scores_path, pd.DataFrame(rows).to_csv(index=False))
        plot_learning_curve(rows, out / "learning_curve.png", title)
        if verbose:
            print(f"validation at {steps} cycles: {rows[-1]}", flush=True)

    class Hooks(BaseCallback):
        def _on_training_start(self) -> None:
            validate(self.model)

        def _on_step(self) -> bool:
            n = self.model.num_timesteps
            if curriculum and n >= curriculum_frac * timesteps:
                for e in envs:
                    e.load_range = tuple(load_range)
            if select_every > 0 and n - rows[-1]["timesteps"] >= select_every:
                validate(self.model)
            return True

    callbacks = [CheckpointCallback(max(1, checkpoint_freq // n_envs), str(out / "checkpoints"), name_prefix=scheduler),
                 Hooks()]
    if time_limit_min is not None:
        callbacks.append(_time_limit_callback(t0 + time_limit_min * 60.0))
    if timesteps > model.num_timesteps:
        model.learn(total_timesteps=timesteps - model.num_timesteps, callback=CallbackList(callbacks),
                    progress_bar=progress, reset_num_timesteps=resume is None)
    validate(model)
    model.save(str(out / f"{scheduler}_final"))
    floor_heavy = rival = None  # relmas: the best overload rival's hit rate at the heaviest load
    if scheduler == "relmas":
        floor = score_policy(None, scen_val, val_loads[:1], select_requests, seed=val_seed)["hit_rate"]
        heavy = {n: score_policy(None, scen_val, val_loads[-1:], select_requests, seed=val_seed, scheduler=n)["hit_rate"]
                 for n in OVERLOAD_RIVALS}
        rival = max(heavy, key=heavy.get)
        floor_heavy = heavy[rival]
    best = pick_best(rows, scheduler, floor, floor_heavy)
    wall = time.monotonic() - t0
    meta = dict(
        scheduler=scheduler, formulation="cycle", timesteps=int(model.num_timesteps), train_wall_s=round(wall, 1),
        seed=seed, command=_command(), warm_start=warm_start if resume is None else "resumed", warm_bias=warm_bias,
        warm_action=start_action,
        selected=dict(best, scores=[{k: v for k, v in r.items() if k != "stem"} for r in rows]),
        stage=(("teacher warm start" if start_action == DEFAULT_ACTION[scheduler] else f"warm start from action {start_action}")
               if warm_start else "from scratch") + f" + {best['timesteps']} PPO cycles"
        + (f" (selected on validation; PPO ran {int(model.num_timesteps)})" if best["timesteps"] != model.num_timesteps else ""),
        env={k: (Path(v).name if isinstance(v, (str, Path)) else v) for k, v in env_kwargs.items()
             if isinstance(v, (int, float, str, Path, bool, tuple, list, type(None)))},
        curriculum=dict(loads=list(curriculum) if curriculum else None, frac=curriculum_frac),
        validation=dict(scenarios=[n for n, _ in scen_val], loads=list(val_loads), seed=val_seed, upheld_by=val_by,
                        requests=select_requests, teacher_light_hit_rate=floor, overload_rival=rival,
                        overload_rival_hit_rate=floor_heavy,
                        selected_clears_floors=None if floor is None else bool(
                            best.get("hit_rate_light", -1) >= floor
                            and (floor_heavy is None or best.get("hit_rate_heavy", -1) > floor_heavy))),
        ppo=dict(n_steps=n_steps, batch_size=batch_size, n_epochs=n_epochs, learning_rate=learning_rate, gamma=gamma,
                 gae_lambda=gae_lambda, ent_coef=ent_coef, clip_range=clip_range, target_kl=target_kl,
                 net_arch=list(net_arch), n_envs=n_envs),
    )
    import shutil

    src = out / "val" / best["stem"]
    for suf in (".npz",):
        shutil.copyfile(src.with_suffix(suf), (out / scheduler).with_suffix(suf))
    chosen = json.loads(src.with_suffix(".json").read_text())
    chosen.update(meta)
    atomic_write_text((out / scheduler).with_suffix(".json"), json.dumps(chosen, indent=2, sort_keys=True, default=str) + "\n")
    atomic_write_text(out / "train_summary.json", json.dumps(meta, indent=2, default=str) + "\n")
    venv.close()
    return out / scheduler
