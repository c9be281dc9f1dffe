"""A sweep's `upheld_by`: validated, applied to the tables, and it reuses the cells of another judgement."""

from __future__ import annotations

import pytest
import yaml

from fairsched.errors import InputError
from fairsched.experiments.sweep import load_sweep, run_sweep
from tests.experiments.conftest import SCENARIO


def test_upheld_by_is_checked(sweep_file):
    with pytest.raises(InputError, match="upheld_by"):
        load_sweep(sweep_file(upheld_by="sometimes"))


def test_upheld_by_mk_judges_the_tables_and_reuses_cells(sweep_file, tmp_path):
    mk = dict(SCENARIO, tenants=[dict(name="a", slos=[dict(model="m1", deadline_x=2.0, mk=[4, 5], rate_share=2.0)]),
                                 *SCENARIO["tenants"][1:]])
    (tmp_path / "mk.yaml").write_text(yaml.safe_dump(mk))
    out = tmp_path / "out"
    a = run_sweep(sweep_file(scenarios=["mk.yaml"], loads=[1.5], seeds=1), out, jobs=1)
    b = run_sweep(sweep_file(scenarios=["mk.yaml"], loads=[1.5], seeds=1, upheld_by="mk"), out, jobs=1)
    assert b.computed == 0 and b.cached == len(b.summary)  # same cells, another judgement
    assert (a.summary["upheld_by"] == "rate").all() and (b.summary["upheld_by"] == "mk").all()
    assert (b.summary["tenants_upheld"] == a.summary["tenants_upheld_mk"]).all()
    assert (b.tenants["upheld"] == a.tenants["upheld_mk"]).all()
    assert a.summary["mk_violations"].notna().all()
