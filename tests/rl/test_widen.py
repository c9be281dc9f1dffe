"""Widening an exported policy's candidate blocks keeps its decisions where the new inputs are zero."""

import json

import numpy as np

from fairsched.rl.export import widen_candidate_blocks


def test_zero_new_inputs_give_the_same_first_layer(tmp_path):
    K, old, new, g, H = 3, 5, 7, 4, 6
    rng = np.random.default_rng(0)
    W0 = rng.normal(size=(H, K * old + g)).astype(np.float32)
    np.savez(tmp_path / "p.npz", n_layers=np.array(1), W0=W0, b0=np.zeros(H, np.float32))
    (tmp_path / "p.json").write_text(json.dumps(dict(feature_version=2, obs_dim=K * old + g)))
    widen_candidate_blocks(tmp_path / "p", tmp_path / "q", K=K, old_n_cand=old, new_n_cand=new, n_global=g)
    W1 = np.load(tmp_path / "q.npz")["W0"]
    assert W1.shape == (H, K * new + g)
    for _ in range(20):
        x_old = rng.normal(size=K * old + g).astype(np.float32)
        x_new = np.zeros(K * new + g, np.float32)
        for j in range(K):  # block j keeps its features first, new ones (here zero) after
            x_new[j * new:j * new + old] = x_old[j * old:(j + 1) * old]
        x_new[K * new:] = x_old[K * old:]
        np.testing.assert_allclose(W1 @ x_new, W0 @ x_old, rtol=1e-5, atol=1e-5)  # summation order only
    assert json.loads((tmp_path / "q.json").read_text())["obs_dim"] == K * new + g
