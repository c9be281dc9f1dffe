"""Export a MaskablePPO actor to the torch-free format of :mod:`fairsched.rl.policy` (imports torch).

Only the actor is exported: ``mlp_extractor.policy_net`` (Linear/activation pairs) and ``action_net``.
The observation goes in unnormalised (features are scaled by :mod:`fairsched.rl.features`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fairsched.rl.features import FEATURE_VERSION, obs_dim


def actor_weights(model) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """``[(W, b), ...]`` of the actor MLP (hidden layers, then the action head) and its activation."""
    import torch.nn as nn

    pol = model.policy
    layers, act = [], "tanh"
    for m in pol.mlp_extractor.policy_net:
        if isinstance(m, nn.Linear):
            layers.append((m.weight.detach().cpu().numpy().copy(), m.bias.detach().cpu().numpy().copy()))
        elif isinstance(m, nn.ReLU):
            act = "relu"
        elif isinstance(m, nn.Tanh):
            act = "tanh"
        else:
            raise TypeError(f"cannot export layer {type(m).__name__}; use Linear + Tanh/ReLU")
    h = pol.action_net
    layers.append((h.weight.detach().cpu().numpy().copy(), h.bias.detach().cpu().numpy().copy()))
    return layers, act


def export_policy(model, stem: str | Path, *, K: int, tenant_aware: bool, extra: dict | None = None) -> Path:
    """Write ``stem.npz`` and ``stem.json``; returns the stem."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    layers, act = actor_weights(model)
    arrays = {"n_layers": np.array(len(layers))}
    for i, (W, b) in enumerate(layers):
        arrays[f"W{i}"] = W.astype(np.float32)
        arrays[f"b{i}"] = b.astype(np.float32)
    np.savez(stem.with_suffix(".npz"), **arrays)
    meta = dict(
        format="fairsched-mlp-policy/1",
        feature_version=FEATURE_VERSION,
        K=int(K),
        obs_dim=obs_dim(K),
        n_actions=int(K) + 1,
        activation=act,
        tenant_aware=bool(tenant_aware),
        hidden=[int(W.shape[0]) for W, _ in layers[:-1]],
    )
    meta.update(extra or {})
    stem.with_suffix(".json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return stem


def load_into(model, stem: str | Path) -> None:
    """Copy an exported actor back into an sb3 model of the same architecture (benchmarks, tests)."""
    import torch
    import torch.nn as nn

    from fairsched.rl.policy import NumpyPolicy

    pol = NumpyPolicy.load(stem)
    lin = [m for m in model.policy.mlp_extractor.policy_net if isinstance(m, nn.Linear)] + [model.policy.action_net]
    if len(lin) != len(pol.layers):
        raise ValueError(f"architecture mismatch: {len(lin)} vs {len(pol.layers)} layers")
    with torch.no_grad():
        for m, (W, b) in zip(lin, pol.layers):
            m.weight.copy_(torch.as_tensor(W, dtype=torch.float32))
            m.bias.copy_(torch.as_tensor(b, dtype=torch.float32))


def widen_candidate_blocks(src: str | Path, dst: str | Path, *, K: int, old_n_cand: int, new_n_cand: int,
                           n_global: int, extra: dict | None = None) -> Path:
    """Re-lay an exported policy's first layer for candidate blocks widened from ``old_n_cand`` to
    ``new_n_cand`` features (new ones appended to each block), with zero weights on the new inputs.

    Exact only for a policy that sees zeros there: the tenant-agnostic ``relmas`` gets the tenant
    block zeroed, so when a version adds tenant features its decisions are unchanged (up to the
    rounding of reordered float sums; numpy only)."""
    src, dst = Path(src), Path(dst)
    if new_n_cand < old_n_cand:
        raise ValueError("new_n_cand must be >= old_n_cand")
    z = dict(np.load(src.with_suffix(".npz")))
    W0 = z["W0"]
    if W0.shape[1] != K * old_n_cand + n_global:
        raise ValueError(f"W0 has {W0.shape[1]} inputs, expected {K * old_n_cand + n_global}")
    W = np.zeros((W0.shape[0], K * new_n_cand + n_global), dtype=W0.dtype)
    for j in range(K):
        W[:, j * new_n_cand:j * new_n_cand + old_n_cand] = W0[:, j * old_n_cand:(j + 1) * old_n_cand]
    W[:, K * new_n_cand:] = W0[:, K * old_n_cand:]
    z["W0"] = W
    dst.parent.mkdir(parents=True, exist_ok=True)
    np.savez(dst.with_suffix(".npz"), **z)
    meta = json.loads(src.with_suffix(".json").read_text())
    meta.update(feature_version=FEATURE_VERSION, obs_dim=int(W.shape[1]), **(extra or {}))
    dst.with_suffix(".json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return dst
