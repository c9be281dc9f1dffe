"""Small CLI inputs shared by the tests of this folder: a two-model cost table and a two-tenant
scenario, small enough that every scheduler runs in well under a second."""

import pandas as pd
import yaml


def write_small_inputs(tmp_path, *, load: float, requests: int):
    """Write ``costs.csv`` (models a, b on eyeriss_like and simba_like) and ``scen.yaml`` (tenants t1,
    t2) under ``tmp_path``; return their paths."""
    rows = []
    for model, layers in {"a": [(4e5, 1e5), (2e5, 4e5)], "b": [(1e5, 2e4)]}.items():
        for t, f in (("eyeriss_like", 1.0), ("simba_like", 0.5)):
            for k, (c, d) in enumerate(layers):
                rows.append(dict(model=model, layer_index=k, layer_name=f"l{k}", kind="conv", accel_type=t,
                                 macs=int(c * 100), cycles=int(c * f * (1 + k)), dram_bytes=d, energy_pj=1e6))
    costs = tmp_path / "costs.csv"
    pd.DataFrame(rows).to_csv(costs, index=False)
    scen = tmp_path / "scen.yaml"
    scen.write_text(yaml.safe_dump(dict(
        name="small", load=load, requests=requests,
        tenants=[
            dict(name="t1", slos=[dict(model="a", deadline_x=3, target=0.9, rate_share=2)]),
            dict(name="t2", slos=[dict(model="b", deadline_x=2, target=0.99), dict(model="a", deadline_x=6, target=0.8)]),
        ],
    )))
    return costs, scen
