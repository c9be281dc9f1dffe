"""`fairsched compare --loads` (the demo's short load sweep), verdict lines and --upheld-by."""

from __future__ import annotations

import pandas as pd
import pytest

from fairsched.cli.compare import verdict
from tests.cli.test_compare import inputs, run_cli  # noqa: F401  (fixture)


def _summary(counts: dict[str, int], n: int) -> pd.DataFrame:
    return pd.DataFrame([dict(scheduler=k, tenants_upheld=v / n) for k, v in counts.items()])


def test_verdict_lines():
    s = _summary({"edf": 8, "drl": 11, "sjf": 9, "fcfs": 3}, 12)
    assert verdict(s, 12, 0.9) == ("load 0.9: drl upholds the most tenants (11/12), 2 more than sjf (9); "
                                   "over sjf 9, edf 8, fcfs 3")
    s = _summary({"a": 5, "b": 7, "c": 7}, 9)
    assert verdict(s, 9, 1.2) == "load 1.2: b, c uphold the most tenants (7/9 each), 2 more than a (5); over a 5"
    s = _summary({"a": 12, "b": 12}, 12)
    assert verdict(s, 12, 0.7) == "load 0.7: all 2 schedulers uphold 12/12 tenants: no difference at this load"


def test_compare_loads_writes_one_folder_per_load_and_verdicts(inputs, tmp_path, capsys):  # noqa: F811
    costs, scen = inputs
    out = tmp_path / "out"
    code, stdout, err = run_cli(["compare", "--scenario", str(scen), "--costs", str(costs), "--schedulers",
                                 "edf,fcfs,dbp", "--loads", "0.5,1.5", "--requests", "200", "--jobs", "1",
                                 "--out", str(out)], capsys)
    assert code == 0, err
    for ld in ("0.5", "1.5"):
        for f in ("summary.csv", "tenants.csv", "fig2_slo_achievement.png", "fig3_slo_margin.png"):
            assert (out / f"load{ld}" / f).is_file(), (ld, f)
    assert (out / "load_curve.png").is_file()
    lines = (out / "verdict.txt").read_text().splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["load 0.5", "load 1.5"]
    assert all(ln in stdout for ln in lines)
    s = pd.read_csv(out / "summary_loads.csv")
    assert sorted(s["load"].unique()) == [0.5, 1.5] and len(s) == 6


@pytest.mark.parametrize("extra, needle", [
    (["--upheld-by", "sometimes"], "--upheld-by"),
    (["--loads", "0.5,x"], "--loads"),
    (["--loads", "0.5", "--load", "0.7"], "--loads"),
    (["--loads", "0.5,0.5"], "--loads"),
])
def test_bad_flags(inputs, tmp_path, capsys, extra, needle):  # noqa: F811
    costs, scen = inputs
    code, _, err = run_cli(["compare", "--scenario", str(scen), "--costs", str(costs), "--schedulers", "edf",
                            "--out", str(tmp_path / "o"), *extra], capsys)
    assert code == 2 and err.strip().startswith("error:") and needle in err and "Traceback" not in err


def test_upheld_by_mk_changes_the_judgement_not_the_cells(tmp_path, capsys):
    from tests.test_mk import SMALL
    import yaml

    scen = tmp_path / "mk.yaml"
    scen.write_text(yaml.safe_dump(SMALL))
    base = ["compare", "--scenario", str(scen), "--schedulers", "fcfs", "--requests", "400", "--jobs", "1",
            "--out", str(tmp_path / "o")]
    res = {}
    for by in ("rate", "mk", "both"):
        code, _, err = run_cli(base + ["--upheld-by", by], capsys)
        assert code == 0, err
        t = pd.read_csv(tmp_path / "o" / "tenants.csv")
        res[by] = dict(zip(t["tenant"], t["upheld"]))
        assert (t["upheld"] == t[f"upheld_{by}" if by != "rate" else "upheld"]).all()
    # `both` is rate and (m,k) together
    assert all(res["rate"][k] or not res["both"][k] for k in res["rate"])
    assert all(not res["both"][k] or (res["rate"][k] and res["mk"][k]) for k in res["rate"])
