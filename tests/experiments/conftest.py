"""Small sweeps on a tiny hand-made cost table (two models, the default platform's two types)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

# (cycles, dram_bytes) per layer, per accelerator type; 200 MHz clocks -> layers of 0.25..2 ms
_LAYERS = {
    "m1": {"eyeriss_like": [(2e5, 1e5), (3e5, 2e5), (1e5, 5e4)], "simba_like": [(1.5e5, 2e5), (4e5, 1e5), (1e5, 1e5)]},
    "m2": {"eyeriss_like": [(1e5, 1e5), (5e4, 5e4)], "simba_like": [(8e4, 1e5), (9e4, 4e4)]},
}

SCENARIO = dict(
    name="tiny-mix",
    load=0.8,
    requests=200,
    warmup_fraction=0.1,
    tenants=[
        dict(name="a", slos=[dict(model="m1", deadline_x=3.0, target=0.95, rate_share=2.0)]),
        dict(name="b", slos=[dict(model="m2", deadline_x=2.0, target=0.90),
                             dict(model="m1", deadline_x=6.0, target=0.85)]),
        dict(name="c", slos=[dict(model="m2", deadline_x=4.0, target=0.99, rate_share=0.5)]),
    ],
)


def write_costs(path: Path) -> Path:
    rows = []
    for model, by_type in _LAYERS.items():
        for t, layers in by_type.items():
            for k, (c, d) in enumerate(layers):
                rows.append(dict(model=model, layer_index=k, layer_name=f"l{k}", kind="conv", accel_type=t,
                                 macs=int(c * 100), cycles=c, dram_bytes=d, energy_pj=c * 10))
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def sweep_file(tmp_path):
    """``sweep_file(**overrides)`` -> path of a small valid sweep YAML (tiny costs, tiny scenario)."""
    write_costs(tmp_path / "costs.csv")
    (tmp_path / "mix.yaml").write_text(yaml.safe_dump(SCENARIO))

    def make(name: str = "sweep.yaml", **overrides) -> Path:
        cfg = dict(name="test", schedulers=["edf", "fcfs"], loads=[0.6, 1.2], scenarios=["mix.yaml"],
                   seeds=2, requests=150, costs="costs.csv", random=dict(n_tenants=[2, 3]))
        cfg.update(overrides)
        cfg = {k: v for k, v in cfg.items() if v is not None}
        p = tmp_path / name
        p.write_text(yaml.safe_dump(cfg))
        return p

    return make
