"""Torch-free inference of an exported policy: an MLP in numpy, masked arg-max.

An exported policy is two files side by side (:mod:`fairsched.rl.export` writes them):

* ``<name>.npz``: the actor's weights ``W0, b0, W1, b1, ..., Wout, bout`` (``W`` as ``out x in``);
* ``<name>.json``: ``feature_version``, ``K``, ``obs_dim``, ``activation``, ``tenant_aware``, the
  training command and metadata.

Inference is ``logits = Wout act(... act(W0 x + b0) ...) + bout``; masked-out actions get ``-inf`` and
the arg-max is taken (deterministic, as ``predict(..., deterministic=True)`` in sb3). The forward
pass is :func:`fairsched.sim.compiled_policy.mlp_logits` (numba, float32): the one implementation
that the compiled core also runs, so a policy decides identically on both cores (numpy's matmul
sums in another order, and numpy's float32 tanh may differ from libm's in the last bit).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
from numba import njit

from fairsched.errors import InputError
from fairsched.rl.features import FEATURE_VERSION, obs_dim
from fairsched.sim.compiled_policy import masked_argmax, mlp_logits, mlp_scratch, pack_mlp

POLICY_DIR = Path(str(resources.files("fairsched.rl") / "policies"))
#: the ``format`` field of a policy's JSON tells the two kinds apart
LAYER_FORMAT = "fairsched-mlp-policy/1"  # per-layer MLP (this module; rl/export.py writes it)
CYCLE_FORMAT = "fairsched-cycle-policy/1"  # cycle policy (rl/cycle.py; rl/cycle_train.py writes it)
_ACT = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0)}


class NumpyPolicy:
    """A deterministic masked MLP policy loaded from ``.npz`` + ``.json``."""

    def __init__(self, weights: list[tuple[np.ndarray, np.ndarray]], meta: dict):
        if meta.get("activation", "tanh") not in _ACT:
            raise InputError(f"policy activation: unknown '{meta.get('activation')}'; use tanh or relu")
        self.meta = meta
        self.K = int(meta["K"])
        self.tenant_aware = bool(meta.get("tenant_aware", True))
        self.act_fn = _ACT[meta.get("activation", "tanh")]
        # float32 like torch, so the arg-max agrees with sb3's predict
        self.layers = [(np.ascontiguousarray(W, dtype=np.float32), np.asarray(b, dtype=np.float32)) for W, b in weights]
        self._hidden = self.layers[:-1]
        self._out = self.layers[-1]
        self.act_code = 0 if meta.get("activation", "tanh") == "tanh" else 1
        self._w, self._dims = pack_mlp(self.layers)

    @classmethod
    def load(cls, path: str | Path) -> "NumpyPolicy":
        """Load ``path`` (``.npz``, ``.json`` or the common stem) and check its feature version."""
        p = Path(path)
        stem = p.with_suffix("") if p.suffix in (".npz", ".json") else p
        npz, js = stem.with_suffix(".npz"), stem.with_suffix(".json")
        for f in (npz, js):
            if not f.is_file():
                raise InputError(f"policy '{stem}': file '{f.name}' is missing; export it with `fairsched train` "
                                 "or fairsched.rl.export")
        if policy_kind(js) == "cycle":
            raise InputError(f"policy '{stem}': a cycle policy ({CYCLE_FORMAT}), not a per-layer one; run it as "
                             f"{'drl' if 'drl' in stem.name else 'relmas'}:{stem} (the name loads either kind) or load "
                             "it with fairsched.rl.cycle.CyclePolicy")
        meta = json.loads(js.read_text())
        if meta.get("feature_version") != FEATURE_VERSION:
            raise InputError(
                f"policy '{stem}': feature_version {meta.get('feature_version')} does not match this fairsched "
                f"({FEATURE_VERSION}); retrain or export it again"
            )
        if int(meta.get("obs_dim", -1)) != obs_dim(int(meta["K"])):
            raise InputError(f"policy '{stem}': obs_dim {meta.get('obs_dim')} does not match K={meta['K']}")
        with np.load(npz) as z:
            n = int(z["n_layers"])
            weights = [(z[f"W{i}"], z[f"b{i}"]) for i in range(n)]
        return cls(weights, meta)

    def logits(self, obs: np.ndarray) -> np.ndarray:
        """The float32 logits (a fresh array)."""
        x = np.ascontiguousarray(obs, dtype=np.float32)
        if x.shape != (self._dims[0],):
            raise ValueError(f"observation of shape {x.shape}; this policy takes ({self._dims[0]},)")
        return mlp_logits(self._w, self._dims, self.act_code, x, mlp_scratch(self._dims)).copy()

    def act(self, obs: np.ndarray, mask: np.ndarray) -> int:
        """The arg-max valid action."""
        x = np.ascontiguousarray(obs, dtype=np.float32)
        if x.shape != (self._dims[0],):
            raise ValueError(f"observation of shape {x.shape}; this policy takes ({self._dims[0]},)")
        # scratch per call: a loaded policy is shared (load_policy's cache), maybe across threads
        return int(masked_argmax(mlp_logits(self._w, self._dims, self.act_code, x, mlp_scratch(self._dims)),
                                 np.ascontiguousarray(mask, dtype=np.bool_)))

    def act_batch(self, obs: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """The arg-max valid actions of ``N`` observations (``N x obs_dim``, masks ``N x (K+1)``)
        in one compiled call, for rollouts of many envs (:class:`fairsched.rl.vec_env.KernelVecEnv`):
        the same forward pass as :meth:`act`, row by row, so the same actions. (A numpy matrix
        product would sum in BLAS's order, and on this 2-core machine OpenBLAS's threads made a
        64-row product take ~20 ms.)"""
        x = np.ascontiguousarray(obs, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self._dims[0]:
            raise ValueError(f"observations of shape {x.shape}; this policy takes (N, {self._dims[0]})")
        out = np.empty(x.shape[0], np.int64)
        _act_rows(self._w, self._dims, self.act_code, x, np.ascontiguousarray(masks, dtype=np.bool_), out,
                  mlp_scratch(self._dims))
        return out


@njit(cache=True)
def _act_rows(w, dims, act, x, masks, out, h):
    for i in range(x.shape[0]):
        out[i] = masked_argmax(mlp_logits(w, dims, act, x[i], h), masks[i])


def shipped_policy_path(name: str) -> Path:
    return POLICY_DIR / name


def policy_stem(path: str | Path) -> Path:
    """``x``, ``x.npz`` or ``x.json`` -> ``x`` (a policy is the two files beside each other)."""
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".npz", ".json") else p


def policy_kind(path: str | Path) -> str:
    """``"layer"`` (a per-layer :class:`NumpyPolicy`) or ``"cycle"`` (a
    :class:`~fairsched.rl.cycle.CyclePolicy`), from the ``format`` field of the policy's JSON.

    Why one function: the learned scheduler names (``drl``, ``relmas``, ``NAME:PATH``, ``--policy``)
    accept either kind, and each caller used to guess (a cycle file read as per-layer failed on its
    missing ``feature_version``). A per-layer file written before ``format`` existed has a
    ``feature_version`` and counts as per-layer. Anything else is one InputError naming the file."""
    js = policy_stem(path).with_suffix(".json")
    if not js.is_file():
        raise InputError(f"policy '{policy_stem(path)}': file '{js}' is missing; give the stem, .npz or .json of a "
                         "policy exported by `fairsched train`")
    try:
        meta = json.loads(js.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"policy file '{js}': not readable JSON ({type(e).__name__}); give a policy exported by "
                         "`fairsched train`") from None
    fmt = meta.get("format") if isinstance(meta, dict) else None
    if fmt == CYCLE_FORMAT:
        return "cycle"
    if fmt == LAYER_FORMAT or (isinstance(meta, dict) and fmt is None and "feature_version" in meta):
        return "layer"
    raise InputError(f"policy file '{js}': format {fmt!r} is neither a per-layer policy ({LAYER_FORMAT}) nor a "
                     f"cycle policy ({CYCLE_FORMAT}); give a policy exported by `fairsched train`")
