"""The acceptance verdict of ``fairsched.rl.evaluate.wide`` on hand-made tables."""

import pandas as pd

from fairsched.rl.evaluate import LOADS, wide


def _rows(scen, load, counts, seed=0):
    return [dict(scenario=scen, load=load, scheduler=s, seed=seed, tenants=10, upheld=u) for s, u in counts.items()]


def test_verdict_strict_at_high_and_overload_tie_allowed_at_moderate():
    lo, hi, ov = LOADS["moderate"], LOADS["high"], LOADS["overload"]
    rows = (_rows("a", lo, dict(edf=9, relmas=8, drl=9))       # tie at moderate: met
            + _rows("a", hi, dict(edf=6, relmas=7, drl=7))     # tie with relmas at high: not met
            + _rows("a", ov, dict(edf=2, relmas=0, drl=5))     # strictly more: met
            + _rows("b", lo, dict(edf=9, relmas=8, drl=8)))    # fewer at moderate: not met
    w = wide(pd.DataFrame(rows))
    assert w["drl_wins"].tolist() == [True, False, True, False]
    assert w["tenants"].tolist() == [10, 10, 10, 10]


def test_mean_over_seeds():
    hi = LOADS["high"]
    rows = _rows("a", hi, dict(edf=6, drl=8), seed=0) + _rows("a", hi, dict(edf=6, drl=5), seed=1)
    w = wide(pd.DataFrame(rows))
    assert w["drl"].tolist() == [6.5] and w["drl_wins"].tolist() == [True]


def test_verdict_counts_mixes_met_at_every_load():
    from fairsched.rl.evaluate import verdict

    lo, hi, ov = LOADS["moderate"], LOADS["high"], LOADS["overload"]
    rows = []
    for scen, d_hi in (("default", 8), ("mix-1", 8), ("mix-2", 6), ("mix-3", 9)):   # edf 7 at high
        rows += _rows(scen, lo, dict(edf=9, drl=9)) + _rows(scen, hi, dict(edf=7, drl=d_hi))
        rows += _rows(scen, ov, dict(edf=2, drl=4))
    v = verdict(wide(pd.DataFrame(rows)))
    assert v == dict(default=True, mixes=3, mixes_met=2, mixes_failed=["mix-2"])


def test_evaluate_runs_every_cell_on_unseen_mixes():
    """End to end on a tiny budget: one row per (scenario, load, seed, scheduler), mixes from the
    unseen seed range (never the training range), tenant counts within bounds."""
    from fairsched.rl.evaluate import evaluate
    from fairsched.workload.generator import UNSEEN_SEED_BASE

    df = evaluate(requests=150, mixes=1, first_mix=3, schedulers=["edf", "drl"], reference=False, seeds=1)
    assert len(df) == 2 * 3 * 2
    assert set(df["scenario"]) == {"default", f"mix-{UNSEEN_SEED_BASE + 3}"}
    assert ((df["upheld"] >= 0) & (df["upheld"] <= df["tenants"])).all()
    assert set(df["load"]) == set(LOADS.values())
