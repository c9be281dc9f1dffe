"""Published silicon measurements, and the check of the cost model against them (`fairsched costs validate`).

Eyeriss v1 (Chen, Krishna, Emer, Sze, IEEE JSSC 52(1), 2017, "the paper"), measured on the chip at a
200 MHz core clock and a 60 MHz link clock:

* AlexNet CONV1-5 at batch 4 (the paper's Table V): total latency 20.9 / 41.9 / 23.6 / 18.4 / 10.5 ms
  (115.3 ms, 34.7 fps), processing latency 16.5 / 39.2 / 21.3 / 16.0 / 10.0 ms (103.5 ms in the table's total
  row), DRAM accesses 5.0 / 4.0 / 3.0 / 2.1 / 1.3 MB (15.4 MB), global-buffer (GLB) accesses 18.5 / 77.6 /
  50.2 / 37.4 / 24.9 MB;
* VGG-16 CONV1-1 .. CONV5-3 at batch 3 (Table VI): the same columns per layer, 4,309.5 ms total latency
  (0.7 fps), 3,755.2 ms processing, 321.1 MB of DRAM accesses, 11,035.8 MB of GLB accesses;
* "Each access is for a 16-b data value" (Table V's footnote), so the MB columns are bytes of 16-bit words.

The per-layer figures of Tables V and VI are typed in from the paper; a public transcription
(github.com/cucapra/fodlam, ``data/eyeriss-alexnet.csv`` and ``data/eyeriss-vgg16.csv``) was used to read
them and checked against the paper's own totals (tests/costs/test_silicon.py): the layer latencies add up
to the published totals within the 0.1 ms rounding of the table.

Predictions, per layer, from a cost table row (``cycles``, ``dram_bytes``) at the type's clock ``f``:

* processing = ``cycles / f`` (zigzag-dse's latency at unlimited DRAM bandwidth), compared with the
  paper's processing latency ("the performance when DRAM traffic is fully overlapped with processing");
* total = processing + ``fmap_bytes / B_link``: the chip "does not perform processing while it is loading
  ifmap from DRAM or dumping ofmaps to DRAM", while the filters of the next pass are preloaded into the
  GLB during processing (Sec. V-A), so the feature-map traffic adds to the processing time and the filter
  traffic does not. ``fmap_bytes`` is the layer's compulsory feature-map traffic (every input element a
  window reads, loaded once, and every output written once, 16 bits each, `physics.compulsory_elems`), as
  in the paper's pass scheduling ("each group of ifmaps is read from DRAM once", Sec. IV-A);
  ``B_link`` is the chip's published off-chip link: a 64-bit bus (Sec. III-A) at the 60 MHz link clock of
  the measurements (Tables V, VI), 480 MB/s. Nothing in this rule is fitted;
* overlapped = ``max(cycles / f, dram_bytes / B)``: the simulator's rule (double-buffered DRAM, with the
  model's whole DRAM traffic), printed beside it so one can see what the simulator assumes of such a chip.

The one calibrated parameter is the GLB-to-array bandwidth of the ``eyeriss_v1`` hardware file (fitted on
AlexNet's processing latency); VGG-16 is held out (docs/costs.md, "Calibration against silicon").
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fairsched.costs.physics import compulsory_elems
from fairsched.workload.zoo import LayerShape, conv_layers, get_model, with_batch

SOURCE_EYERISS = "Chen, Krishna, Emer, Sze, IEEE JSSC 52(1):127-138, 2017 (Eyeriss v1)"
VALIDATION_TABLE = Path(str(resources.files("fairsched.costs") / "data" / "validation_eyeriss_v1.csv"))
CHIP_PLATFORM = "eyeriss_v1_chip"
# The chip's off-chip link (the paper, Sec. III-A and the captions of Tables V/VI): a 64-bit bidirectional
# data bus in the link clock domain, run at 60 MHz in the measurements -> 480 MB/s, reads and writes shared.
LINK_BITS = 64
LINK_CLOCK_HZ = 60e6
LINK_BANDWIDTH = LINK_BITS * LINK_CLOCK_HZ / 8  # bytes/s
FMAP_BITS = 16  # 16-bit fixed point [chip]


@dataclass(frozen=True)
class Measurement:
    """One published measurement: a model's conv layers at a batch size on a chip, per layer."""

    chip: str  # the accelerator type configured like the chip
    model: str  # zoo model
    batch: int
    total_ms: tuple[float, ...]  # per layer
    processing_ms: tuple[float, ...]  # per layer
    role: str  # "calibration" or "held-out"
    source: str
    published_total_ms: float  # the table's total row (the layers add up to it within rounding)
    published_processing_ms: float
    dram_mb: tuple[float, ...] = ()  # per layer, published DRAM accesses x 2 B
    glb_mb: tuple[float, ...] = ()  # per layer, published GLB accesses x 2 B
    published_dram_mb: float | None = None
    dram_access_per_mac: float | None = None  # the abstract's figure (one access = one 16-bit word)

    @property
    def table_model(self) -> str:
        """The model's name in the validation cost table (conv layers at this batch)."""
        return f"{self.model}_conv_b{self.batch}"

    def layers(self) -> list[LayerShape]:
        return conv_layers(with_batch(get_model(self.model), self.batch))


MEASUREMENTS: tuple[Measurement, ...] = (
    Measurement("eyeriss_v1", "alexnet", 4,
                (20.9, 41.9, 23.6, 18.4, 10.5), (16.5, 39.2, 21.3, 16.0, 10.0),
                "calibration", SOURCE_EYERISS + ", Table V", 115.3, 103.5,
                dram_mb=(5.0, 4.0, 3.0, 2.1, 1.3), glb_mb=(18.5, 77.6, 50.2, 37.4, 24.9),
                published_dram_mb=15.4, dram_access_per_mac=0.0029),
    Measurement("eyeriss_v1", "vgg16", 3,
                (76.2, 910.3, 470.3, 894.3, 241.1, 460.9, 457.7, 135.8, 254.8, 246.3, 54.3, 53.7, 53.7),
                (38.0, 810.6, 405.3, 810.8, 204.0, 408.1, 408.1, 105.1, 210.0, 210.0, 48.3, 48.5, 48.5),
                "held-out", SOURCE_EYERISS + ", Table VI", 4309.5, 3755.2,
                dram_mb=(15.4, 54.0, 33.4, 48.5, 20.2, 32.2, 30.8, 17.8, 20.6, 22.8, 6.3, 5.7, 5.6),
                glb_mb=(112.5, 2402.8, 1201.4, 2402.3, 607.4, 1214.8, 1214.8, 321.3, 643.7, 643.7, 90.0, 90.0,
                        90.0),
                published_dram_mb=321.1, dram_access_per_mac=0.0035),
)
# Acceptance bounds of the calibration: every AlexNet conv layer within 25%, its total within 15%, VGG-16 within 25%.
BOUNDS = {"calibration_layer": 0.25, "calibration_total": 0.15, "held_out_total": 0.25}


def validation_zoo(chip: str = "eyeriss_v1") -> dict[str, list[LayerShape]]:
    return {m.table_model: m.layers() for m in MEASUREMENTS if m.chip == chip}


def fmap_bytes(layer: LayerShape, bits: int = FMAP_BITS) -> int:
    """Compulsory feature-map traffic of one layer: inputs some window reads, loaded once, plus outputs."""
    _, inputs, outputs = compulsory_elems(layer)
    return (inputs + outputs) * bits // 8


@dataclass(frozen=True)
class Row:
    model: str
    layer: str
    role: str
    measured_total_ms: float | None
    measured_processing_ms: float | None
    processing_ms: float
    dram_mb: float  # the model's DRAM traffic (all operands)
    fmap_mb: float  # compulsory feature-map traffic (the part the chip does not overlap)
    serial_ms: float  # processing + fmap traffic / link bandwidth: compared with the chip
    overlapped_ms: float  # max(processing, DRAM / B): the simulator's rule
    measured_dram_mb: float | None = None
    measured_glb_mb: float | None = None

    def error(self, predicted: float, measured: float | None) -> float | None:
        return None if measured is None else predicted / measured - 1.0


def compare(table, clock_hz: float, link_bandwidth: float = LINK_BANDWIDTH, chip: str = "eyeriss_v1",
            sim_bandwidth: float | None = None) -> list[Row]:
    """Per layer (and per model total) predicted vs measured latency; ``table`` is a CostTable.

    ``link_bandwidth`` (bytes/s) carries the non-overlapped feature-map traffic; ``sim_bandwidth`` (default
    the same) is the bandwidth of the simulator's overlapped rule."""
    sim_bw = link_bandwidth if sim_bandwidth is None else sim_bandwidth
    rows: list[Row] = []
    for m in MEASUREMENTS:
        if m.chip != chip:
            continue
        c = table.get(m.table_model, chip)
        names = table.frame[(table.frame.model == m.table_model) & (table.frame.accel_type == chip)]["layer_name"]
        layers = m.layers()
        proc = c.cycles / clock_hz * 1e3
        fmap = [fmap_bytes(x) for x in layers]
        serial = [p + f / link_bandwidth * 1e3 for p, f in zip(proc, fmap)]
        over = [max(p, d / sim_bw * 1e3) for p, d in zip(proc, c.dram_bytes)]
        for i, name in enumerate(names):
            rows.append(Row(m.table_model, str(name), m.role, m.total_ms[i], m.processing_ms[i],
                            float(proc[i]), float(c.dram_bytes[i] / 1e6), fmap[i] / 1e6, float(serial[i]),
                            float(over[i]), m.dram_mb[i] if m.dram_mb else None,
                            m.glb_mb[i] if m.glb_mb else None))
        rows.append(Row(m.table_model, "total", m.role, m.published_total_ms, m.published_processing_ms,
                        float(proc.sum()), float(c.dram_bytes.sum() / 1e6), sum(fmap) / 1e6, float(sum(serial)),
                        float(sum(over)), m.published_dram_mb, float(sum(m.glb_mb)) if m.glb_mb else None))
    return rows


def verdicts(rows: list[Row]) -> list[tuple[str, bool, str]]:
    """(what, met, figure) for each acceptance bound, on the total-latency rule: every calibration layer and
    its total, and the held-out model's total (its layers are printed, not judged)."""
    out = []
    for r in rows:
        if r.measured_total_ms is None or (r.role != "calibration" and r.layer != "total"):
            continue
        err = r.serial_ms / r.measured_total_ms - 1
        if r.role == "calibration":
            bound = BOUNDS["calibration_total"] if r.layer == "total" else BOUNDS["calibration_layer"]
        else:
            bound = BOUNDS["held_out_total"]
        out.append((f"{r.model} {r.layer}", abs(err) <= bound, f"{100 * err:+.1f}% (bound {100 * bound:.0f}%)"))
    return out


def implied_link_bandwidth(table, clock_hz: float, chip: str = "eyeriss_v1") -> float | None:
    """The link bandwidth (bytes/s) at which the total rule would match the calibration model's measured
    total exactly: ``total = sum(cycles) / f + sum(fmap_bytes) / B``. Not used for prediction (the published
    480 MB/s is); printed as a consistency check. None if the predicted processing time alone already
    exceeds the measured total."""
    for m in MEASUREMENTS:
        if m.chip == chip and m.role == "calibration":
            c = table.get(m.table_model, chip)
            slack = m.published_total_ms / 1e3 - c.cycles.sum() / clock_hz
            fmap = sum(fmap_bytes(x) for x in m.layers())
            return float(fmap / slack) if slack > 0 else None
    return None
