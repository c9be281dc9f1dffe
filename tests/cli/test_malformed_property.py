"""Property: every malformed input is refused cleanly by the real CLI (issue 15).

A hypothesis strategy draws one defect at a time from five families -- a scenario field set to a
value outside its documented range or of the wrong type, YAML text the guarded loader must refuse
(duplicate keys, aliases, deep nesting, non-UTF-8, NUL, broken syntax), a cost-table cell or column
broken, an arrival trace broken, a flag given a bad value -- applies it to valid inputs, runs
``fairsched compare`` in-process and asserts: exit code 2, exactly one ``error:`` line, no
traceback, nothing written to ``--out``. Each defect is invalid by the documented rules
(docs/reliability.md), so the expected outcome is known without running the code.

``test_malformed_input_is_refused`` runs a few dozen cases in CI; the slow
``test_malformed_input_is_refused_long`` runs 2,500 (``pytest -m slow``).
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsched.cli import main
from fairsched.validate import MAX_REQUESTS, MAX_SEED
from tests.cli.test_bad_inputs import BASE_SCENARIO
from tests.reliability_util import small_cost_frame

NUMERIC_COLS = ["layer_index", "macs", "cycles", "dram_bytes", "energy_pj"]
SLO_PATHS = [(0, 0), (0, 1), (1, 0)]  # (tenant, slo) of BASE_SCENARIO

non_finite = st.sampled_from([math.inf, -math.inf, math.nan])
wrong_type = st.one_of(st.booleans(), st.text(min_size=1, max_size=8).filter(lambda s: not _numberlike(s)),
                       st.lists(st.integers(), max_size=2), st.just({"a": 1}))


def _numberlike(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return s.strip().lower() in ("", "null", "~", "none")


def _bad_range(lo_bad: st.SearchStrategy, hi_bad: st.SearchStrategy | None = None):
    parts = [lo_bad, non_finite, wrong_type] + ([hi_bad] if hi_bad is not None else [])
    return st.one_of(*parts)


FIELD_DEFECTS = {
    "load": _bad_range(st.floats(max_value=0.0, allow_nan=False), st.floats(min_value=10.0001, allow_infinity=False)),
    "requests": _bad_range(st.integers(max_value=0), st.one_of(st.integers(min_value=MAX_REQUESTS + 1),
                                                                st.floats(1.1, 1e6).filter(lambda x: x != int(x)))),
    "warmup_fraction": _bad_range(st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
                                  st.floats(min_value=1.0, allow_nan=False, allow_infinity=False)),
    "target": _bad_range(st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
                         st.floats(min_value=1.0001, allow_nan=False, allow_infinity=False)),
    "deadline_ms": _bad_range(st.floats(max_value=0.0, allow_nan=False, allow_infinity=False),
                              st.floats(min_value=1e-12, max_value=0.01)),  # 0.01 ms: below any execution
    "rate_share": _bad_range(st.floats(max_value=0.0, allow_nan=False, allow_infinity=False)),
    "jitter": _bad_range(st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
                         st.floats(min_value=1.0001, allow_nan=False, allow_infinity=False)),
    "mean_on_ms": _bad_range(st.floats(max_value=0.0, allow_nan=False, allow_infinity=False)),
}


@st.composite
def scenario_defect(draw):
    d = copy.deepcopy(BASE_SCENARIO)
    field = draw(st.sampled_from(sorted(FIELD_DEFECTS) + ["unknown_key", "tenant_name", "arrival_kind"]))
    ti, si = draw(st.sampled_from(SLO_PATHS))
    slo = d["tenants"][ti]["slos"][si]
    if field in ("load", "requests", "warmup_fraction"):
        d[field] = draw(FIELD_DEFECTS[field])
    elif field in ("target", "rate_share"):
        slo[field] = draw(FIELD_DEFECTS[field])
    elif field == "deadline_ms":
        slo.pop("deadline_x", None)
        slo["deadline_ms"] = draw(FIELD_DEFECTS[field])
    elif field == "jitter":
        slo["arrival"] = dict(kind="periodic", jitter=draw(FIELD_DEFECTS[field]))
    elif field == "mean_on_ms":
        slo["arrival"] = dict(kind="bursty", mean_on_ms=draw(FIELD_DEFECTS[field]), mean_off_ms=5)
    elif field == "unknown_key":
        key = draw(st.from_regex(r"[a-z]{3,10}", fullmatch=True).filter(lambda k: k not in (
            "model", "target", "deadline_ms", "deadline_x", "rate_share", "arrival")))
        slo[key] = 1
    elif field == "tenant_name":
        d["tenants"][1]["name"] = draw(st.sampled_from(["", d["tenants"][0]["name"]]))
    else:
        slo["arrival"] = dict(kind=draw(st.text(min_size=1, max_size=8).filter(
            lambda k: k not in ("poisson", "periodic", "bursty", "trace"))))
    return dict(scenario=yaml.safe_dump(d).encode())


@st.composite
def yaml_defect(draw):
    text = yaml.safe_dump(BASE_SCENARIO)
    lines = text.splitlines(keepends=True)
    kind = draw(st.sampled_from(["duplicate", "alias", "deep", "utf16", "latin1", "nul", "syntax", "not-mapping"]))
    if kind == "duplicate":
        top = [ln for ln in lines if ln[0].isalpha() and not ln.startswith("tenants")]
        text += draw(st.sampled_from(top))
    elif kind == "alias":
        text = "x: &a [1, 2]\n" + text + "y: *a\n"
    elif kind == "deep":
        n = draw(st.integers(33, 3000))
        text += "description: " + "[" * n + "]" * n + "\n"
    elif kind == "utf16":
        return dict(scenario=text.encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be"]))))
    elif kind == "latin1":
        i = draw(st.integers(0, len(text)))
        return dict(scenario=text[:i].encode() + bytes([draw(st.integers(0x80, 0xBF))]) + text[i:].encode())
    elif kind == "nul":
        i = draw(st.integers(0, len(text)))
        text = text[:i] + "\x00" + text[i:]
    elif kind == "syntax":
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, draw(st.sampled_from(["tenants: [\n", "  - : :\n", "\tload: 1\n", "name: 'open\n", "{\n"])))
        text = "".join(lines)
    else:
        text = draw(st.sampled_from(["", "- a\n- b\n", "just text\n", "42\n", "null\n"]))
    return dict(scenario=text.encode())


@st.composite
def csv_defect(draw):
    df = small_cost_frame()
    kind = draw(st.sampled_from(["cell", "drop", "dup", "utf16", "empty-name"]))
    if kind == "cell":
        col = draw(st.sampled_from(NUMERIC_COLS))
        row = draw(st.integers(0, len(df) - 1))
        bad = {"cycles": st.floats(max_value=0.0, allow_nan=False, allow_infinity=False),
               "energy_pj": st.floats(max_value=0.0, allow_nan=False, allow_infinity=False),
               "dram_bytes": st.floats(max_value=-1e-6, allow_nan=False, allow_infinity=False),
               "macs": st.floats(max_value=-1e-6, allow_nan=False, allow_infinity=False),
               "layer_index": st.one_of(st.integers(max_value=-1), st.just(0.5), st.integers(5, 99))}[col]
        v = draw(st.one_of(bad, st.sampled_from(["inf", "-inf", "nan", "many", "1e400", "--"])))
        df = df.astype({col: object})
        df.loc[row, col] = v
    elif kind == "drop":
        df = df.drop(columns=[draw(st.sampled_from(list(df.columns)))])
    elif kind == "dup":
        row = draw(st.integers(0, len(df) - 1))
        df = pd.concat([df, df.iloc[[row]]], ignore_index=True)
    elif kind == "empty-name":
        df = df.astype({"model": object})
        df.loc[draw(st.integers(0, len(df) - 1)), draw(st.sampled_from(["model", "accel_type"]))] = None
    text = df.to_csv(index=False)
    return dict(costs=text.encode("utf-16") if kind == "utf16" else text.encode())


@st.composite
def trace_defect(draw):
    times = [0.0, 1.5, 4.0, 6.0, 9.5]
    kind = draw(st.sampled_from(["non-finite", "text", "unsorted", "one-row", "flat", "utf16", "column"]))
    column = "arrival_ms"
    if kind == "non-finite":
        times[draw(st.integers(0, 4))] = draw(st.sampled_from(["inf", "-inf", "nan"]))
    elif kind == "text":
        times[draw(st.integers(0, 4))] = draw(st.sampled_from(["soon", "1,5", "x", "--"]))  # a blank line is skipped, not a defect
    elif kind == "unsorted":
        i = draw(st.integers(0, 3))
        times[i], times[i + 1] = times[i + 1], times[i]
    elif kind == "one-row":
        times = times[:1]
    elif kind == "flat":
        times = [draw(st.floats(-1e6, 1e6))] * draw(st.integers(2, 5))
    elif kind == "column":
        column = draw(st.sampled_from(["time", "Arrival_ms", "t"]))
    text = column + "\n" + "\n".join(str(t) for t in times) + "\n"
    return dict(trace=text.encode("utf-16") if kind == "utf16" else text.encode())


flag_defect = st.one_of(
    st.tuples(st.just("--load"), st.one_of(
        st.floats(max_value=0.0, allow_nan=False).map(repr), st.floats(min_value=10.001).map(repr),
        st.sampled_from(["nan", "inf", "-inf", "abc", "", "1e-400"]))),
    st.tuples(st.just("--requests"), st.one_of(st.integers(max_value=0).map(str),
                                                st.integers(min_value=MAX_REQUESTS + 1).map(str),
                                                st.sampled_from(["2.5", "x", "", "1e3"]))),
    st.tuples(st.just("--seed"), st.one_of(st.integers(max_value=-1).map(str),
                                            st.integers(min_value=MAX_SEED + 1).map(str), st.sampled_from(["x", ""]))),
    st.tuples(st.just("--jobs"), st.one_of(st.integers(max_value=0).map(str), st.sampled_from(["x", "", "1.5"]))),
    st.tuples(st.just("--schedulers"), st.sampled_from(["nosuch", "edf,nosuch", ",", "EDF", ""])),
).map(lambda fv: dict(flags=list(fv)))

malformed = st.one_of(scenario_defect(), yaml_defect(), csv_defect(), trace_defect(), flag_defect)


def _run(defect: dict) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        scen = copy.deepcopy(BASE_SCENARIO)
        if "trace" in defect:
            scen["tenants"][1]["slos"][0]["arrival"] = dict(kind="trace", path="t.csv")
            (tmp / "t.csv").write_bytes(defect["trace"])
        (tmp / "s.yaml").write_bytes(defect["scenario"] if "scenario" in defect else yaml.safe_dump(scen).encode())
        (tmp / "c.csv").write_bytes(defect["costs"] if "costs" in defect else
                                    small_cost_frame().to_csv(index=False).encode())
        out = tmp / "out"
        args = ["compare", "--out", str(out), "--scenario", str(tmp / "s.yaml"), "--costs", str(tmp / "c.csv"),
                "--schedulers", "edf", "--requests", "30", "--jobs", "1"] + defect.get("flags", [])
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            with pytest.raises(SystemExit) as e:
                main(args)
        msg = err.getvalue()
        assert e.value.code == 2, f"exit {e.value.code}: {msg}"
        assert "Traceback" not in msg
        lines = [ln for ln in msg.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), msg
        assert not out.exists(), "something was written to --out"
        assert sorted(p.name for p in tmp.iterdir()) == sorted(
            ["s.yaml", "c.csv"] + (["t.csv"] if "trace" in defect else []))


def test_control_characters_in_a_quoted_value_stay_on_one_line():
    """Found by the long run: an arrival ``kind`` of a lone carriage return was quoted raw in the
    message, which then read as two lines. Such characters are now written as escapes."""
    scen = copy.deepcopy(BASE_SCENARIO)
    for kind in ("\r", "a\nb", "\x1c", "\u2028"):
        scen["tenants"][0]["slos"][0]["arrival"] = dict(kind=kind)
        _run(dict(scenario=yaml.safe_dump(scen).encode()))


@settings(max_examples=30)
@given(malformed)
def test_malformed_input_is_refused(defect):
    _run(defect)


@pytest.mark.slow
@settings(max_examples=2500)
@given(malformed)
def test_malformed_input_is_refused_long(defect):
    _run(defect)
