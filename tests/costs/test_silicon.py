"""`fairsched costs validate`: predicted vs measured latency of the Eyeriss v1 chip.

The arithmetic is checked on a hand-made table (1 ms = 200,000 cycles at 200 MHz; 1 MB at 1 GB/s = 1 ms)
and hand-counted feature maps; the shipped validation rows are checked to cover the published layers. The
measured figures are the paper's (Chen et al., JSSC 2017, Tables V and VI), checked against its totals.
"""

from __future__ import annotations

import pandas as pd
import pytest

from fairsched.costs import silicon
from fairsched.costs.table import COLUMNS, from_frame


def test_the_published_figures_add_up():
    """The per-layer figures (typed in from Tables V and VI) add up to the paper's own totals: an independent
    check of the transcription, to the table's rounding (0.1 ms / 0.1 MB per layer)."""
    alex, vgg = silicon.MEASUREMENTS
    assert sum(alex.total_ms) == pytest.approx(alex.published_total_ms) == pytest.approx(115.3)
    assert sum(alex.processing_ms) == pytest.approx(103.0)  # Table V's total row says 103.5
    assert sum(alex.dram_mb) == pytest.approx(alex.published_dram_mb) == pytest.approx(15.4)
    assert sum(alex.glb_mb) == pytest.approx(208.5, abs=0.25)
    assert 1000 * 4 / alex.published_total_ms == pytest.approx(34.7, abs=0.05)  # 34.7 fps at batch 4
    assert len(vgg.total_ms) == len(vgg.processing_ms) == len(vgg.dram_mb) == len(vgg.glb_mb) == 13
    assert sum(vgg.total_ms) == pytest.approx(vgg.published_total_ms, abs=13 * 0.05)  # 4,309.5 ms
    assert sum(vgg.processing_ms) == pytest.approx(vgg.published_processing_ms, abs=13 * 0.05)  # 3,755.2 ms
    assert sum(vgg.glb_mb) == pytest.approx(11035.8, abs=1.5)
    assert all(p <= t for p, t in zip(vgg.processing_ms, vgg.total_ms))  # processing is part of the total
    assert 1000 * 3 / vgg.published_total_ms == pytest.approx(0.7, abs=0.01)  # 0.7 fps at batch 3
    assert alex.role == "calibration" and vgg.role == "held-out"
    assert [x.batch for x in alex.layers()] == [4] * 5 and len(vgg.layers()) == 13


def test_published_dram_accesses_agree_with_the_abstract():
    # abstract: 0.0029 / 0.0035 DRAM accesses per MAC, one access = one 16-bit word (Table V's footnote)
    for m in silicon.MEASUREMENTS:
        macs = sum(x.macs for x in m.layers())
        assert m.dram_access_per_mac * macs * 2 / 1e6 == pytest.approx(m.published_dram_mb, rel=0.01)


def test_link_bandwidth_is_the_published_bus():
    from fairsched.platform.config import load_platform

    assert silicon.LINK_BANDWIDTH == 64 * 60e6 / 8 == 480e6  # 64-bit bus at the 60 MHz link clock
    assert load_platform(silicon.CHIP_PLATFORM).bandwidth == pytest.approx(480e6)


def test_fmap_bytes_by_hand():
    alex, vgg = silicon.MEASUREMENTS
    a = alex.layers()
    # conv1: 227 x 227 x 3 input (stride 4, 11 wide, 55 out: (55 - 1) * 4 + 11 = 227, all read), 55 x 55 x 96
    # output, batch 4, 2 bytes each
    assert silicon.fmap_bytes(a[0]) == 2 * 4 * (227 * 227 * 3 + 55 * 55 * 96) == 3_559_896
    # conv4 (2 groups of 192 channels): 13 x 13 x 384 in, 13 x 13 x 384 out
    assert silicon.fmap_bytes(a[3]) == 2 * 4 * (13 * 13 * 384 * 2) == 1_038_336
    # VGG conv1_1, batch 3: 224 x 224 x 3 in, 224 x 224 x 64 out
    assert silicon.fmap_bytes(vgg.layers()[0]) == 2 * 3 * 224 * 224 * (3 + 64) == 20_170_752


def _table(proc_ms, dram_mb):
    rows = []
    for name, m in (("alexnet_conv_b4", silicon.MEASUREMENTS[0]), ("vgg16_conv_b3", silicon.MEASUREMENTS[1])):
        for i, x in enumerate(m.layers()):
            p = proc_ms[i] if name.startswith("alex") else 100.0
            rows.append([name, i, x.name, x.kind, "eyeriss_v1", x.macs, int(p * 200_000), int(dram_mb * 1e6), 1.0])
    return from_frame(pd.DataFrame(rows, columns=COLUMNS))


def test_compare_by_hand():
    t = _table([16.5, 39.2, 21.3, 16.0, 10.0], dram_mb=2.0)
    rows = silicon.compare(t, clock_hz=200e6, link_bandwidth=1e9)
    conv1 = rows[0]
    assert (conv1.model, conv1.layer, conv1.measured_total_ms) == ("alexnet_conv_b4", "conv1", 20.9)
    assert conv1.measured_dram_mb == 5.0 and conv1.measured_glb_mb == 18.5
    assert conv1.processing_ms == pytest.approx(16.5) and conv1.dram_mb == pytest.approx(2.0)
    # total = processing + feature maps (3,559,896 B, test above) at 1 GB/s; overlapped = max(16.5, 2 ms)
    assert conv1.fmap_mb == pytest.approx(3.559896)
    assert conv1.serial_ms == pytest.approx(16.5 + 3.559896) and conv1.overlapped_ms == pytest.approx(16.5)
    total = rows[5]
    assert total.layer == "total" and total.processing_ms == pytest.approx(103.0)
    # AlexNet's five layers: 4,190,828 feature-map elements = 8,381,656 B -> 8.381656 ms at 1 GB/s
    assert total.fmap_mb == pytest.approx(8.381656)
    assert total.serial_ms == pytest.approx(103.0 + 8.381656) and total.measured_total_ms == pytest.approx(115.3)
    assert total.measured_processing_ms == 103.5 and total.measured_dram_mb == 15.4
    vgg = rows[-1]
    assert vgg.layer == "total" and vgg.processing_ms == pytest.approx(13 * 100.0)
    assert vgg.measured_total_ms == pytest.approx(4309.5) and vgg.measured_processing_ms == pytest.approx(3755.2)
    v = dict((w, (ok, fig)) for w, ok, fig in silicon.verdicts(rows))
    assert set(v) == {f"alexnet_conv_b4 conv{i}" for i in range(1, 6)} | {"alexnet_conv_b4 total",
                                                                          "vgg16_conv_b3 total"}
    assert v["alexnet_conv_b4 conv1"][0] is True  # 20.06 vs 20.9 ms: -4.0%, within 25%
    assert v["alexnet_conv_b4 total"][0] is True  # 111.4 vs 115.3 ms: -3.4%, within 15%
    assert v["vgg16_conv_b3 total"][0] is False  # about 1,440 ms vs 4,309.5 ms
    # the simulator's rule with a slow bus: 2 MB at 0.1 GB/s = 20 ms > 16.5 ms of processing
    slow = silicon.compare(t, clock_hz=200e6, link_bandwidth=1e9, sim_bandwidth=1e8)
    assert slow[0].overlapped_ms == pytest.approx(20.0) and slow[0].serial_ms == pytest.approx(conv1.serial_ms)


def test_shipped_validation_rows_cover_the_published_layers():
    from fairsched.costs.table import load_cost_table

    t = load_cost_table(silicon.VALIDATION_TABLE)
    assert t.accel_types == ["eyeriss_v1"]
    for m in silicon.MEASUREMENTS:
        c = t.get(m.table_model, "eyeriss_v1")
        assert c.macs.tolist() == [x.macs for x in m.layers()]
        assert (c.cycles >= c.macs / 168).all()  # no faster than 168 PEs


def test_implied_link_bandwidth_by_hand():
    # processing 103.0 ms predicted, measured total 115.3 ms -> the 8,381,656 B of feature maps must take
    # 12.3 ms -> B = 8,381,656 / 12.3e-3 bytes/s
    t = _table([16.5, 39.2, 21.3, 16.0, 10.0], dram_mb=2.0)
    assert silicon.implied_link_bandwidth(t, 200e6) == pytest.approx(8_381_656 / 12.3e-3, rel=1e-9)
    assert silicon.implied_link_bandwidth(_table([30.0] * 5, dram_mb=2.0), 200e6) is None  # 150 ms > 115.3 ms


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


def test_shipped_validation_rows_pass_the_physics_check():
    from fairsched.costs.physics import check_physics, type_limits
    from fairsched.costs.table import load_cost_table

    t = load_cost_table(silicon.VALIDATION_TABLE)
    limits = {x: type_limits(x) for x in t.accel_types}
    assert limits["eyeriss_v1"].pes == 168 and limits["eyeriss_v1"].precision["I"] == 16
    assert check_physics(t.frame, silicon.validation_zoo(), limits) == []
