"""Platform configuration: YAML -> pydantic schema check -> typed :class:`Platform`.

Raw dicts never get past this module (the ZigZag parser pattern). An accelerator *type* is a
dataflow family with its PE array, buffers and clock (one YAML file per type under
``data/accelerators``); a *platform* instantiates types as sub-accelerators that share one
off-chip DRAM of bandwidth ``B``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator

from fairsched.errors import InputError, pydantic_message
from fairsched.io import load_yaml, shipped_or_path
from fairsched.validate import StrictModel

DATA = Path(str(resources.files("fairsched.platform") / "data"))
ACCEL_DIR = DATA / "accelerators"
PLATFORM_DIR = DATA / "platforms"


class AcceleratorType(StrictModel):
    """One accelerator type (schema of ``data/accelerators/<name>.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str
    dataflow: str
    clock_mhz: float = Field(gt=0)
    idle_power_mw: float = Field(ge=0)
    description: str = ""
    source: str = ""
    zigzag_hardware: str | None = None  # relative to the folder of the type YAML
    zigzag_mapping: str | None = None
    # How layers are unrolled on the PE array: None = as the zigzag mapping file says; "row_stationary" =
    # per layer, filter rows x input channels down the array's rows and output rows across its columns.
    spatial_rule: Literal["row_stationary"] | None = None
    # Bits per operand element (W weights, I inputs, O partial sums, O_final outputs written out).
    operand_precision_bits: "OperandPrecision | None" = None

    @property
    def precision(self) -> dict[str, int]:
        p = self.operand_precision_bits or OperandPrecision()
        return {"W": p.W, "I": p.I, "O": p.O, "O_final": p.O_final}


class OperandPrecision(StrictModel):
    """Operand precision of a type, in bits (default: 8-bit weights and activations, 16-bit psums)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    W: int = Field(default=8, ge=1, le=64)
    I: int = Field(default=8, ge=1, le=64)
    O: int = Field(default=16, ge=1, le=64)
    O_final: int = Field(default=8, ge=1, le=64)


AcceleratorType.model_rebuild()


class SubAcceleratorGroup(StrictModel):

    type: str
    count: int = Field(ge=1, le=4096)
    clock_mhz: float | None = Field(default=None, gt=0, description="override the type's clock")


class PlatformConfig(StrictModel):
    """Schema of a platform YAML file (unknown keys, inf/nan, stray booleans refused)."""

    name: str = "platform"
    dram_bandwidth_gbps: float = Field(gt=0, description="shared off-chip bandwidth, GB/s (1e9 bytes/s)")
    sub_accelerators: list[SubAcceleratorGroup] = Field(min_length=1, max_length=4096)
    description: str = ""

    @field_validator("sub_accelerators")
    @classmethod
    def _nonempty(cls, v):
        if not v:
            raise ValueError("list at least one sub-accelerator group")
        return v


@dataclass(frozen=True, slots=True)
class SubAccelerator:
    index: int
    type: str
    clock_hz: float
    idle_power_w: float


@dataclass(frozen=True)
class Platform:
    """A resolved platform: what the simulator runs on."""

    name: str
    bandwidth: float  # bytes / s
    subs: tuple[SubAccelerator, ...]
    types: dict[str, AcceleratorType]

    @property
    def n(self) -> int:
        return len(self.subs)

    @property
    def type_names(self) -> list[str]:
        """Distinct types present, in first-appearance order."""
        return list(dict.fromkeys(s.type for s in self.subs))

    @classmethod
    def build(cls, groups: list[tuple[str, int, float, float]], bandwidth: float, name: str = "custom") -> "Platform":
        """Build a platform in code: ``groups`` of ``(type, count, clock_hz, idle_power_w)``;
        ``bandwidth`` in bytes/s. Handy for tests and hand-computed cases."""
        subs, types = [], {}
        for t, count, clock, idle in groups:
            types[t] = AcceleratorType(name=t, dataflow="custom", clock_mhz=clock / 1e6, idle_power_mw=idle * 1e3)
            for _ in range(count):
                subs.append(SubAccelerator(len(subs), t, float(clock), float(idle)))
        return cls(name, float(bandwidth), tuple(subs), types)

    def describe(self) -> str:
        counts: dict[str, int] = {}
        for s in self.subs:
            counts[s.type] = counts.get(s.type, 0) + 1
        parts = ", ".join(f"{c}x {t}" for t, c in counts.items())
        return f"{self.name}: {parts}, DRAM {self.bandwidth / 1e9:g} GB/s"


def available_accelerator_types() -> list[str]:
    return sorted(p.stem for p in ACCEL_DIR.glob("*.yaml"))


def accelerator_type_path(name_or_path: str | Path) -> Path:
    """The YAML file of a type: a shipped name (``eyeriss_like``) or a path to a user's type YAML."""
    return shipped_or_path(name_or_path, ACCEL_DIR, "accelerator type")


def load_accelerator_type(name_or_path: str | Path) -> AcceleratorType:
    """Load a type by shipped name (``eyeriss_like``) or by YAML path."""
    p = accelerator_type_path(name_or_path)
    raw = load_yaml(p, "accelerator type")
    try:
        t = AcceleratorType.model_validate(raw)
    except ValidationError as e:
        raise InputError(pydantic_message(f"accelerator type '{p}'", e)) from None
    return t


def load_platform(spec: str | Path | dict = "default") -> Platform:
    """Load a platform: shipped name (``default``), YAML path, or an already-parsed dict."""
    if isinstance(spec, dict):
        raw, where = spec, "platform"
    else:
        p = shipped_or_path(spec, PLATFORM_DIR, "platform")
        raw, where = load_yaml(p, "platform"), f"platform '{p}'"
    try:
        cfg = PlatformConfig.model_validate(raw)
    except ValidationError as e:
        raise InputError(pydantic_message(where, e)) from None
    n_subs = sum(g.count for g in cfg.sub_accelerators)
    if n_subs > 4096:
        raise InputError(f"{where}: sub_accelerators: {n_subs} sub-accelerators in all, more than 4096; use fewer")
    types: dict[str, AcceleratorType] = {}
    subs: list[SubAccelerator] = []
    for gi, g in enumerate(cfg.sub_accelerators):
        if g.type not in types:
            try:
                types[g.type] = load_accelerator_type(g.type)
            except InputError as e:
                raise InputError(f"{where}: sub_accelerators.{gi}.type: {e}") from None
        t = types[g.type]
        clock = (g.clock_mhz or t.clock_mhz) * 1e6
        for _ in range(g.count):
            subs.append(SubAccelerator(len(subs), t.name, clock, t.idle_power_mw * 1e-3))
    return Platform(cfg.name, cfg.dram_bandwidth_gbps * 1e9, tuple(subs), types)
