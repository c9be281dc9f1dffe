"""Training of the learned schedulers with sb3-contrib MaskablePPO (imports torch).

``fairsched train --scheduler drl|relmas --timesteps N --out DIR`` calls :func:`train`. Two
vectorised envs (subprocesses, one per core), a progress bar, periodic evaluation on the base
scenario at a fixed load (``DIR/eval``), checkpoints (``DIR/checkpoints``), resume from a checkpoint
(``--resume``), an optional wall-clock limit, and at the end the exported torch-free policy
``DIR/<scheduler>.npz`` + ``.json`` plus the sb3 model ``DIR/<scheduler>_final.zip``.

``drl``: tenant-aware features and candidates, need-weighted reward. ``relmas``: same env and
algorithm, tenant features off, least-laxity candidates, reward = hits.
"""

from __future__ import annotations

import json
import logging
import shlex
import sys
import time
from pathlib import Path

from fairsched.errors import InputError
from fairsched.rl.features import DEFAULT_K
from fairsched.rl.teacher import THETA

log = logging.getLogger(__name__)

VARIANTS = {
    "drl": dict(tenant_aware=True, reward="tenant"),
    "relmas": dict(tenant_aware=False, reward="hits"),
}


def _stage(cloned: bool, dagger_rounds: int, ppo_steps: int, ran: int | None = None) -> str:
    """How the exported policy was made, in words (recorded in its JSON). ``ran``: PPO steps run in
    all when validation selected an earlier policy (``ppo_steps`` of them)."""
    parts = (["behaviour cloning"] if cloned else []) + ([f"{dagger_rounds} DAgger rounds"] if cloned and dagger_rounds else [])
    if ppo_steps:
        parts.append(f"{ppo_steps} PPO steps")
    text = " + ".join(parts) or "untrained"
    if ran is not None and ran > ppo_steps:
        text += f" (selected on validation scenarios; PPO ran {ran} steps)"
    return text


def _make_env(env_kwargs: dict, rank: int, seed: int):
    def thunk():
        from stable_baselines3.common.monitor import Monitor

        from fairsched.rl.env import FairSchedEnv

        env = Monitor(FairSchedEnv(**env_kwargs), info_keywords=())
        env.reset(seed=seed + 1000 * rank)
        return env

    return thunk


def collect_teacher(env_kwargs: dict, teacher, steps: int, seed: int, gamma: float, actor=None):
    """Roll out ``teacher`` in a fresh env for ``steps`` decisions: obs, masks, actions, returns.

    With ``actor`` (``(obs, mask) -> action``, e.g. the student) the env follows the actor while the
    labels stay the teacher's (DAgger: the student sees the states its own mistakes lead to)."""
    import numpy as np

    from fairsched.rl.env import FairSchedEnv

    env = FairSchedEnv(**env_kwargs)
    obs_l, mask_l, act_l, rew_l, ends = [], [], [], [], []
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        mask = env.action_masks()
        a = teacher.act(obs, mask)
        obs_l.append(obs)
        mask_l.append(mask)
        act_l.append(a)
        obs, r, term, trunc, _ = env.step(a if actor is None else actor(obs, mask))
        rew_l.append(r)
        ends.append(term or trunc)
        if term or trunc:
            obs, _ = env.reset()
    ret = np.zeros(len(rew_l), dtype=np.float32)
    g = 0.0
    for i in range(len(rew_l) - 1, -1, -1):
        g = rew_l[i] + (0.0 if ends[i] else gamma * g)
        ret[i] = g
    return np.array(obs_l, dtype=np.float32), np.array(mask_l), np.array(act_l), ret


def behaviour_clone(model, data, epochs: int = 4, batch: int = 512, lr: float = 1e-3, seed: int = 0,
                    smoothing: float = 0.05) -> dict:
    """Fit the actor to the teacher's actions (masked cross-entropy, label smoothing ``smoothing`` over
    the valid actions so PPO still explores) and the critic to the teacher's discounted returns."""
    import numpy as np
    import torch

    obs, masks, acts, rets = data
    pol = model.policy
    opt = torch.optim.Adam(pol.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    n = len(acts)
    stats = {}
    for ep in range(epochs):
        perm = rng.permutation(n)
        tot_ce = tot_v = hit = 0.0
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            o = torch.as_tensor(obs[idx])
            a = torch.as_tensor(acts[idx])
            values, logp, _ = pol.evaluate_actions(o, a, action_masks=masks[idx])
            ce = -logp.mean()
            if smoothing > 0:
                m = torch.as_tensor(masks[idx])
                dist = pol.get_distribution(o, action_masks=masks[idx]).distribution
                lp_all = torch.where(m, torch.log(dist.probs.clamp_min(1e-8)), torch.zeros(()))
                ce = (1 - smoothing) * ce - smoothing * (lp_all.sum(-1) / m.sum(-1)).mean()
            v = torch.nn.functional.mse_loss(values.flatten(), torch.as_tensor(rets[idx]))
            loss = ce + 0.5 * v
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(pol.parameters(), 0.5)
            opt.step()
            tot_ce += ce.item() * len(idx)
            tot_v += v.item() * len(idx)
        stats = dict(epoch=ep, ce=tot_ce / n, value_mse=tot_v / n)
    with torch.no_grad():
        lg = []
        for i in range(0, n, 4096):
            d = pol.get_distribution(torch.as_tensor(obs[i:i + 4096]), action_masks=masks[i:i + 4096])
            lg.append(d.distribution.probs.argmax(-1).numpy())
        hit = float((np.concatenate(lg) == acts).mean())
    stats["agreement"] = hit
    return stats


def _time_limit_callback(deadline: float):
    """Stop learning at ``deadline`` (``time.monotonic()`` clock): the budget covers cloning too."""
    from stable_baselines3.common.callbacks import BaseCallback

    class TimeLimit(BaseCallback):
        def _on_step(self) -> bool:
            return time.monotonic() < deadline

    return TimeLimit()


def pick_best(rows: list[dict]) -> dict:
    """The validation row to ship: most tenants upheld, then most SLOs achieved (mean fraction); on a
    full tie the earlier one (fewer PPO steps: less drift from the clone for no measured gain)."""
    if not rows:
        raise ValueError("no validation scores to choose from")
    return max(rows, key=lambda r: (r["upheld"], round(r["slos_achieved"], 9), -r["timesteps"]))


def _validation_callback(out: Path, scheduler: str, K: int, tenant_aware: bool, every: int, requests: int,
                         jobs: int, verbose: int = 0):
    """Score the deterministic policy every ``every`` steps (and the start, i.e. the clone) by the tenants
    it upholds on the validation scenarios (:func:`fairsched.rl.evaluate.validation_scenarios`: the
    default scenario and training-range mixes, loads :data:`~fairsched.rl.evaluate.VALIDATION_LOADS`).

    Why: PPO's return on a few episodes is a noisy proxy of the goal, and an earlier PPO run drifted
    below its cloned start; keeping the best policy by the goal itself (tenants upheld, then mean
    SLOs achieved) makes fine-tuning unable to ship a worse policy than it started from *on these
    scenarios*. Each scored policy is exported to ``out/val/<scheduler>_<steps>`` and its scores to
    ``out/val/scores.csv``."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    import pandas as pd
    from stable_baselines3.common.callbacks import BaseCallback

    from fairsched.io import atomic_write_text
    from fairsched.rl.evaluate import VALIDATION_LOADS, run_cells, validation_scenarios
    from fairsched.rl.export import export_policy

    class Validation(BaseCallback):
        def __init__(self):
            super().__init__()
            self.rows: list[dict] = []
            self.last = -every
            self.pool = None
            self.scenarios = validation_scenarios()

        def score(self) -> None:
            steps = int(self.model.num_timesteps)
            stem = export_policy(self.model, out / "val" / f"{scheduler}_{steps}", K=K, tenant_aware=tenant_aware,
                                 extra=dict(scheduler=scheduler, timesteps=steps))
            if self.pool is None and jobs > 1:
                self.pool = ProcessPoolExecutor(jobs, mp_context=mp.get_context("forkserver"))
            df = run_cells(self.scenarios, VALIDATION_LOADS, [f"policy:{stem}"], requests=requests,
                           executor=self.pool)
            row = dict(timesteps=steps, stem=str(stem), upheld=int(df["upheld"].sum()),
                       slos_achieved=float(df["slos_achieved"].mean()), hit_rate=float(df["hit_rate"].mean()))
            self.rows.append(row)
            atomic_write_text(out / "val" / "scores.csv", pd.DataFrame(self.rows).to_csv(index=False))
            self.last = steps
            if verbose:
                log.info("validation at %s steps: %s", steps, row)

        def _on_training_start(self) -> None:
            self.score()

        def _on_step(self) -> bool:
            if self.num_timesteps - self.last >= every:
                self.score()
            return True

        def _on_training_end(self) -> None:
            if self.num_timesteps > self.last:
                self.score()
            if self.pool is not None:
                self.pool.shutdown()
                self.pool = None

        def best(self) -> dict:
            return pick_best(self.rows)

    return Validation()


def _command(argv: list[str] | None = None) -> str:
    """The CLI command line that ran this training, with absolute paths cut to their last part
    ("" when not run as ``fairsched [global options] train ...``). Global options before ``train``
    (``-v``, ``-q``, ``--import ...``) are kept: they are part of the command."""
    args = list(sys.argv[1:] if argv is None else argv)
    i = 0
    while i < len(args) and args[i].startswith("-"):  # global options; --import takes a value
        i += 2 if args[i] == "--import" else 1
    if args[i:i + 1] != ["train"]:
        return ""
    return "fairsched " + " ".join(shlex.quote(Path(a).name if a.startswith("/") else a) for a in args)


def _own_logger(model, out: Path, verbose: int) -> None:
    """Give sb3 a logger writing ``out/logs/progress.csv`` (and stdout when verbose): without one,
    sb3 makes an empty ``SB3-<timestamp>`` folder in the temp dir on every ``learn``."""
    from stable_baselines3.common.logger import configure

    model.set_logger(configure(str(out / "logs"), ["stdout", "csv"] if verbose else ["csv"]))


def _platform_types(platform) -> list[str]:
    from fairsched.platform.config import Platform, load_platform

    return (platform if isinstance(platform, Platform) else load_platform(platform)).type_names



def check_train_args(scheduler: str, trainable, timesteps: int, n_envs: int, resume, timesteps_hint: str = "") -> None:
    """The argument checks both trainers (per-layer and cycle) make before importing torch."""
    if scheduler not in trainable:
        raise InputError(f"scheduler: '{scheduler}' cannot be trained; use one of {sorted(trainable)}")
    if timesteps < 0:
        raise InputError(f"timesteps: must be >= 0{timesteps_hint}, got {timesteps}")
    if n_envs < 1:
        raise InputError(f"n_envs: must be >= 1, got {n_envs}")
    if resume is not None and not Path(resume).is_file():
        raise InputError(f"resume: checkpoint '{resume}' does not exist; give a .zip written by a previous run")


def train(
    *,
    scheduler: str = "drl",
    timesteps: int = 3_000_000,
    out: str | Path,
    scenario: str | Path | dict | None = "default",
    platform: str | Path | dict = "default",
    costs: str | Path | None = None,
    seed: int = 0,
    resume: str | Path | None = None,
    n_envs: int = 2,
    K: int = DEFAULT_K,
    requests: int = 3000,
    load_range: tuple[float, float] = (0.6, 1.5),
    p_base: float = 0.5,
    eval_load: float = 1.0,
    eval_requests: int = 400,
    eval_freq: int = 500_000,
    checkpoint_freq: int = 500_000,
    n_steps: int = 2048,
    batch_size: int = 1024,
    n_epochs: int = 4,
    learning_rate: float = 3e-5,
    gamma: float = 0.995,
    gae_lambda: float = 0.95,
    ent_coef: float = 0.0,
    clip_range: float = 0.1,
    target_kl: float | None = 0.02,
    select_every: int = 250_000,
    select_requests: int = 3000,
    net_arch: tuple[int, ...] = (128, 128),
    time_limit_min: float | None = 27.0,
    bc_steps: int = 100_000,
    bc_epochs: int = 6,
    dagger_rounds: int = 2,
    teacher_theta: float | None = None,
    progress: bool = True,
    vec: str = "subproc",
    verbose: int = 0,
) -> Path:
    """Train (or resume) a policy; returns the stem of the exported ``.npz``/``.json``."""
    t0 = time.monotonic()
    check_train_args(scheduler, VARIANTS, timesteps, n_envs, resume, " (0: cloning only, no PPO)")
    try:
        import torch
        from sb3_contrib import MaskablePPO
        from sb3_contrib.common.maskable.callbacks import MaskableEvalCallback
        from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback
        from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv
    except ModuleNotFoundError as e:  # pragma: no cover - depends on the install
        raise InputError(f"training needs the rl extra ({e.name} is missing); pip install 'fairsched[rl]'") from None

    from fairsched.rl.env import FairSchedEnv
    from fairsched.rl.export import export_policy

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    variant = VARIANTS[scheduler]
    theta = THETA if teacher_theta is None else teacher_theta
    env_kwargs = dict(
        scenario=scenario, platform=platform, costs=costs, K=K, requests=requests, load_range=tuple(load_range),
        p_base=p_base, **variant,
    )
    # fail fast (InputError) on a bad scenario/platform/cost table before forking workers
    probe = FairSchedEnv(**env_kwargs)
    eval_kwargs = dict(env_kwargs, randomize=False, load=eval_load, requests=eval_requests, sim_seed=12345)
    if probe.base is None:
        eval_kwargs.update(randomize=True, scenario=None)
    del probe

    torch.set_num_threads(1)
    thunks = [_make_env(env_kwargs, i, seed) for i in range(n_envs)]
    venv = SubprocVecEnv(thunks) if (vec == "subproc" and n_envs > 1) else DummyVecEnv(thunks)
    eval_env = DummyVecEnv([_make_env(eval_kwargs, 99, seed + 7)])

    if resume is not None:
        model = MaskablePPO.load(str(resume), env=venv, device="cpu")
        _own_logger(model, out, verbose)
        done = model.num_timesteps
    else:
        model = MaskablePPO(
            "MlpPolicy", venv, n_steps=n_steps, batch_size=batch_size, n_epochs=n_epochs,
            learning_rate=learning_rate, gamma=gamma, gae_lambda=gae_lambda, ent_coef=ent_coef, clip_range=clip_range,
            target_kl=target_kl,
            policy_kwargs=dict(net_arch=dict(pi=list(net_arch), vf=list(net_arch))), seed=seed, device="cpu",
            verbose=verbose,
        )
        _own_logger(model, out, verbose)
        done = 0
        bc_stats = None
        if bc_steps > 0:
            from fairsched.rl.teacher import TeacherPolicy

            teacher = TeacherPolicy("triage" if variant["tenant_aware"] else "urgent", K, theta)
            tb = time.monotonic()
            data = collect_teacher(env_kwargs, teacher, bc_steps, seed + 555, gamma)
            bc_stats = behaviour_clone(model, data, epochs=bc_epochs, seed=seed)
            import numpy as np

            for r in range(dagger_rounds):
                def student(o, m):
                    return int(model.predict(o, action_masks=m, deterministic=True)[0])

                more = collect_teacher(env_kwargs, teacher, bc_steps, seed + 556 + r, gamma, actor=student)
                data = tuple(np.concatenate([a, b]) for a, b in zip(data, more))
                bc_stats = behaviour_clone(model, data, epochs=max(2, bc_epochs // 2), seed=seed + r + 1)
                bc_stats["dagger_round"] = r + 1
            bc_stats["wall_s"] = round(time.monotonic() - tb, 1)
            (out / "bc.json").write_text(json.dumps(bc_stats, indent=2) + "\n")
            export_policy(model, out / f"{scheduler}_bc", K=K, tenant_aware=variant["tenant_aware"],
                          extra=dict(scheduler=scheduler, stage="behaviour cloning only"))
            if verbose:
                log.info("behaviour cloning: %s", bc_stats)
    per_env = lambda f: max(1, f // n_envs)  # noqa: E731 - callbacks count vectorised steps
    callbacks = [
        CheckpointCallback(per_env(checkpoint_freq), str(out / "checkpoints"), name_prefix=scheduler),
        MaskableEvalCallback(eval_env, n_eval_episodes=1, eval_freq=per_env(eval_freq),
                             log_path=str(out / "eval"), best_model_save_path=str(out / "eval"),
                             deterministic=True, verbose=verbose),
    ]
    validation = None
    if select_every > 0 and timesteps > done:
        validation = _validation_callback(out, scheduler, K, variant["tenant_aware"], select_every, select_requests,
                                          jobs=n_envs, verbose=verbose)
        callbacks.append(validation)
    if time_limit_min is not None:  # last, so the final validation still runs when time is up
        callbacks.append(_time_limit_callback(t0 + time_limit_min * 60.0))
    if timesteps > done:
        model.learn(total_timesteps=timesteps - done, callback=CallbackList(callbacks),
                    progress_bar=progress, reset_num_timesteps=resume is None)
    model.save(str(out / f"{scheduler}_final"))
    selected = None
    if validation is not None and validation.rows:
        from fairsched.rl.export import load_into

        best = validation.best()
        load_into(model, best["stem"])  # the exported policy is the best-scoring one, not the last
        selected = dict(best, stem=Path(best["stem"]).name,
                        scores=[{k: v for k, v in r.items() if k != "stem"} for r in validation.rows])
    wall = time.monotonic() - t0
    venv.close()
    eval_env.close()
    meta = dict(
        scheduler=scheduler, timesteps=int(model.num_timesteps), train_wall_s=round(wall, 1), seed=seed,
        platform_types=_platform_types(platform),  # the policy scheduler warns on other types
        command=_command(),
        env={k: (Path(v).name if k in ("scenario", "platform", "costs") and isinstance(v, (str, Path)) else v)
             for k, v in env_kwargs.items() if isinstance(v, (int, float, str, Path, bool, tuple, list, type(None)))},
        bc=dict(steps=bc_steps, epochs=bc_epochs, dagger_rounds=dagger_rounds, teacher_theta=theta)
        if resume is None else None,
        bc_result=bc_stats if resume is None else None,
        stage=_stage(resume is None and bc_steps > 0, dagger_rounds,
                     int(selected["timesteps"]) if selected else int(model.num_timesteps),
                     ran=int(model.num_timesteps) if selected else None),
        selected=selected,
        ppo=dict(n_steps=n_steps, batch_size=batch_size, n_epochs=n_epochs, learning_rate=learning_rate,
                 gamma=gamma, gae_lambda=gae_lambda, ent_coef=ent_coef, clip_range=clip_range, target_kl=target_kl,
                 net_arch=list(net_arch), n_envs=n_envs),
    )
    stem = export_policy(model, out / scheduler, K=K, tenant_aware=variant["tenant_aware"], extra=meta)
    (out / "train_summary.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return stem
