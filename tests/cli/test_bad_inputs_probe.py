"""More bad inputs, one per class an outside probe found mishandled (issue 15), through the real CLI.

Same contract as ``test_bad_inputs.py``: exit code 2, exactly one ``error:`` line that names the
field, no traceback, nothing written (``--out`` absent afterwards, special files left as they were).
Classes: YAML that ``yaml.safe_load`` accepts silently or crashes on (duplicate keys, aliases and
alias bombs, deep nesting, non-UTF-8 text, stray booleans), numbers that are valid but overflow
later (huge requests and seeds, tiny loads, 1e-300 s layers, infinite or overflowing trace gaps),
empty arguments, and write targets that are not regular files (device nodes, FIFOs, symlinks).
"""

from __future__ import annotations

import os
import stat

import pytest
import yaml

from fairsched.cli import main
from tests.cli.test_bad_inputs import BASE_PLATFORM, BASE_SCENARIO, Case, _check, _materialise, arrival, costs, \
    plat, scen, slo0
from tests.reliability_util import small_cost_frame

BASE_YAML = yaml.safe_dump(BASE_SCENARIO)
BASE_PLAT_YAML = yaml.safe_dump(BASE_PLATFORM)


def raw_scenario(text: str | bytes, expect, id):
    return Case(id, ["--scenario", "{tmp}/raw.yaml"], expect, files={"raw.yaml": text})


def raw_platform(text: str | bytes, expect, id):
    return Case(id, ["--platform", "{tmp}/rawp.yaml"], expect, files={"rawp.yaml": text})


def trace_case(id, text, expect, **arr):
    return Case(id, scenario=scen(arrival(kind="trace", path="t.csv", **arr)), files={"t.csv": text}, expect=expect)


def _alias_bomb(levels: int = 9) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return BASE_YAML + "\n".join(lines) + "\n"


def _costs_set(col, value):
    def f(df):
        df = df.astype({col: float})
        df[col] = value
        if col == "cycles":
            df["dram_bytes"] = 0
        return df
    return costs(f)


CSV_HEAD = "model,layer_index,layer_name,kind,accel_type,macs,cycles,dram_bytes,energy_pj\n"
BIG_TENANTS = dict(BASE_SCENARIO, tenants=[dict(name=f"t{i}", slos=[dict(model="resnet18", deadline_x=3.0, target=0.5)])
                                           for i in range(1_001)])

CASES = [
    # --- YAML that a plain safe_load accepts silently or crashes on
    raw_scenario(BASE_YAML + "load: 0.3\n", ["key 'load' twice", "keep one"], "yaml-duplicate-top-key"),
    raw_scenario(BASE_YAML.replace("target: 0.9\n", "target: 0.9\n    target: 0.1\n"), ["'target' twice"],
                 "yaml-duplicate-nested-key"),
    raw_scenario(_alias_bomb(), ["alias", "not supported"], "yaml-alias-bomb"),
    raw_scenario("defaults: &d {target: 0.9}\n" + BASE_YAML.replace("target: 0.9", "<<: *d"), ["alias"],
                 "yaml-alias-merge-key"),
    raw_scenario(BASE_YAML + "description: " + "[" * 200 + "]" * 200 + "\n", ["nests", "deep"], "yaml-deep-nesting"),
    raw_scenario(BASE_YAML + "description: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n", ["nests", "deep"],
                 "yaml-very-deep-nesting"),
    raw_scenario(BASE_YAML.encode("utf-16"), ["UTF-16", "UTF-8"], "yaml-utf16"),
    raw_scenario(BASE_YAML.replace("name: small", "name: caf\xe9").encode("latin-1"), ["not UTF-8", "offset"],
                 "yaml-latin1"),
    raw_scenario(BASE_YAML + "description: a\x00b\n", ["NUL"], "yaml-nul-byte"),
    raw_scenario(BASE_YAML + "7: seven\n", ["not text"], "yaml-number-key"),
    raw_scenario(BASE_YAML + "? [a, b]\n: 1\n", ["not valid YAML"], "yaml-list-key"),
    raw_scenario("!!python/object/apply:os.system ['echo pwned']\n", ["not valid YAML"], "yaml-python-tag"),
    raw_platform(BASE_PLAT_YAML + "dram_bandwidth_gbps: 1\n", ["dram_bandwidth_gbps", "twice"], "platform-duplicate-key"),
    # --- booleans where numbers belong (YAML 1.1 reads yes/no/on/off as booleans)
    raw_scenario(BASE_YAML.replace("requests: 60", "requests: yes"), ["requests", "yes/no"], "scenario-requests-yes"),
    Case("scenario-requests-true", scenario=scen(lambda d: d.update(requests=True)), expect=["requests", "yes/no"]),
    Case("scenario-load-true", scenario=scen(lambda d: d.update(load=True)), expect=["load", "yes/no"]),
    Case("target-true", scenario=scen(slo0(target=True)), expect=["target", "yes/no"]),
    Case("deadline-ms-true", scenario=scen(slo0(deadline_x=None, deadline_ms=True)), expect=["deadline_ms", "yes/no"]),
    Case("platform-count-true", platform=plat(lambda d: d["sub_accelerators"][0].update(count=True)),
         expect=["count", "yes/no"]),
    # --- numbers that pass a range check but overflow later
    Case("scenario-requests-huge", scenario=scen(lambda d: d.update(requests=10**20)), expect=["requests"]),
    Case("tenants-too-many", scenario=BIG_TENANTS, expect=["tenants", "1000"]),
    Case("rate-share-denormal", scenario=scen(slo0(rate_share=1e-320)), expect=["arrival rates", "rate_share"]),
    Case("scenario-load-tiny", scenario=scen(lambda d: d.update(load=1e-300)), expect=["load", "span"]),
    Case("bursty-on-tiny", scenario=scen(arrival(kind="bursty", mean_on_ms=1e-300, mean_off_ms=10)),
         expect=["bursty", "mean_on_ms"]),
    Case("deadline-ms-huge", scenario=scen(slo0(deadline_x=None, deadline_ms=1e300)), expect=["tenants.0.slos.0", "deadline"]),
    Case("deadline-x-huge", scenario=scen(slo0(deadline_x=1e300)), expect=["tenants.0.slos.0", "deadline"]),
    # --- traces
    trace_case("trace-inf", "arrival_ms\n0\n1\ninf\n", ["arrival", "non-finite", "row 3"]),
    trace_case("trace-minus-inf", "arrival_ms\n-inf\n1\n2\n", ["arrival", "non-finite", "row 1"]),
    trace_case("trace-nan", "arrival_ms\n0\nnan\n2\n", ["arrival", "numeric"]),
    trace_case("trace-sum-overflows", "arrival_ms\n-1.7e308\n0\n1.7e308\n", ["arrival", "float"]),
    trace_case("trace-denormal-gaps", "arrival_ms\n0\n5e-324\n1e-323\n", ["arrival", "too small"]),
    trace_case("trace-utf16", "arrival_ms\n0\n1\n2\n".encode("utf-16"), ["arrival.path", "UTF-16"]),
    trace_case("trace-binary", b"\x89PNG\r\n\x1a\n\x00\x00\xff", ["arrival.path"]),
    trace_case("trace-unscaled-span-huge", "arrival_ms\n0\n1e12\n", ["arrival", "rescale"], rescale=False, unit="s"),
    # --- cost tables
    Case("costs-cycles-tiny-no-dram", costs=_costs_set("cycles", 1e-300), expect=["layer 0", "takes", "cycles"]),
    Case("costs-cycles-huge", costs=_costs_set("cycles", 1e300), expect=["layer 0", "takes", "cost table"]),
    Case("costs-utf16", ["--costs", "{tmp}/c.csv"], ["cost table", "UTF-16"], default_costs=False,
         files={"c.csv": small_cost_frame().to_csv(index=False).encode("utf-16")}),
    Case("costs-latin1", ["--costs", "{tmp}/c.csv"], ["cost table", "not UTF-8"], default_costs=False,
         files={"c.csv": (CSV_HEAD + "r\xe9s,0,l,conv,eyeriss_like,1,2,3,4\n").encode("latin-1")}),
    Case("costs-nul-byte", ["--costs", "{tmp}/c.csv"], ["cost table", "NUL"], default_costs=False,
         files={"c.csv": CSV_HEAD + "a\x00,0,l,conv,eyeriss_like,1,2,3,4\n"}),
    Case("platform-bandwidth-tiny", platform=plat(lambda d: d.update(dram_bandwidth_gbps=1e-300)),
         expect=["layer", "takes"]),
    Case("platform-too-many-subs", platform=plat(lambda d: d["sub_accelerators"][0].update(count=4096)),
         expect=["sub_accelerators", "4096"]),
    # --- flags
    Case("seed-huge", ["--seed", str(2**64)], ["--seed", "<="]),
    Case("requests-huge", ["--requests", str(10**20)], ["--requests", "<="]),
    Case("load-inf", ["--load", "inf"], ["--load"]),
    Case("load-tiny", ["--load", "1e-300"], ["load", "span"]),
    Case("out-empty", ["--out", ""], ["--out", "empty"]),
    Case("out-empty-equals", ["--out="], ["--out", "empty"]),
    Case("scenario-empty", ["--scenario", ""], ["--scenario", "empty"]),
    Case("costs-empty", ["--costs", ""], ["--costs", "empty"]),
    Case("out-is-dev-null", ["--out", "/dev/null"], ["--out", "character device", "not a folder"]),
    Case("out-is-fifo", ["--out", "{tmp}/fifo"], ["--out", "FIFO"]),
    Case("out-is-symlink-to-file", ["--out", "{tmp}/link"], ["--out", "not a folder"]),
]


def _special_files(tmp):
    os.mkfifo(tmp / "fifo")
    (tmp / "target.txt").write_text("keep me")
    os.symlink(tmp / "target.txt", tmp / "link")


def _special_state(tmp):
    return (stat.S_ISFIFO(os.lstat(tmp / "fifo").st_mode), os.path.islink(tmp / "link"),
            (tmp / "target.txt").read_text(), stat.S_ISCHR(os.stat("/dev/null").st_mode))


def test_probe_corpus_is_big_enough():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_probe_input_is_rejected_cleanly(case, tmp_path, capsys):
    _special_files(tmp_path)
    args = _materialise(case, tmp_path)
    with pytest.raises(SystemExit) as e:
        main(args)
    _check(e.value.code, capsys.readouterr().err, case.expect, tmp_path / "out", {})
    assert _special_state(tmp_path) == (True, True, "keep me", True)
    assert not list(tmp_path.rglob("*.tmp")), "a temp file was left behind"


# ------------------------------------------------------------- the other commands (file targets)
def _other(tmp):
    c = tmp / "costs.csv"
    small_cost_frame().to_csv(c, index=False)
    s = tmp / "s.yaml"
    s.write_text(BASE_YAML)
    sim = ["simulate", "--costs", str(c), "--scenario", str(s), "--requests", "20"]

    def sw(name, text):
        (tmp / name).write_text(text)
        return str(tmp / name)

    base_sw = f"name: t\nschedulers: [edf]\nloads: [0.5]\nscenarios: [{s}]\ncosts: {c}\nrequests: 20\n"
    out = ["--out", str(tmp / "out")]
    return {
        "simulate-log-dev-null": (sim + ["--log", "/dev/null"], ["--log", "/dev/null", "character device"]),
        "simulate-log-fifo": (sim + ["--log", str(tmp / "fifo")], ["--log", "FIFO"]),
        "simulate-log-symlink": (sim + ["--log", str(tmp / "link")], ["--log", "symbolic link"]),
        "simulate-log-folder": (sim + ["--log", str(tmp)], ["--log", "folder"]),
        "simulate-log-empty": (sim + ["--log", ""], ["--log", "empty"]),
        "simulate-seed-huge": (sim + ["--seed", str(2**70)], ["--seed"]),
        "costs-import-out-dev-null": (["costs", "import", str(c), "--out", "/dev/null"], ["--out", "character device"]),
        "costs-import-out-symlink": (["costs", "import", str(c), "--out", str(tmp / "link")], ["--out", "symbolic link"]),
        "sweep-seeds-true": (["sweep", sw("a.yaml", base_sw + "seeds: true\n")] + out, ["seeds", "yes/no"]),
        "sweep-requests-yes": (["sweep", sw("b.yaml", base_sw.replace("requests: 20", "requests: yes"))] + out,
                               ["requests", "yes/no"]),
        "sweep-alias-bomb": (["sweep", sw("c.yaml", base_sw + _alias_bomb().split(BASE_YAML)[1].replace("l0:", "x0:")
                                           .replace("&l0", "&x0"))] + out, ["alias"]),
        "sweep-duplicate-key": (["sweep", sw("d.yaml", base_sw + "loads: [0.9]\n")] + out, ["'loads' twice"]),
        "sweep-seed-count-huge": (["sweep", sw("e.yaml", base_sw + "seeds: 1000000000000\n")] + out, ["seed count"]),
        "sweep-seed-huge": (["sweep", sw("f.yaml", base_sw + f"seeds: [{2**64}]\n")] + out, ["seeds"]),
        "sweep-grid-too-big": (["sweep", sw("g.yaml", base_sw.replace("loads: [0.5]", "loads: [" + ", ".join(
            str(round(0.01 + i * 1e-5, 5)) for i in range(20)) + "]") + "seeds: 100000\n")] + out, ["cells", "fewer"]),
        "sweep-loads-nan": (["sweep", sw("h.yaml", base_sw.replace("[0.5]", "[.nan]"))] + out, ["loads"]),
        "sweep-out-fifo": (["sweep", sw("i.yaml", base_sw), "--out", str(tmp / "fifo")], ["--out", "FIFO"]),
        "sweep-out-empty": (["sweep", sw("j.yaml", base_sw), "--out", ""], ["--out", "empty"]),
        "sweep-utf16": (["sweep", str(tmp / "k.yaml")] + out, ["UTF-16"]),
        "train-resume-not-a-zip": (["train", "--out", str(tmp / "out"), "--resume", str(c)], ["--resume", "zip"]),
    }


OTHER_IDS = [
    "simulate-log-dev-null", "simulate-log-fifo", "simulate-log-symlink", "simulate-log-folder", "simulate-log-empty",
    "simulate-seed-huge", "costs-import-out-dev-null", "costs-import-out-symlink", "sweep-seeds-true",
    "sweep-requests-yes", "sweep-alias-bomb", "sweep-duplicate-key", "sweep-seed-count-huge", "sweep-seed-huge",
    "sweep-grid-too-big", "sweep-loads-nan", "sweep-out-fifo", "sweep-out-empty", "sweep-utf16",
    "train-resume-not-a-zip"]


@pytest.mark.parametrize("cid", OTHER_IDS)
def test_probe_other_commands(cid, tmp_path, capsys):
    _special_files(tmp_path)
    (tmp_path / "k.yaml").write_bytes("name: t\nloads: [0.5]\n".encode("utf-16"))
    args, expect = _other(tmp_path)[cid]
    with pytest.raises(SystemExit) as e:
        main(args)
    _check(e.value.code, capsys.readouterr().err, expect, tmp_path / "out", {})
    assert _special_state(tmp_path) == (True, True, "keep me", True)
    assert not list(tmp_path.rglob("*.tmp"))
    assert not list(tmp_path.glob("*.meta.json"))
