"""Timeline outputs (Chrome/Perfetto trace, Gantt PNG) against hand-computed runs and invariants."""

from __future__ import annotations

import json

import pytest

from fairsched.cli import main
from fairsched.schedulers.registry import make
from fairsched.sim.engine import SimConfig, Simulator
from fairsched.timeline import bandwidth_steps, chrome_trace, gantt, hit_rate_steps


def _run(plat, table, wl, scheduler="edf", seed=0):
    sim = Simulator(plat, table, wl, SimConfig(seed=seed, trace_layers=True, log_requests=True))
    return sim.run(make(scheduler))


def test_one_request_by_hand(tiny):
    """One sub at 1 Hz, no contention: layer 0 takes 2 s and asks 4 B / 2 s = 2 B/s, layer 1 takes 1 s
    and moves nothing; the request hits, so its tenant's hit rate is 1."""
    make_table, make_platform, make_workload = tiny
    table = make_table({"m": {"a": [(2, 4), (1, 0)]}})
    plat = make_platform([("a", 1)])
    wl = make_workload(plat, table, [("t", "m", 100.0, 0.9)], requests=1)
    sim = _run(plat, table, wl)
    doc = chrome_trace(sim, scheduler="edf")
    spans = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    assert [(e["name"], e["tid"], e["dur"]) for e in spans] == [("m L0", 0, 2e6), ("m L1", 0, 1e6)]
    t0 = spans[0]["ts"]
    assert spans[1]["ts"] == t0 + 2e6
    assert spans[0]["args"] == dict(request=0, tenant="t", model="m", layer=0, outcome="done")
    bw = [(e["ts"] - t0, e["args"]["in use"]) for e in doc["traceEvents"] if e["name"] == "DRAM bandwidth (GB/s)"]
    assert bw == [(0.0, 2e-9), (2e6, 0.0), (3e6, 0.0)]
    hr = [(e["ts"] - t0, e["args"]["hit rate"]) for e in doc["traceEvents"] if e["name"] == "hit rate: t"]
    assert hr == [(3e6, 1.0)]
    names = {e["args"]["name"] for e in doc["traceEvents"] if e["ph"] == "M" and e["name"] == "thread_name"}
    assert names == {"sub 0 (a)"}


def test_bandwidth_is_capped_by_the_sharing_rule(tiny):
    """Two subs each running a layer that asks 1 B/s at B = 1 B/s: in use is min(B, 2) = 1."""
    make_table, make_platform, make_workload = tiny
    table = make_table({"m": {"a": [(1, 1)]}})
    plat = make_platform([("a", 2)], bandwidth=1.0)
    wl = make_workload(plat, table, [("t", "m", 1e6, 0.5)], load=5.0, requests=40)
    sim = _run(plat, table, wl)
    t, v = bandwidth_steps(sim)
    assert v.max() == pytest.approx(1.0) and v.min() >= 0.0


def test_default_run_invariants_and_files(tmp_path):
    """Every layer span sits on one sub that runs one layer at a time; layers of a request in
    order; bandwidth within [0, B]; hit rates in [0, 1]; the files load."""
    from fairsched import api

    plat, table, wl = api.build(requests=150, load=1.0)
    sim = _run(plat, table, wl, scheduler="sla-aware")
    doc = json.loads(json.dumps(chrome_trace(sim)))  # plain JSON all the way down
    spans = sorted((e for e in doc["traceEvents"] if e["ph"] == "X"), key=lambda e: (e["tid"], e["ts"]))
    assert {e["tid"] for e in spans} <= set(range(plat.n))
    for a, b in zip(spans, spans[1:]):
        if a["tid"] == b["tid"]:
            assert a["ts"] + a["dur"] <= b["ts"] + 1e-6
    by_req: dict[int, list] = {}
    for e in sorted(spans, key=lambda e: e["ts"]):
        by_req.setdefault(e["args"]["request"], []).append(e["args"]["layer"])
    assert all(ls == list(range(len(ls))) for ls in by_req.values())
    cap = plat.bandwidth / 1e9
    for e in doc["traceEvents"]:
        if e["ph"] == "C" and e["name"].startswith("DRAM"):
            assert -1e-12 <= e["args"]["in use"] <= cap * (1 + 1e-9)
        if e["ph"] == "C" and e["name"].startswith("hit rate: "):
            assert 0.0 <= e["args"]["hit rate"] <= 1.0
    assert {f"hit rate: {t}" for t, (te, _) in hit_rate_steps(sim).items() if len(te)} == {
        e["name"] for e in doc["traceEvents"] if e["name"].startswith("hit rate: ")}
    png = gantt(sim, tmp_path / "g.png", window_ms=5)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_trace_validates_against_the_trace_event_schema():
    jsonschema = pytest.importorskip("jsonschema")
    from fairsched import api

    plat, table, wl = api.build(requests=40)
    doc = chrome_trace(_run(plat, table, wl))
    event = {
        "type": "object", "required": ["ph", "name", "pid"],
        "properties": {"ph": {"enum": ["X", "C", "M"]}, "name": {"type": "string"}, "pid": {"type": "integer"},
                       "tid": {"type": "integer"}, "ts": {"type": "number", "minimum": 0},
                       "dur": {"type": "number", "minimum": 0}, "args": {"type": "object"}},
        "allOf": [{"if": {"properties": {"ph": {"const": "X"}}}, "then": {"required": ["ts", "dur", "tid"]}},
                  {"if": {"properties": {"ph": {"const": "C"}}},
                   "then": {"required": ["ts", "args"],
                            "properties": {"args": {"additionalProperties": {"type": "number"}}}}}],
    }
    schema = {"type": "object", "required": ["traceEvents"],
              "properties": {"traceEvents": {"type": "array", "items": event},
                             "displayTimeUnit": {"enum": ["ms", "ns"]}}}
    jsonschema.validate(doc, schema)


def test_cli_trace_and_gantt(tmp_path, capsys):
    trace, png = tmp_path / "run.json", tmp_path / "run.png"
    with pytest.raises(SystemExit) as e:
        main(["simulate", "--requests", "80", "--trace", str(trace), "--gantt", str(png), "--window-ms", "3"])
    assert e.value.code == 0
    assert json.loads(trace.read_text())["traceEvents"] and png.stat().st_size > 1000

@pytest.mark.parametrize("scheduler", ["edf", "sla-aware"])
def test_cli_trace_same_on_both_cores(tmp_path, scheduler):
    """The timeline file from the kernel (auto, compiled) is the engine's, byte for byte."""
    out = {}
    for core in ("python", "auto", "compiled"):
        out[core] = tmp_path / f"{core}.json"
        with pytest.raises(SystemExit) as e:
            main(["simulate", "--scheduler", scheduler, "--requests", "150", "--load", "1.3", "--seed", "2",
                  "--core", core, "--trace", str(out[core])])
        assert e.value.code == 0
    ref = out["python"].read_bytes()
    assert json.loads(ref)["traceEvents"]
    assert out["auto"].read_bytes() == ref and out["compiled"].read_bytes() == ref
