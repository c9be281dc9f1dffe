"""A corpus of bad inputs, each fed to the real command line (`fairsched compare`).

Every case must end with exit code 2 and exactly one ``error: ...`` line on stderr that names the
offending field (and, where it helps, the fix), no traceback, and nothing written to ``--out``.
Most cases call :func:`fairsched.cli.main` in-process (fast); a few run ``python -m fairsched``
in a fresh process to show the same holds for the real executable.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import yaml

from fairsched.cli import main
from tests.reliability_util import HAS_SHIPPED_TABLE, run_cli, small_cost_frame

# A valid scenario over the small table's models; each case below breaks one thing.
BASE_SCENARIO = dict(
    name="small",
    load=0.8,
    requests=60,
    warmup_fraction=0.1,
    tenants=[
        dict(name="alpha", slos=[dict(model="resnet50", deadline_x=4.0, target=0.9),
                                 dict(model="mobilenetv2", deadline_ms=50.0, target=0.8, rate_share=2.0)]),
        dict(name="beta", slos=[dict(model="resnet18", deadline_x=3.0, target=0.95,
                                     arrival=dict(kind="bursty", mean_on_ms=5, mean_off_ms=10))]),
    ],
)
BASE_PLATFORM = dict(name="mini", dram_bandwidth_gbps=25.6,
                     sub_accelerators=[dict(type="eyeriss_like", count=2), dict(type="simba_like", count=1)])


class Case:
    """Files to write into tmp_path and the CLI arguments; ``expect``: substrings of the message."""

    def __init__(self, id, args=(), expect=(), scenario=None, platform=None, costs=None, files=None,
                 default_costs=True):
        self.id, self.args, self.expect = id, list(args), list(expect)
        self.scenario, self.platform, self.costs, self.files = scenario, platform, costs, files or {}
        self.default_costs = default_costs


def scen(mutate):
    d = copy.deepcopy(BASE_SCENARIO)
    mutate(d)
    return d


def plat(mutate):
    d = copy.deepcopy(BASE_PLATFORM)
    mutate(d)
    return d


def costs(mutate):
    def make():
        df = small_cost_frame()
        return mutate(df)
    return make


def slo0(**kw):
    return lambda d: d["tenants"][0]["slos"][0].update(kw)


def arrival(**kw):
    return lambda d: d["tenants"][1]["slos"][0].update(arrival=kw)


def _set(key, value):
    return lambda d: d.__setitem__(key, value)


def _del_col(col):
    return costs(lambda df: df.drop(columns=[col]))


def _set_cell(col, value, row=0):
    def f(df):
        df = df.astype({col: object})
        df.loc[row, col] = value
        return df
    return costs(f)


TRACE_OK = "arrival_ms\n0\n1.5\n4\n"

CASES = [
    # --- command-line flags
    Case("load-negative", ["--load", "-1"], ["--load", "> 0"]),
    Case("load-zero", ["--load", "0"], ["--load"]),
    Case("load-nan", ["--load", "nan"], ["--load"]),
    Case("load-huge", ["--load", "1e6"], ["--load", "<= 10"]),
    Case("load-not-a-number", ["--load", "abc"], ["--load"]),
    Case("requests-zero", ["--requests", "0"], ["--requests", ">= 1"]),
    Case("requests-negative", ["--requests", "-3"], ["--requests"]),
    Case("requests-float", ["--requests", "2.5"], ["--requests", "integer"]),
    Case("jobs-zero", ["--jobs", "0"], ["--jobs"]),
    Case("seed-negative", ["--seed", "-1"], ["--seed", ">= 0"]),
    Case("schedulers-unknown", ["--schedulers", "edf,nosuch"], ["--schedulers", "nosuch", "edf"]),
    Case("schedulers-empty", ["--schedulers", " , "], ["--schedulers", "empty"]),
    Case("unknown-flag", ["--bogus", "1"], ["--bogus"]),
    Case("out-is-a-file", ["--out", "{tmp}/afile"], ["--out", "not a folder"], files={"afile": "x"}),
    Case("out-under-a-file", ["--out", "{tmp}/afile/sub"], ["--out", "is a file"], files={"afile": "x"}),
    # --- unknown names and missing files
    Case("scenario-unknown-name", ["--scenario", "nosuch"], ["scenario 'nosuch' is unknown", "default"]),
    Case("platform-unknown-name", ["--platform", "nosuch"], ["platform 'nosuch' is unknown", "default"]),
    Case("scenario-missing-file", ["--scenario", "{tmp}/missing.yaml"], ["scenario", "does not exist"]),
    Case("platform-missing-file", ["--platform", "{tmp}/missing.yaml"], ["platform", "does not exist"]),
    Case("costs-missing-file", ["--costs", "{tmp}/missing.csv"], ["cost table", "does not exist", "columns"],
         default_costs=False),
    Case("costs-is-a-folder", ["--costs", "{tmp}"], ["cost table", "folder"], default_costs=False),
    Case("model-unknown", scenario=scen(slo0(model="alexnet9")), expect=["tenants.0.slos.0.model", "alexnet9", "resnet50"]),
    Case("accel-type-unknown", platform=plat(lambda d: d["sub_accelerators"][0].update(type="tpu_v9")),
         expect=["sub_accelerators.0.type", "tpu_v9", "eyeriss_like"]),
    Case("accel-type-not-in-costs", platform=plat(lambda d: d["sub_accelerators"][0].update(type="{tmp}/mytype.yaml")),
         files={"mytype.yaml": "name: mytype\ndataflow: os\nclock_mhz: 100\nidle_power_mw: 1\n"},
         expect=["accelerator type 'mytype'", "cost table"]),
    Case("accel-type-bad-clock", platform=plat(lambda d: d["sub_accelerators"][0].update(type="{tmp}/mytype.yaml")),
         files={"mytype.yaml": "name: mytype\ndataflow: os\nclock_mhz: -100\nidle_power_mw: 1\n"},
         expect=["clock_mhz", "greater than 0"]),
    # --- malformed YAML
    Case("scenario-yaml-syntax", ["--scenario", "{tmp}/s.yaml"], ["not valid YAML", "line"],
         files={"s.yaml": "name: x\ntenants: [\n  - {name: a\n"}),
    Case("scenario-yaml-is-a-list", ["--scenario", "{tmp}/s.yaml"], ["YAML mapping"], files={"s.yaml": "- a\n- b\n"}),
    Case("scenario-yaml-empty", ["--scenario", "{tmp}/s.yaml"], ["YAML mapping"], files={"s.yaml": ""}),
    Case("platform-yaml-syntax", ["--platform", "{tmp}/p.yaml"], ["not valid YAML"],
         files={"p.yaml": "name: p\n  dram_bandwidth_gbps: : 3\n"}),
    # --- scenario values
    Case("tenants-empty", scenario=scen(_set("tenants", [])), expect=["tenants", "at least 1"]),
    Case("tenants-missing", scenario=scen(lambda d: d.pop("tenants")), expect=["tenants", "required"]),
    Case("slos-empty", scenario=scen(lambda d: d["tenants"][0].update(slos=[])), expect=["tenants.0.slos"]),
    Case("tenant-names-duplicated", scenario=scen(lambda d: d["tenants"][1].update(name="alpha")),
         expect=["unique", "alpha"]),
    Case("target-above-1", scenario=scen(slo0(target=1.5)), expect=["tenants.0.slos.0.target", "1"]),
    Case("target-negative", scenario=scen(slo0(target=-0.1)), expect=["tenants.0.slos.0.target", "0"]),
    Case("target-wrong-type", scenario=scen(slo0(target="high")), expect=["tenants.0.slos.0.target", "number"]),
    Case("deadline-negative", scenario=scen(slo0(deadline_x=None, deadline_ms=-5)),
         expect=["tenants.0.slos.0.deadline_ms", "greater than 0"]),
    Case("deadline-wrong-type", scenario=scen(slo0(deadline_x="soon")), expect=["tenants.0.slos.0.deadline_x"]),
    Case("deadline-both", scenario=scen(slo0(deadline_ms=10.0)), expect=["tenants.0.slos.0", "exactly one"]),
    Case("deadline-neither", scenario=scen(lambda d: d["tenants"][0]["slos"][0].pop("deadline_x")),
         expect=["tenants.0.slos.0", "exactly one"]),
    Case("deadline-ms-infeasible", scenario=scen(slo0(deadline_x=None, deadline_ms=0.01)),
         expect=["tenants.0.slos.0.deadline_ms", "alpha", "resnet50", "never be met", "deadline_ms >="]),
    Case("deadline-x-infeasible", scenario=scen(lambda d: d["tenants"][1]["slos"][0].update(deadline_x=0.5)),
         expect=["tenants.1.slos.0.deadline_x", "beta", "resnet18", "never be met"]),
    Case("deadline-infinite", scenario=scen(slo0(deadline_x=None, deadline_ms=float("inf"))),
         expect=["tenants.0.slos.0.deadline_ms", "finite"]),
    Case("rate-share-zero", scenario=scen(slo0(rate_share=0)), expect=["tenants.0.slos.0.rate_share"]),
    Case("scenario-requests-zero", scenario=scen(_set("requests", 0)), expect=["requests", "greater than or equal to 1"]),
    Case("scenario-load-too-high", scenario=scen(_set("load", 50)), expect=["load", "10"]),
    Case("scenario-warmup-1", scenario=scen(_set("warmup_fraction", 1.0)), expect=["warmup_fraction"]),
    Case("scenario-typo-key", scenario=scen(slo0(deadine_ms=3)), expect=["deadine_ms", "not permitted"]),
    # --- arrival processes and traces
    Case("arrival-kind-unknown", scenario=scen(arrival(kind="lognormal")), expect=["arrival", "lognormal", "poisson"]),
    Case("bursty-on-zero", scenario=scen(arrival(kind="bursty", mean_on_ms=0, mean_off_ms=5)), expect=["mean_on_ms"]),
    Case("bursty-missing-param", scenario=scen(arrival(kind="bursty", mean_on_ms=3)), expect=["mean_off_ms", "required"]),
    Case("periodic-jitter-2", scenario=scen(arrival(kind="periodic", jitter=2)), expect=["jitter"]),
    Case("trace-missing-file", scenario=scen(arrival(kind="trace", path="nope.csv")),
         expect=["tenants.1.slos.0.arrival.path", "nope.csv", "does not exist"]),
    Case("trace-wrong-column", scenario=scen(arrival(kind="trace", path="t.csv", column="time")),
         files={"t.csv": TRACE_OK}, expect=["arrival.column", "time", "arrival_ms"]),
    Case("trace-unsorted", scenario=scen(arrival(kind="trace", path="t.csv")), files={"t.csv": "arrival_ms\n0\n5\n2\n"},
         expect=["arrival", "sorted"]),
    Case("trace-one-row", scenario=scen(arrival(kind="trace", path="t.csv")), files={"t.csv": "arrival_ms\n3\n"},
         expect=["arrival", ">= 2"]),
    Case("trace-not-numeric", scenario=scen(arrival(kind="trace", path="t.csv")),
         files={"t.csv": "arrival_ms\n0\nsoon\n4\n"}, expect=["arrival", "numeric"]),
    Case("trace-zero-span", scenario=scen(arrival(kind="trace", path="t.csv")), files={"t.csv": "arrival_ms\n2\n2\n2\n"},
         expect=["arrival", "zero time"]),
    Case("trace-bad-unit", scenario=scen(arrival(kind="trace", path="t.csv", unit="hours")), files={"t.csv": TRACE_OK},
         expect=["unit"]),
    # --- platform values
    Case("bandwidth-zero", platform=plat(_set("dram_bandwidth_gbps", 0)), expect=["dram_bandwidth_gbps", "greater than 0"]),
    Case("bandwidth-wrong-type", platform=plat(_set("dram_bandwidth_gbps", "fast")), expect=["dram_bandwidth_gbps"]),
    Case("bandwidth-infinite", platform=plat(_set("dram_bandwidth_gbps", float("inf"))), expect=["dram_bandwidth_gbps"]),
    Case("sub-count-zero", platform=plat(lambda d: d["sub_accelerators"][0].update(count=0)),
         expect=["sub_accelerators.0.count"]),
    Case("subs-empty", platform=plat(_set("sub_accelerators", [])), expect=["sub_accelerators"]),
    Case("sub-clock-negative", platform=plat(lambda d: d["sub_accelerators"][1].update(clock_mhz=-1)),
         expect=["sub_accelerators.1.clock_mhz"]),
    # --- cost tables
    Case("costs-missing-column", costs=_del_col("energy_pj"), expect=["missing column", "energy_pj"]),
    Case("costs-cycles-zero", costs=_set_cell("cycles", 0), expect=["cycles", "> 0", "row 1"]),
    Case("costs-cycles-negative", costs=_set_cell("cycles", -10, row=4), expect=["cycles", "> 0", "row 5"]),
    Case("costs-cycles-infinite", costs=_set_cell("cycles", float("inf"), row=2), expect=["cycles", "finite", "row 3"]),
    Case("costs-cycles-text", costs=_set_cell("cycles", "many"), expect=["cycles", "non-numeric"]),
    Case("costs-dram-negative", costs=_set_cell("dram_bytes", -1), expect=["dram_bytes", ">= 0"]),
    Case("costs-model-empty", costs=_set_cell("model", None), expect=["model", "empty"]),
    Case("costs-layer-index-fraction", costs=_set_cell("layer_index", 0.5), expect=["layer_index", "whole number"]),
    Case("costs-duplicate-row", costs=costs(lambda df: pd.concat([df, df.iloc[[3]]], ignore_index=True)),
         expect=["duplicate row", "layer_index"]),
    Case("costs-layer-gap", costs=costs(lambda df: df[~((df.model == "vgg16") & (df.layer_index == 1))]),
         expect=["vgg16", "layer_index", "without gaps"]),
    Case("costs-type-missing-for-model",
         costs=costs(lambda df: df[~((df.model == "unet") & (df.accel_type == "simba_like"))]),
         expect=["unet", "simba_like"]),
    Case("costs-model-missing", costs=costs(lambda df: df[df.model != "resnet18"]),
         expect=["tenants.1.slos.0.model", "resnet18", "not in the cost table"]),
    Case("costs-type-missing", costs=costs(lambda df: df[df.accel_type != "simba_like"]),
         expect=["simba_like", "no costs"]),
    Case("costs-empty-file", ["--costs", "{tmp}/c.csv"], ["cost table", "not a readable CSV"], files={"c.csv": ""},
         default_costs=False),
    Case("costs-header-only", ["--costs", "{tmp}/c.csv"], ["no rows"],
         files={"c.csv": "model,layer_index,layer_name,kind,accel_type,macs,cycles,dram_bytes,energy_pj\n"},
         default_costs=False),
    Case("costs-ragged-csv", ["--costs", "{tmp}/c.csv"], ["not a readable CSV"],
         files={"c.csv": "model,layer_index,layer_name,kind,accel_type,macs,cycles,dram_bytes,energy_pj\n"
                         "a,0,l0,conv,eyeriss_like,1,2,3,4\na,1,l1,conv,eyeriss_like,1,2,3,4,5,6,7\n"},
         default_costs=False),
    Case("costs-binary", ["--costs", "{tmp}/c.csv"], ["cost table"], files={"c.csv": b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00"},
         default_costs=False),
]


def _materialise(case: Case, tmp: Path) -> list[str]:
    def sub(x):
        return x.replace("{tmp}", str(tmp)) if isinstance(x, str) else x

    for name, text in case.files.items():
        p = tmp / name
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text)
    args = ["compare", "--out", str(tmp / "out"), "--requests", "40", "--schedulers", "edf", "--jobs", "1"]
    if case.scenario is not None:
        (tmp / "scenario.yaml").write_text(yaml.safe_dump(case.scenario))
        args += ["--scenario", str(tmp / "scenario.yaml")]
    else:
        args += ["--scenario", str(_base_scenario(tmp))]
    if case.platform is not None:
        d = copy.deepcopy(case.platform)
        for g in d.get("sub_accelerators") or []:
            g["type"] = sub(g.get("type"))
        (tmp / "platform.yaml").write_text(yaml.safe_dump(d))
        args += ["--platform", str(tmp / "platform.yaml")]
    if case.default_costs:
        df = case.costs() if case.costs else small_cost_frame()
        df.to_csv(tmp / "costs.csv", index=False)
        args += ["--costs", str(tmp / "costs.csv")]
    # the case's own flags come last: they override the defaults above
    return args + [sub(a) for a in case.args]


def _base_scenario(tmp: Path) -> Path:
    p = tmp / "base_scenario.yaml"
    if not p.exists():
        p.write_text(yaml.safe_dump(BASE_SCENARIO))
    return p


def _snapshot(folder: Path) -> dict:
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in sorted(folder.rglob("*"))}


def _check(code, err: str, expect, out: Path, before: dict):
    assert code == 2, f"exit code {code}, stderr: {err}"
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    msg = lines[0]
    assert msg.startswith("error: "), msg
    for token in expect:
        assert token.lower() in msg.lower(), f"{token!r} not in message: {msg}"
    assert _snapshot(out) == before, f"--out changed: {_snapshot(out)}"


def test_corpus_is_big_enough():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


def test_base_inputs_are_valid(tmp_path, capsys):
    """The corpus starts from valid inputs: each case fails because of its one change."""
    base = Case("base", platform=copy.deepcopy(BASE_PLATFORM))
    args = _materialise(base, tmp_path)
    with pytest.raises(SystemExit) as e:
        main(args)
    captured = capsys.readouterr()
    assert e.value.code == 0, captured.err
    assert (tmp_path / "out" / "summary.csv").is_file()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_rejected_cleanly(case, tmp_path, capsys):
    args = _materialise(case, tmp_path)
    out = tmp_path / "out"
    before = _snapshot(out) if out.is_dir() else {}
    with pytest.raises(SystemExit) as e:
        main(args)
    _check(e.value.code, capsys.readouterr().err, case.expect, out, before)
    for name, text in case.files.items():  # inputs are never modified (e.g. a file given as --out)
        assert (tmp_path / name).read_bytes() == (text if isinstance(text, bytes) else text.encode())


def test_bad_rerun_leaves_previous_results_untouched(tmp_path, capsys):
    """A finished --out folder is not touched by a later run with bad input."""
    base = Case("base")
    args = _materialise(base, tmp_path)
    with pytest.raises(SystemExit):
        main(args)
    capsys.readouterr()
    out = tmp_path / "out"
    before = _snapshot(out)
    assert "summary.csv" in before
    with pytest.raises(SystemExit) as e:
        main(args + ["--load", "-2"])
    _check(e.value.code, capsys.readouterr().err, ["--load"], out, before)
    bad = copy.deepcopy(BASE_SCENARIO)
    bad["tenants"][0]["slos"][0]["target"] = 7
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(SystemExit) as e:
        main(args + ["--scenario", str(tmp_path / "bad.yaml")])
    _check(e.value.code, capsys.readouterr().err, ["target"], out, before)


@pytest.mark.parametrize("cid", ["load-negative", "jobs-zero", "scenario-yaml-syntax", "costs-missing-column",
                                 "deadline-ms-infeasible", "trace-missing-file"])
def test_real_process_exit_code_and_stderr(cid, tmp_path):
    """Same checks on ``python -m fairsched`` in a fresh process (what a user's shell sees)."""
    case = next(c for c in CASES if c.id == cid)
    args = _materialise(case, tmp_path)
    r = run_cli(args[0:], cwd=tmp_path)
    _check(r.returncode, r.stderr, case.expect, tmp_path / "out", {})
    assert r.stdout == ""


def test_unexpected_error_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    """A bug deep inside is reported in one line with exit 1 (FAIRSCHED_DEBUG=1 shows the traceback)."""
    import fairsched.api as api

    def boom(*a, **k):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(api, "build", boom)
    monkeypatch.delenv("FAIRSCHED_DEBUG", raising=False)
    args = _materialise(Case("base"), tmp_path)
    with pytest.raises(SystemExit) as e:
        main(args)
    err = capsys.readouterr().err
    assert e.value.code == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "internal error" in err and "ZeroDivisionError" in err and "FAIRSCHED_DEBUG" in err
    monkeypatch.setenv("FAIRSCHED_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(args)


def test_no_arguments_prints_help_and_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        main([])
    assert e.value.code == 2
    c = capsys.readouterr()
    assert "compare" in c.out + c.err


def test_help_exits_0(capsys):
    with pytest.raises(SystemExit) as e:
        main(["compare", "--help"])
    assert e.value.code == 0
    assert "--out" in capsys.readouterr().out


# ------------------------------------------------------------------ the other commands, briefly
def _other_cases(tmp: Path):
    costs = tmp / "costs.csv"
    small_cost_frame().to_csv(costs, index=False)
    (tmp / "afile").write_text("x")
    (tmp / "sw_bad_sched.yaml").write_text("name: s\nschedulers: [edf, nosuch]\nloads: [0.5]\n")
    (tmp / "sw_syntax.yaml").write_text("name: [\n")
    sim = ["simulate", "--costs", str(costs), "--requests", "20", "--scenario", str(_base_scenario(tmp))]
    out = ["--out", str(tmp / "out")]
    return {
        "simulate-unknown-scheduler": (sim + ["--scheduler", "nosuch"], ["scheduler 'nosuch'", "edf"]),
        "simulate-seed-negative": (sim + ["--seed", "-4"], ["seed", ">= 0"]),
        "simulate-load-nan": (sim + ["--load", "nan"], ["load"]),
        "simulate-log-under-a-file": (sim + ["--log", str(tmp / "afile" / "log.csv")], ["afile", "folder"]),
        "sweep-unknown-scheduler": (["sweep", str(tmp / "sw_bad_sched.yaml")] + out, ["schedulers", "nosuch"]),
        "sweep-yaml-syntax": (["sweep", str(tmp / "sw_syntax.yaml")] + out, ["not valid YAML"]),
        "sweep-missing-file": (["sweep", str(tmp / "missing.yaml")] + out, ["does not exist"]),
        "sweep-unknown-backend": (["sweep", str(tmp / "sw_bad_sched.yaml"), "--backend", "mpi"] + out, ["--backend"]),
    }


OTHER_IDS = ["simulate-unknown-scheduler", "simulate-seed-negative", "simulate-load-nan", "simulate-log-under-a-file",
             "sweep-unknown-scheduler", "sweep-yaml-syntax", "sweep-missing-file", "sweep-unknown-backend"]


@pytest.mark.parametrize("cid", OTHER_IDS)
def test_other_commands_reject_bad_input_cleanly(cid, tmp_path, capsys):
    args, expect = _other_cases(tmp_path)[cid]
    with pytest.raises(SystemExit) as e:
        main(args)
    _check(e.value.code, capsys.readouterr().err, expect, tmp_path / "out", {})
    assert (tmp_path / "afile").read_text() == "x"


# ------------------------------------------------- the shipped defaults (skipped without the table)
needs_shipped = pytest.mark.skipif(not HAS_SHIPPED_TABLE, reason="the shipped cost table is not built yet")


@needs_shipped
@pytest.mark.parametrize("args,expect", [
    (["--load", "-1"], ["--load"]),
    (["--schedulers", "edf,fifo"], ["--schedulers", "fifo"]),
    (["--requests", "0"], ["--requests"]),
    (["--platform", "{tmp}/p.yaml"], ["sub_accelerators.0.type", "tpu_v9"]),
    (["--scenario", "{tmp}/s.yaml"], ["tenants.0.slos.0.deadline_x", "never be met"]),
], ids=["load", "schedulers", "requests", "platform-type", "deadline"])
def test_bad_input_on_shipped_defaults(args, expect, tmp_path, capsys):
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(plat(lambda d: d["sub_accelerators"][0].update(type="tpu_v9"))))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scen(slo0(deadline_x=0.2))))
    argv = ["compare", "--out", str(tmp_path / "out"), "--jobs", "1"] + [a.replace("{tmp}", str(tmp_path)) for a in args]
    with pytest.raises(SystemExit) as e:
        main(argv)
    _check(e.value.code, capsys.readouterr().err, expect, tmp_path / "out", {})


@needs_shipped
def test_shipped_defaults_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["compare", "--out", str(tmp_path / "out"), "--requests", "150", "--schedulers", "edf", "--jobs", "1"])
    assert e.value.code == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "summary.csv").is_file()
