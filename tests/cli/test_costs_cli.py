"""`fairsched costs show / import / build`: JSON summary, and bad tables -> one error line, exit 2."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from fairsched.cli import main
from fairsched.costs.table import SHIPPED
from tests.reliability_util import run_cli


def run(capsys, args):
    with pytest.raises(SystemExit) as e:
        main(list(map(str, args)))
    out, err = capsys.readouterr()
    return e.value.code, out, err


def test_show_json_has_every_model_on_every_type(capsys):
    code, out, err = run(capsys, ["costs", "show", "--json"])
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) >= 8 * 3
    assert len({r["model"] for r in rows}) >= 8 and len({r["accel_type"] for r in rows}) >= 3
    for r in rows:
        for k in ("model", "accel_type", "layers", "macs", "latency_ms", "latency_unlimited_ms", "energy_mj"):
            assert k in r
        assert r["latency_ms"] >= r["latency_unlimited_ms"] > 0 and r["energy_mj"] > 0 and r["layers"] > 0
    r50 = next(r for r in rows if r["model"] == "resnet50" and r["accel_type"] == "simba_like")
    assert r50["macs"] == pytest.approx(4.09e9, rel=0.02)


def test_show_table_and_bandwidth_from_platform(tmp_path, capsys):
    slow = tmp_path / "slow.yaml"
    slow.write_text("name: slow\ndram_bandwidth_gbps: 1.0\nsub_accelerators:\n  - type: tpu_like\n    count: 1\n")
    code, out, _ = run(capsys, ["costs", "show", "--json", "--platform", slow])
    assert code == 0
    rows = {(r["model"], r["accel_type"]): r for r in json.loads(out)}
    r = rows[("vgg16", "tpu_like")]
    assert r["latency_ms"] > 2 * r["latency_unlimited_ms"]  # 1 GB/s: VGG-16's weights alone take > 100 ms
    code, out, _ = run(capsys, ["costs", "show"])
    assert code == 0 and "resnet50" in out


def small_table() -> pd.DataFrame:
    df = pd.read_csv(SHIPPED)
    return df[df.model.isin(["resnet18", "squeezenet"]) & df.accel_type.isin(["eyeriss_like", "simba_like"])]


def test_import_valid_table(tmp_path, capsys):
    src, dst = tmp_path / "mine.csv", tmp_path / "stored.csv"
    small_table().to_csv(src, index=False)
    code, out, err = run(capsys, ["costs", "import", src, "--out", dst])
    assert code == 0, err
    assert "valid cost table" in out and dst.is_file() and dst.with_name("stored.meta.json").is_file()


def _break(kind):
    df = small_table().copy()
    if kind == "missing column":
        return df.drop(columns=["cycles"]), "missing column"
    if kind == "zero cycles":
        df.iloc[5, df.columns.get_loc("cycles")] = 0
        return df, "'cycles' must be > 0"
    if kind == "negative cycles":
        df.iloc[0, df.columns.get_loc("cycles")] = -3
        return df, "'cycles' must be > 0"
    if kind == "unknown type":
        df["accel_type"] = df["accel_type"].replace("simba_like", "gpu_like")
        return df, "unknown accelerator type 'gpu_like'"
    if kind == "unknown model":
        df["model"] = df["model"].replace("squeezenet", "lenet")
        return df, "unknown model 'lenet'"
    if kind == "wrong layer count":
        return df[~((df.model == "resnet18") & (df.layer_index == 20))], "the zoo has 21"
    if kind == "text in cycles":
        df["cycles"] = df["cycles"].astype(object)
        df.iloc[2, df.columns.get_loc("cycles")] = "fast"
        return df, "non-numeric"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing column", "zero cycles", "negative cycles", "unknown type",
                                  "unknown model", "wrong layer count", "text in cycles"])
def test_import_bad_table_exits_2_with_one_clear_line(tmp_path, capsys, kind):
    df, expect = _break(kind)
    src, dst = tmp_path / "bad.csv", tmp_path / "stored.csv"
    df.to_csv(src, index=False)
    code, out, err = run(capsys, ["costs", "import", src, "--out", dst])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expect in lines[0], err
    assert "Traceback" not in err and not dst.exists()


def test_import_new_model_with_flag(tmp_path, capsys):
    df = small_table().copy()
    df["model"] = df["model"].replace("squeezenet", "my_net")
    src = tmp_path / "mine.csv"
    df.to_csv(src, index=False)
    code, out, err = run(capsys, ["costs", "import", src, "--allow-new-models"])
    assert code == 0 and "my_net" in err  # a warning, not an error


def test_build_rejects_unknown_names(capsys, tmp_path):
    pytest.importorskip("zigzag")  # without the costmodel extra, build stops at the missing zigzag first
    code, _, err = run(capsys, ["costs", "build", "--models", "resnet18,lenet", "--out", tmp_path / "x.csv"])
    assert code == 2 and "unknown model 'lenet'" in err
    code, _, err = run(capsys, ["costs", "build", "--types", "gpu_like", "--out", tmp_path / "x.csv"])
    assert code == 2 and "unknown accelerator type 'gpu_like'" in err


def test_real_executable_bad_csv(tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text("model,layer_index\nresnet18,0\n")
    p = run_cli(["costs", "import", src])
    assert p.returncode == 2 and p.stderr.startswith("error: ") and "missing column" in p.stderr
    assert "Traceback" not in p.stderr


def test_import_warns_about_a_row_faster_than_its_pe_array(tmp_path, capsys):
    df = small_table().copy()
    i = df.index[(df.model == "resnet18") & (df.accel_type == "simba_like") & (df.layer_index == 3)][0]
    df.loc[i, "cycles"] = 10  # far below MACs / 1024 PEs
    src = tmp_path / "mine.csv"
    df.to_csv(src, index=False)
    code, out, err = run(capsys, ["costs", "import", src])
    assert code == 0 and "physics:" in err and "layer 3" in err and "simba_like" in err and "MACs / PEs" in err
