"""The Ray backend gives the same tables as the local backend for the same grid and seeds.

The test starts (and stops) its own small local Ray instance; the sweep reuses it.
"""

from __future__ import annotations

import pandas as pd
import pytest

from fairsched.experiments.sweep import TIMING_COLUMNS, run_sweep

ray = pytest.importorskip("ray")


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="error",
             object_store_memory=80 * 1024**2)
    yield
    ray.shutdown()


def _stable(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in TIMING_COLUMNS if c in df.columns])


def test_ray_equals_local(sweep_file, tmp_path, local_ray):
    path = sweep_file(scenarios=["mix.yaml", "random:2"], seeds=2, requests=120)
    local = run_sweep(path, tmp_path / "local", jobs=1)
    remote = run_sweep(path, tmp_path / "ray", backend="ray")
    assert remote.computed == local.computed == 16
    assert ray.is_initialized()  # a caller's Ray instance is left running
    pd.testing.assert_frame_equal(_stable(remote.summary), _stable(local.summary))
    pd.testing.assert_frame_equal(remote.tenants, local.tenants)
    pd.testing.assert_frame_equal(remote.slos, local.slos)
    # cells written by the Ray driver are the same cache entries: a local rerun reuses all of them
    again = run_sweep(path, tmp_path / "ray", jobs=1)
    assert (again.computed, again.cached) == (0, 16)
