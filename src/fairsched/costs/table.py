"""Load and validate cost tables.

A cost table has one row per (model, layer, accelerator type) with the layer's latency in cycles
at unlimited DRAM bandwidth, its off-chip traffic and its energy. The shipped table is built with
zigzag-dse (``fairsched costs build``); users may bring their own (MAESTRO, Timeloop, measured)
in the same CSV format. Simulations never import zigzag: they read this table.

Columns (CSV, in this order): ``model, layer_index, layer_name, kind, accel_type, macs, cycles,
dram_bytes, energy_pj``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from fairsched.errors import InputError

COLUMNS = ["model", "layer_index", "layer_name", "kind", "accel_type", "macs", "cycles", "dram_bytes", "energy_pj"]
SHIPPED = Path(str(resources.files("fairsched.costs") / "data" / "cost_table.csv"))


def validate_cost_frame(df: pd.DataFrame, source: str = "cost table") -> pd.DataFrame:
    """Check a cost table frame; return it normalised (typed, sorted). Raises :class:`InputError`."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{source}: missing column(s) {missing}; the CSV needs columns {COLUMNS}")
    if df.empty:
        raise InputError(f"{source}: has no rows; add one row per (model, layer, accel_type)")
    df = df[COLUMNS].copy()
    for c in ("model", "layer_name", "kind", "accel_type"):
        if df[c].isna().any():
            row = int(df.index[df[c].isna()][0])
            raise InputError(f"{source}: column '{c}' is empty in data row {row + 1}; fill it in")
        df[c] = df[c].astype(str)
    for c in ("layer_index", "macs", "cycles", "dram_bytes", "energy_pj"):
        vals = pd.to_numeric(df[c], errors="coerce")
        if vals.isna().any():
            row = int(df.index[vals.isna()][0])
            raise InputError(f"{source}: column '{c}' has a non-numeric value in data row {row + 1}; use a number")
        if not np.isfinite(vals.to_numpy(np.float64)).all():
            row = int(np.flatnonzero(~np.isfinite(vals.to_numpy(np.float64)))[0])
            raise InputError(f"{source}: column '{c}' is not finite in data row {row + 1}; use a finite number")
        df[c] = vals
    frac = df["layer_index"] != np.floor(df["layer_index"])
    if frac.any():
        row = int(np.flatnonzero(frac.to_numpy())[0])
        raise InputError(f"{source}: column 'layer_index' must be a whole number; data row {row + 1} has "
                         f"{df['layer_index'].iloc[row]}")
    checks = [
        ("cycles", df["cycles"] <= 0, "must be > 0 (latency at unlimited DRAM bandwidth)"),
        ("energy_pj", df["energy_pj"] <= 0, "must be > 0"),
        ("dram_bytes", df["dram_bytes"] < 0, "must be >= 0"),
        ("macs", df["macs"] < 0, "must be >= 0"),
        ("layer_index", df["layer_index"] < 0, "must be >= 0"),
    ]
    for col, bad, what in checks:
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{source}: column '{col}' {what}; data row {row + 1} has {df[col].iloc[row]}")
    df["layer_index"] = df["layer_index"].astype(np.int64)
    dup = df.duplicated(["model", "layer_index", "accel_type"])
    if dup.any():
        r = df[dup].iloc[0]
        raise InputError(
            f"{source}: duplicate row for model '{r.model}', layer_index {r.layer_index}, accel_type '{r.accel_type}'; "
            "keep one row per (model, layer_index, accel_type)"
        )
    df = df.sort_values(["model", "accel_type", "layer_index"], kind="stable").reset_index(drop=True)
    types = sorted(df["accel_type"].unique())
    for (model, t), g in df.groupby(["model", "accel_type"], sort=False):
        idx = g["layer_index"].to_numpy()
        if not np.array_equal(idx, np.arange(len(idx))):
            raise InputError(
                f"{source}: model '{model}' on '{t}' has layer_index {idx.tolist()[:8]}...; number layers 0..n-1 without gaps"
            )
    counts = df.groupby(["model", "accel_type"]).size().unstack()
    for model, row in counts.iterrows():
        if row.isna().any():
            lacking = [t for t in types if pd.isna(row[t])]
            raise InputError(f"{source}: model '{model}' has no rows for accel_type(s) {lacking}; give every model on every type")
        if row.nunique() != 1:
            raise InputError(f"{source}: model '{model}' has different layer counts per type {row.to_dict()}; they must agree")
    return df


@dataclass
class ModelCost:
    """Per-layer arrays of one model on one accelerator type (index = layer)."""

    cycles: np.ndarray
    dram_bytes: np.ndarray
    energy_pj: np.ndarray
    macs: np.ndarray


@dataclass
class CostTable:
    """A validated cost table with fast per-(model, type) array lookups."""

    frame: pd.DataFrame
    source: str = "shipped"
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def models(self) -> list[str]:
        return sorted(self.frame["model"].unique())

    @property
    def accel_types(self) -> list[str]:
        return sorted(self.frame["accel_type"].unique())

    def n_layers(self, model: str) -> int:
        return len(self.get(model, self.accel_types[0]).cycles)

    def get(self, model: str, accel_type: str) -> ModelCost:
        key = (model, accel_type)
        mc = self._cache.get(key)
        if mc is None:
            g = self.frame[(self.frame["model"] == model) & (self.frame["accel_type"] == accel_type)]
            if g.empty:
                if model not in self.models:
                    raise InputError(f"model '{model}' is not in the cost table ({self.source}); use one of {self.models}")
                raise InputError(
                    f"accelerator type '{accel_type}' is not in the cost table ({self.source}); it has {self.accel_types}"
                )
            mc = ModelCost(
                g["cycles"].to_numpy(np.float64),
                g["dram_bytes"].to_numpy(np.float64),
                g["energy_pj"].to_numpy(np.float64),
                g["macs"].to_numpy(np.float64),
            )
            self._cache[key] = mc
        return mc

    def check_covers(self, models, accel_types, where: str) -> None:
        for t in accel_types:
            if t not in self.accel_types:
                raise InputError(f"{where}: accelerator type '{t}' has no costs in the cost table; it has {self.accel_types}")
        for m in models:
            if m not in self.models:
                raise InputError(f"{where}: model '{m}' is not in the cost table; use one of {self.models}")


def from_frame(df: pd.DataFrame, source: str = "cost table") -> CostTable:
    return CostTable(validate_cost_frame(df, source), source)


def load_cost_table(path: str | Path | None = None) -> CostTable:
    """Load the shipped table (``path=None``) or a user's CSV, validated."""
    p = SHIPPED if path is None else Path(path)
    if path is not None and p.is_dir():
        raise InputError(f"cost table '{p}' is a folder; give the path of a CSV file with columns {COLUMNS}")
    if not p.is_file():
        if path is None:
            raise InputError("the shipped cost table is missing; regenerate it with `fairsched costs build`")
        raise InputError(f"cost table '{p}' does not exist; give the path of a CSV with columns {COLUMNS}")
    import io

    from fairsched.io import decode_text, read_input_bytes

    text = decode_text(read_input_bytes(p, "cost table"), p, "cost table")  # size cap, UTF-8 only
    try:
        df = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        raise InputError(f"cost table '{p}' is not a readable CSV ({str(e).splitlines()[0]}); fix the file") from None
    return CostTable(validate_cost_frame(df, f"cost table '{p}'"), str(p))
