"""Small on-disk inputs (cost table, scenario, platform) for the bench and bound commands."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml


def write_inputs(tmp_path, bandwidth_gbps=1e6, load=1.1, requests=300):
    tmp_path.mkdir(parents=True, exist_ok=True)
    rows = []
    layers = {"a": [(4e5, 1e5), (2e5, 4e5), (3e5, 1e5)], "b": [(1e5, 2e4)], "c": [(2e5, 3e5), (1e5, 1e4)]}
    for model, ls in layers.items():
        for t, f in (("eyeriss_like", 1.0), ("simba_like", 0.6)):
            for k, (c, d) in enumerate(ls):
                rows.append(dict(model=model, layer_index=k, layer_name=f"l{k}", kind="conv", accel_type=t,
                                 macs=int(c * 100), cycles=int(c * (f if k % 2 else 1.6 - f)), dram_bytes=d,
                                 energy_pj=1e6))
    costs = tmp_path / "costs.csv"
    pd.DataFrame(rows).to_csv(costs, index=False)
    scen = tmp_path / "scen.yaml"
    scen.write_text(yaml.safe_dump(dict(
        name="small", load=load, requests=requests, warmup_fraction=0.1,
        tenants=[
            dict(name="t1", slos=[dict(model="a", deadline_x=3, target=0.9, rate_share=2)]),
            dict(name="t2", slos=[dict(model="b", deadline_x=2, target=0.99), dict(model="a", deadline_x=6, target=0.8)]),
            dict(name="t3", slos=[dict(model="c", deadline_x=1.5, target=0.95, rate_share=3)]),
        ],
    )))
    plat = tmp_path / "plat.yaml"
    plat.write_text(yaml.safe_dump(dict(
        name="small", dram_bandwidth_gbps=bandwidth_gbps,
        sub_accelerators=[dict(type="eyeriss_like", count=2), dict(type="simba_like", count=1)],
    )))
    return costs, scen, plat


@pytest.fixture
def small_inputs(tmp_path):
    return write_inputs(tmp_path)
