"""`fairsched explain`: the decision shown is the policy's masked arg-max over what it saw (per-layer
policies: over the candidates; cycle policies, the shipped drl and relmas: over the cycle's actions)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fairsched.cli import main
from fairsched.explain import explain
from fairsched.rl.features import CAND_FEATURES, GLOBAL_FEATURES
from fairsched.rl.policy import shipped_policy_path


# per-layer decisions: the per-layer drl (the default) and relmas kept beside the shipped cycle policies
RELMAS_LAYER = f"relmas:{shipped_policy_path('relmas-layer')}"


@pytest.mark.parametrize("scheduler", [pytest.param(None, id="drl-layer"), pytest.param(RELMAS_LAYER, id="relmas-layer")])
def test_decision_is_masked_argmax_of_the_shown_scores(scheduler):
    for n in (0, 37):
        e = explain(scheduler=scheduler, decision=n, requests=120, load=1.2)
        scores = [c["logit"] if c["valid"] else -np.inf for c in e["candidates"]]
        scores.append(e["idle_logit"] if e["idle_valid"] else -np.inf)
        assert e["action"] == int(np.argmax(scores))
        shown = [c for c in e["candidates"] if "request" in c]
        assert shown and all(c["features"]["valid"] == 1.0 for c in shown)
        assert all(c["slack_ms"] > 0 and 0 <= c["next_layer"] < c["n_layers"] for c in shown)
        assert list(shown[0]["features"]) == list(CAND_FEATURES)
        assert list(e["global_features"]) == list(GLOBAL_FEATURES)


@pytest.mark.parametrize("scheduler", ["drl", "relmas"])
def test_cycle_decision_is_the_arg_max_of_the_shown_logits(scheduler):
    """A cycle policy: the action is the arg-max of one logit per action (drl: a line; relmas: a mode),
    every observation float is named, and the cycles counted are the controller's."""
    from fairsched.rl.cycle import MODES_V, N_OBS_V, THETAS

    for n in (0, 3):
        e = explain(scheduler=scheduler, decision=n, requests=600, load=1.2)
        assert e["kind"] == "cycle" and e["variant"] == scheduler
        logits = [a["logit"] for a in e["actions"]]
        assert e["action"] == int(np.argmax(logits)) and e["actions"][e["action"]]["label"] == e["action_label"]
        want = [f"theta={t}" for t in THETAS] if scheduler == "drl" else [f"mode={m}" for m in MODES_V[e["cycle_version"]]]
        assert [a["label"] for a in e["actions"]] == want
        assert len(e["features"]) == N_OBS_V[e["cycle_version"]][scheduler] and e["features"]["load"] == pytest.approx(1.2)


def _run(args, capsys):
    with pytest.raises(SystemExit) as ex:
        main(args)
    out = capsys.readouterr()
    return ex.value.code, out.out, out.err


def test_cli(capsys):
    code, out, _ = _run(["explain", "--requests", "80", "--decision", "5", "--json"], capsys)
    assert code == 0 and json.loads(out)["decision"] == 5
    code, out, _ = _run(["explain", "--requests", "80", "--decision", "5"], capsys)
    assert code == 0 and "<- chosen" in out and "laxity_sub" in out
    code, _, err = _run(["explain", "--scheduler", "edf"], capsys)
    assert code == 2 and "not a learned policy" in err
    code, out, _ = _run(["explain", "--scheduler", "relmas", "--requests", "400", "--decision", "2"], capsys)
    assert code == 0 and "<- chosen" in out and "traffic_ratio" in out  # a cycle policy: its cycle's actions
    code, _, err = _run(["explain", "--scheduler", "drl", "--requests", "100", "--decision", "10000"], capsys)
    assert code == 2 and "scheduling cycles" in err and len(err.strip().splitlines()) == 1
    code, _, err = _run(["explain", "--requests", "20", "--decision", "100000"], capsys)
    assert code == 2 and "--decision" in err
