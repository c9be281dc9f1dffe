"""Helpers shared by the reliability tests: a small cost table for the default scenario's models
and a way to run the real command line in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from fairsched.costs.table import COLUMNS, SHIPPED

#: the models of the shipped default scenario
DEFAULT_MODELS = ["resnet50", "resnet18", "mobilenetv2", "vgg16", "googlenet", "squeezenet", "unet", "bert_base"]
TYPES = ["eyeriss_like", "simba_like"]

HAS_SHIPPED_TABLE = SHIPPED.is_file()


def small_cost_frame(models=DEFAULT_MODELS, types=TYPES, layers: int = 3) -> pd.DataFrame:
    """A deterministic, physically plausible table: ``layers`` layers per model, ~0.1-1 ms each
    at 200 MHz, with DRAM traffic that makes some layers bandwidth-bound on the default platform."""
    rows = []
    for mi, m in enumerate(models):
        for ti, t in enumerate(types):
            for k in range(layers):
                cycles = 20_000 * (1 + (mi + 2 * k + 3 * ti) % 7)
                rows.append(dict(model=m, layer_index=k, layer_name=f"{m}.l{k}", kind="conv", accel_type=t,
                                 macs=cycles * 64, cycles=cycles, dram_bytes=40_000 * (1 + (mi + k + ti) % 5),
                                 energy_pj=1e6 * (1 + (mi + k) % 3)))
    return pd.DataFrame(rows, columns=COLUMNS)


def write_small_costs(path: Path, **kw) -> Path:
    small_cost_frame(**kw).to_csv(path, index=False)
    return path


def cli_env(**extra) -> dict:
    env = dict(os.environ)
    env.pop("FAIRSCHED_DEBUG", None)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_cli(args, cwd=None, timeout=120, **env) -> subprocess.CompletedProcess:
    """``python -m fairsched ARGS`` in a fresh process."""
    return subprocess.run([sys.executable, "-m", "fairsched", *map(str, args)], cwd=cwd, env=cli_env(**env),
                          capture_output=True, text=True, timeout=timeout)
