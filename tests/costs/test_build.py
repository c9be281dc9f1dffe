"""The cost-table builder: dedupe, resume after interruption, atomic outputs (zigzag replaced by a fake)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from fairsched.costs import build
from fairsched.costs.table import load_cost_table
from fairsched.errors import InputError
from fairsched.workload.zoo import LayerShape

A = LayerShape("a", "conv", K=8, C=4, OX=4, OY=4, FX=3, FY=3, pad=1)
B = LayerShape("b", "fc", K=10, C=32)
ZOO = {"m1": [A, B, A], "m2": [B]}  # 2 unique shapes


def fake_runner(calls, stop_after=None):
    def run(job, opt, lpf_limit):
        if stop_after is not None and len(calls) >= stop_after:
            raise KeyboardInterrupt
        calls.append((job.layer.shape_key(), job.accel_type))
        return {"key": job.key, "accel_type": job.accel_type, "macs": job.layer.macs, "cycles": job.layer.macs // 7 + 1,
                "dram_bytes": job.layer.weight_elems, "energy_pj": 1.5 * job.layer.macs, "seconds": 0.0}
    return run


def test_dedupes_shapes_and_resumes_after_interruption(tmp_path, monkeypatch):
    out = tmp_path / "t.csv"
    calls: list = []
    monkeypatch.setattr(build, "_run_job", fake_runner(calls, stop_after=3))
    with pytest.raises(KeyboardInterrupt):
        build.build_cost_table(types=["eyeriss_like", "simba_like"], jobs=1, out=out, zoo=ZOO)
    assert len(calls) == 3 and not out.exists()  # nothing half-written
    cache = out.with_name("t.cache.jsonl")
    assert len(cache.read_text().splitlines()) == 3

    calls2: list = []
    monkeypatch.setattr(build, "_run_job", fake_runner(calls2))
    meta = build.build_cost_table(types=["eyeriss_like", "simba_like"], jobs=1, out=out, zoo=ZOO)
    assert len(calls2) == 1  # 2 shapes x 2 types = 4 jobs, 3 were cached
    assert meta["build"]["unique_jobs"] == 4 and meta["build"]["jobs_run_this_time"] == 1

    t = load_cost_table(out)
    assert len(t.frame) == 2 * (3 + 1)
    m1 = t.get("m1", "simba_like")
    assert m1.macs.tolist() == [A.macs, B.macs, A.macs]
    assert m1.cycles[0] == m1.cycles[2] == A.macs // 7 + 1
    assert json.loads(out.with_name("t.meta.json").read_text())["format_version"] == 1


def test_torn_cache_line_is_ignored(tmp_path, monkeypatch):
    out = tmp_path / "t.csv"
    calls: list = []
    monkeypatch.setattr(build, "_run_job", fake_runner(calls))
    build.build_cost_table(types=["tpu_like"], jobs=1, out=out, zoo=ZOO)
    cache = out.with_name("t.cache.jsonl")
    lines = cache.read_text().splitlines()
    cache.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])  # killed mid-write
    calls.clear()
    build.build_cost_table(types=["tpu_like"], jobs=1, out=out, zoo=ZOO)
    assert len(calls) == 1


def test_cache_key_follows_hardware_and_settings():
    k = build.job_key(A, "abc", "tpu_like", "EDP", 6, "3.9.1")
    assert k == build.job_key(A, "abc", "tpu_like", "EDP", 6, "3.9.1")
    assert k != build.job_key(A, "abd", "tpu_like", "EDP", 6, "3.9.1")
    assert k != build.job_key(A, "abc", "tpu_like", "EDP", 4, "3.9.1")
    assert k != build.job_key(B, "abc", "tpu_like", "EDP", 6, "3.9.1")


@pytest.mark.parametrize("kwargs, match", [
    (dict(models=["lenet"]), "unknown model 'lenet'"),
    (dict(types=["gpu_like"]), "unknown accelerator type 'gpu_like'"),
    (dict(jobs=0), "--jobs"),
])
def test_bad_arguments_are_input_errors(tmp_path, kwargs, match):
    with pytest.raises(InputError, match=match):
        build.build_cost_table(out=tmp_path / "x.csv", **kwargs)


def test_shipped_cache_covers_the_shipped_table():
    """`fairsched costs build` with default settings regenerates the shipped CSV from the shipped cache."""
    from fairsched.costs.table import SHIPPED
    from fairsched.workload.zoo import MODEL_NAMES, get_model

    cache = build.read_cache(SHIPPED.with_name("cost_table" + build.CACHE_SUFFIX))
    zz = json.loads(SHIPPED.with_name("cost_table.meta.json").read_text())["zigzag_version"]
    df = pd.read_csv(SHIPPED)
    for t in build.DEFAULT_TYPES:
        digest = build.type_files(t).digest()
        for m in MODEL_NAMES:
            g = df[(df.model == m) & (df.accel_type == t)].sort_values("layer_index")
            for layer, cycles in zip(get_model(m), g["cycles"]):
                rec = cache[build.job_key(layer, digest, t, "EDP", 6, zz)]
                assert rec["cycles"] == cycles
