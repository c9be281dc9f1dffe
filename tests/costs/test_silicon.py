"""`fairsched costs validate`: predicted vs measured latency of the Eyeriss v1 chip.

The arithmetic is checked on a hand-made table (1 ms = 200,000 cycles at 200 MHz; 1 MB at 1 GB/s = 1 ms);
the shipped validation rows are checked to cover the published layers. The measured figures are the
paper's (Chen et al., JSSC 2017, Table V; VGG-16 at 0.7 fps).
"""

from __future__ import annotations

import pandas as pd
import pytest

from fairsched.costs import silicon
from fairsched.costs.table import COLUMNS, from_frame


def test_the_published_figures_add_up():
    alex, vgg = silicon.MEASUREMENTS
    assert sum(alex.total_ms) == pytest.approx(115.3) and sum(alex.processing_ms) == pytest.approx(103.0)
    assert 1000 * 4 / sum(alex.total_ms) == pytest.approx(34.7, abs=0.05)  # 34.7 fps at batch 4
    assert 1000 * 3 / vgg.total_ms[0] == pytest.approx(0.7, abs=0.01)  # 0.7 fps at batch 3
    assert alex.role == "calibration" and vgg.role == "held-out"
    assert [x.batch for x in alex.layers()] == [4] * 5 and len(vgg.layers()) == 13


def _table(proc_ms, dram_mb):
    rows = []
    for name, m in (("alexnet_conv_b4", silicon.MEASUREMENTS[0]), ("vgg16_conv_b3", silicon.MEASUREMENTS[1])):
        for i, x in enumerate(m.layers()):
            p = proc_ms[i] if name.startswith("alex") else 100.0
            rows.append([name, i, x.name, x.kind, "eyeriss_v1", x.macs, int(p * 200_000), int(dram_mb * 1e6), 1.0])
    return from_frame(pd.DataFrame(rows, columns=COLUMNS))


def test_compare_by_hand():
    t = _table([16.5, 39.2, 21.3, 16.0, 10.0], dram_mb=2.0)
    rows = silicon.compare(t, clock_hz=200e6, bandwidth=1e9)
    conv1 = rows[0]
    assert (conv1.model, conv1.layer, conv1.measured_total_ms) == ("alexnet_conv_b4", "conv1", 20.9)
    assert conv1.processing_ms == pytest.approx(16.5) and conv1.dram_mb == pytest.approx(2.0)
    assert conv1.serial_ms == pytest.approx(18.5) and conv1.overlapped_ms == pytest.approx(16.5)
    total = rows[5]
    assert total.layer == "total" and total.processing_ms == pytest.approx(103.0)
    assert total.serial_ms == pytest.approx(113.0) and total.measured_total_ms == pytest.approx(115.3)
    vgg = rows[-1]
    assert vgg.layer == "total" and vgg.serial_ms == pytest.approx(13 * 102.0)
    assert vgg.measured_total_ms == pytest.approx(4309.5)
    v = dict((w, (ok, fig)) for w, ok, fig in silicon.verdicts(rows))
    assert v["alexnet_conv_b4 conv1"][0] is True  # -11.5% within 25%
    assert v["alexnet_conv_b4 total"][0] is True  # -2.0% within 15%
    assert v["vgg16_conv_b3 total"][0] is False  # 1,326 ms vs 4,309.5 ms


def test_shipped_validation_rows_cover_the_published_layers():
    from fairsched.costs.table import load_cost_table

    t = load_cost_table(silicon.VALIDATION_TABLE)
    assert t.accel_types == ["eyeriss_v1"]
    for m in silicon.MEASUREMENTS:
        c = t.get(m.table_model, "eyeriss_v1")
        assert c.macs.tolist() == [x.macs for x in m.layers()]
        assert (c.cycles >= c.macs / 168).all()  # no faster than 168 PEs


def test_published_dram_accesses_in_megabytes():
    alex, vgg = silicon.MEASUREMENTS
    assert alex.dram_mb() == pytest.approx(0.0029 * 4 * 665_784_864 * 2 / 1e6)  # 15.4 MB
    assert alex.dram_mb() == pytest.approx(15.4, abs=0.05)


def test_calibrated_bandwidth_closes_the_total_by_hand():
    # processing 103.0 ms predicted exactly, 5 x 2 MB of DRAM traffic; measured total 115.3 ms
    # -> 10 MB must take 12.3 ms -> B = 10e6 / 12.3e-3 bytes/s
    t = _table([16.5, 39.2, 21.3, 16.0, 10.0], dram_mb=2.0)
    b = silicon.calibrate_bandwidth(t, 200e6)
    assert b == pytest.approx(10e6 / 12.3e-3, rel=1e-6)
    assert silicon.calibrate_bandwidth(_table([30.0] * 5, dram_mb=2.0), 200e6) is None  # 150 ms > 115.3 ms


def test_shipped_validation_rows_are_the_current_eyeriss_v1():
    """The shipped rows were built from the shipped eyeriss_v1 files (editing them without a rebuild fails)."""
    import json

    from fairsched.costs import build

    path = silicon.VALIDATION_TABLE
    cache = build.read_cache(path.with_name(path.stem + build.CACHE_SUFFIX))
    meta = json.loads(path.with_name(path.stem + ".meta.json").read_text())
    digest = build.type_files("eyeriss_v1").digest()
    assert meta["types"]["eyeriss_v1"]["content_sha256_16"] == digest
    df = pd.read_csv(path)
    for m in silicon.MEASUREMENTS:
        g = df[df.model == m.table_model].sort_values("layer_index")
        for layer, cycles in zip(m.layers(), g["cycles"]):
            rec = cache[build.job_key(layer, digest, "eyeriss_v1", meta["build"]["opt"], meta["build"]["lpf_limit"],
                                      meta["zigzag_version"])]
            assert rec["cycles"] == cycles


def _cli(capsys, args):
    from fairsched.cli import main

    with pytest.raises(SystemExit) as e:
        main(list(map(str, args)))
    out, err = capsys.readouterr()
    return e.value.code, out, err


def test_validate_command_prints_every_layer_and_a_verdict_per_bound(capsys):
    import json

    code, out, err = _cli(capsys, ["costs", "validate"])
    assert code == 0, err
    verdicts = [line for line in out.splitlines() if line.startswith(("PASS ", "FAIL "))]
    assert len(verdicts) == 5 + 1 + 1  # 5 AlexNet layers, AlexNet total, VGG-16 total
    code, out, _ = _cli(capsys, ["costs", "validate", "--json"])
    rows = json.loads(out)
    assert [r["layer"] for r in rows[:6]] == ["conv1", "conv2", "conv3", "conv4", "conv5", "total"]
    assert rows[0]["measured_total_ms"] == 20.9 and rows[0]["measured_processing_ms"] == 16.5
    assert len(rows) == 6 + 14


def test_validate_bad_table_is_one_error_line(tmp_path, capsys):
    code, _, err = _cli(capsys, ["costs", "validate", "--table", tmp_path / "nope.csv"])
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
