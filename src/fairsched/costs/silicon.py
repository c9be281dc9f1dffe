"""Published silicon measurements, and the check of the cost model against them (`fairsched costs validate`).

Eyeriss v1 (Chen, Krishna, Emer, Sze, IEEE JSSC 52(1), 2017), measured on the chip at a 200 MHz core clock:

* AlexNet CONV1-5 at batch 4 (the paper's Table V): total latency 20.9 / 41.9 / 23.6 / 18.4 / 10.5 ms
  (115.3 ms, 34.7 fps), of which processing 16.5 / 39.2 / 21.3 / 16.0 / 10.0 ms;
* VGG-16 CONV layers at batch 3: 4,309.5 ms in all (0.7 fps);
* DRAM accesses per MAC (the paper's abstract): 0.0029 for AlexNet, 0.0035 for VGG-16. We read one access
  as one 16-bit word (2 bytes), which gives 15.4 MB for AlexNet's CONV layers at batch 4.

The type ``eyeriss_v1`` is configured like the chip; its two parameters the paper does not state (the
global-buffer-to-array bandwidth, in the zigzag hardware file, and the effective DRAM bandwidth, in the
``eyeriss_v1_chip`` platform) were calibrated once on AlexNet; VGG-16 is held out (docs/costs.md).

Predictions, per layer, from a cost table row (``cycles``, ``dram_bytes``) at the type's clock ``f`` and
the platform's bandwidth ``B``:

* processing = ``cycles / f`` (zigzag-dse's latency at unlimited DRAM bandwidth);
* total, serial = ``cycles / f + dram_bytes / B``: the paper reports processing and total latency apart,
  so the difference is taken as DRAM time not overlapped with processing; this is the rule compared with
  the chip;
* total, overlapped = ``max(cycles / f, dram_bytes / B)``: the simulator's rule (double-buffered DRAM),
  printed beside it so one can see what the simulator assumes of such a chip.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fairsched.workload.zoo import LayerShape, conv_layers, get_model, with_batch

SOURCE_EYERISS = "Chen, Krishna, Emer, Sze, IEEE JSSC 52(1):127-138, 2017 (Eyeriss v1)"
VALIDATION_TABLE = Path(str(resources.files("fairsched.costs") / "data" / "validation_eyeriss_v1.csv"))
CHIP_PLATFORM = "eyeriss_v1_chip"


@dataclass(frozen=True)
class Measurement:
    """One published measurement: a model's conv layers at a batch size on a chip."""

    chip: str  # the accelerator type configured like the chip
    model: str  # zoo model
    batch: int
    total_ms: tuple[float, ...]  # per layer, or one figure for the whole set of layers
    processing_ms: tuple[float, ...] | None
    role: str  # "calibration" or "held-out"
    source: str
    dram_access_per_mac: float | None = None  # published; one access = one 16-bit word (our reading)

    def dram_mb(self) -> float | None:
        if self.dram_access_per_mac is None:
            return None
        return self.dram_access_per_mac * sum(x.macs for x in self.layers()) * 2 / 1e6

    @property
    def table_model(self) -> str:
        """The model's name in the validation cost table (conv layers at this batch)."""
        return f"{self.model}_conv_b{self.batch}"

    def layers(self) -> list[LayerShape]:
        return conv_layers(with_batch(get_model(self.model), self.batch))

    @property
    def per_layer(self) -> bool:
        return len(self.total_ms) > 1


MEASUREMENTS: tuple[Measurement, ...] = (
    Measurement("eyeriss_v1", "alexnet", 4, (20.9, 41.9, 23.6, 18.4, 10.5), (16.5, 39.2, 21.3, 16.0, 10.0),
                "calibration", SOURCE_EYERISS + ", Table V", 0.0029),
    Measurement("eyeriss_v1", "vgg16", 3, (4309.5,), None, "held-out", SOURCE_EYERISS + " (0.7 fps)", 0.0035),
)
# Acceptance bounds of the calibration: every AlexNet conv layer within 25%, its total within 15%, VGG-16 within 25%.
BOUNDS = {"calibration_layer": 0.25, "calibration_total": 0.15, "held_out_total": 0.25}


def validation_zoo(chip: str = "eyeriss_v1") -> dict[str, list[LayerShape]]:
    return {m.table_model: m.layers() for m in MEASUREMENTS if m.chip == chip}


@dataclass(frozen=True)
class Row:
    model: str
    layer: str
    role: str
    measured_total_ms: float | None
    measured_processing_ms: float | None
    processing_ms: float
    dram_mb: float
    serial_ms: float
    overlapped_ms: float
    measured_dram_mb: float | None = None

    def error(self, predicted: float, measured: float | None) -> float | None:
        return None if measured is None else predicted / measured - 1.0


def compare(table, clock_hz: float, bandwidth: float, chip: str = "eyeriss_v1") -> list[Row]:
    """Per layer (and per model total) predicted vs measured latency; ``table`` is a CostTable."""
    rows: list[Row] = []
    for m in MEASUREMENTS:
        if m.chip != chip:
            continue
        c = table.get(m.table_model, chip)
        names = table.frame[(table.frame.model == m.table_model) & (table.frame.accel_type == chip)]["layer_name"]
        proc = c.cycles / clock_hz * 1e3
        mem = c.dram_bytes / bandwidth * 1e3
        for i, name in enumerate(names):
            rows.append(Row(m.table_model, str(name), m.role,
                            m.total_ms[i] if m.per_layer else None,
                            m.processing_ms[i] if m.processing_ms else None,
                            float(proc[i]), float(c.dram_bytes[i] / 1e6), float(proc[i] + mem[i]),
                            float(max(proc[i], mem[i]))))
        rows.append(Row(m.table_model, "total", m.role, float(sum(m.total_ms)),
                        float(sum(m.processing_ms)) if m.processing_ms else None,
                        float(proc.sum()), float(c.dram_bytes.sum() / 1e6), float((proc + mem).sum()),
                        float(sum(max(a, b) for a, b in zip(proc, mem))), m.dram_mb()))
    return rows


def verdicts(rows: list[Row]) -> list[tuple[str, bool, str]]:
    """(what, met, figure) for each acceptance bound, on the serial total rule."""
    out = []
    for r in rows:
        if r.measured_total_ms is None:
            continue
        err = r.serial_ms / r.measured_total_ms - 1
        if r.role == "calibration":
            bound = BOUNDS["calibration_total"] if r.layer == "total" else BOUNDS["calibration_layer"]
        else:
            bound = BOUNDS["held_out_total"]
        out.append((f"{r.model} {r.layer}", abs(err) <= bound, f"{100 * err:+.1f}% (bound {100 * bound:.0f}%)"))
    return out


def calibrate_bandwidth(table, clock_hz: float, chip: str = "eyeriss_v1") -> float | None:
    """The DRAM bandwidth (bytes/s) at which the serial rule matches the calibration model's total latency:
    ``sum(measured total) = sum(cycles) / f + sum(dram_bytes) / B``. None if the predicted processing time
    alone already exceeds the measured total (then no bandwidth fits)."""
    for m in MEASUREMENTS:
        if m.chip == chip and m.role == "calibration":
            c = table.get(m.table_model, chip)
            slack = sum(m.total_ms) / 1e3 - c.cycles.sum() / clock_hz
            return float(c.dram_bytes.sum() / slack) if slack > 0 else None
    return None
