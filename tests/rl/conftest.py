"""A tiny two-type platform and a random tenant mix over two short models: fast RL tests."""

from __future__ import annotations

import pytest

from tests.conftest import make_platform, make_table
from fairsched.workload.generator import random_scenario

LAYERS = {
    "a": {"x": [(1.0, 2.0), (2.0, 1.0), (1.0, 3.0)], "y": [(2.0, 1.0), (1.0, 2.0), (2.0, 1.0)]},
    "b": {"x": [(3.0, 1.0), (1.0, 1.0), (2.0, 2.0), (1.0, 1.0)], "y": [(1.0, 3.0), (2.0, 1.0), (1.0, 1.0), (3.0, 1.0)]},
}


@pytest.fixture(scope="session")
def tiny_setup():
    table = make_table(LAYERS)
    plat = make_platform([("x", 2), ("y", 2)], bandwidth=4.0)
    scen = random_scenario(7, ["a", "b"], n_tenants=(3, 5), requests=120, load=1.0)
    return plat, table, scen


@pytest.fixture
def env_kwargs(tiny_setup):
    plat, table, scen = tiny_setup
    return dict(scenario=scen, platform=plat, costs=table, requests=120, n_tenants=(3, 5), K=4, p_base=0.5)


def one_error_line(main, argv, capsys) -> str:
    """Run a search's ``main(argv)`` (the hindsight searches of fairsched.experiments): it must exit 2
    with exactly one ``error:`` line on stderr, which is returned."""
    with pytest.raises(SystemExit) as e:
        raise SystemExit(main(argv))
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:"), err
    return err[0]
