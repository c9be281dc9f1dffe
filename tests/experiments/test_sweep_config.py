"""Sweep YAML validation: every mistake is an InputError naming the field and the fix (CLI: exit 2)."""

from __future__ import annotations

import pytest

from fairsched.cli import main
from fairsched.errors import InputError
from fairsched.experiments.sweep import expand, load_sweep


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (dict(loads=None), ["loads", "required field is missing", "[0.6, 0.85, 1.2]"]),
        (dict(loads=[]), ["loads", "at least 1"]),
        (dict(loads=[0.5, -1]), ["loads", "(0, 10]", "-1"]),
        (dict(loads="high"), ["loads", "list of platform utilizations"]),
        (dict(schedulers=["edf", "nope"]), ["schedulers", "unknown scheduler(s) ['nope']", "sla-aware"]),
        (dict(schedulers="edf,fcfs"), ["schedulers", "or `all`"]),
        (dict(seeds=0), ["seeds", "seed count must be >= 1"]),
        (dict(seeds=[1, 1]), ["seeds", "duplicated seeds ['1']"]),
        (dict(requests=0), ["requests", "greater than or equal to 1", "3000"]),
        (dict(scenarios=["random:x"]), ["scenarios", "random:<seed>"]),
        (dict(lods=[0.5]), ["lods", "unknown field", "'loads'"]),
        (dict(random=dict(n_tenant=[1, 2])), ["random.n_tenant", "unknown field", "n_tenants"]),
        (dict(random=dict(n_tenants=[5, 2])), ["random.n_tenants", "low <= high"]),
    ],
)
def test_bad_sweep_yaml_names_field_and_fix(sweep_file, overrides, expected):
    with pytest.raises(InputError) as e:
        load_sweep(sweep_file(**overrides))
    msg = str(e.value)
    assert msg.startswith("sweep '")
    for piece in expected:
        assert piece in msg, msg


def test_missing_and_broken_files(tmp_path, sweep_file):
    with pytest.raises(InputError, match="does not exist"):
        load_sweep(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("loads: [0.5\nschedulers: all\n")
    with pytest.raises(InputError, match="not valid YAML at line"):
        load_sweep(bad)
    with pytest.raises(InputError, match="costs: .* does not exist"):
        cfg, base = load_sweep(sweep_file(costs="missing.csv"))
        expand(cfg, base)
    with pytest.raises(InputError, match="scenarios: 'nosuch'"):
        cfg, base = load_sweep(sweep_file(scenarios=["nosuch"]))
        expand(cfg, base)


def test_grid_expansion(sweep_file):
    cfg, base = load_sweep(sweep_file(scenarios=["mix.yaml", "random:3"], seeds=[4, 9]))
    grid = expand(cfg, base)
    assert len(grid.cells) == 2 * 2 * 2 * 1 * 2
    assert {(c.scheduler, c.load, c.scenario, c.platform, c.seed) for c in grid.cells} == {
        (s, l, sc, "default", seed) for s in ("edf", "fcfs") for l in (0.6, 1.2)
        for sc in ("mix.yaml", "random:3") for seed in (4, 9)
    }
    assert len({c.spec.key() for c in grid.cells}) == len(grid.cells)
    # random:<seed> draws its tenants from the cost table's models with the sweep's options
    rnd = grid.scenarios["random:3"]
    assert 2 <= len(rnd["tenants"]) <= 3
    assert {s["model"] for t in rnd["tenants"] for s in t["slos"]} <= {"m1", "m2"}
    # the same file expands to the same keys (a rerun finds its cells)
    assert [c.spec.key() for c in expand(*load_sweep(sweep_file(scenarios=["mix.yaml", "random:3"],
                                                                seeds=[4, 9]))).cells] == \
        [c.spec.key() for c in grid.cells]


@pytest.mark.parametrize(
    "argv_tail, expected",
    [
        (["--backend", "spark"], "--backend: 'spark' is unknown"),
        (["--address", "127.0.0.1:1"], "--address: only used with --backend ray"),
    ],
)
def test_cli_bad_flags_exit_2(sweep_file, tmp_path, capsys, argv_tail, expected):
    with pytest.raises(SystemExit) as e:
        main(["sweep", str(sweep_file()), "--out", str(tmp_path / "o"), *argv_tail])
    assert e.value.code == 2
    assert expected in capsys.readouterr().err


def test_cli_bad_yaml_exit_2(sweep_file, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["sweep", str(sweep_file(loads=[0])), "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: sweep '") and "loads" in err and "Traceback" not in err


def test_unseen_mixes_use_the_reserved_seed_range(sweep_file):
    from fairsched.workload.generator import UNSEEN_SEED_BASE, random_scenario
    from fairsched.workload.scenario import ScenarioConfig

    grid = expand(*load_sweep(sweep_file(scenarios=["random:0", "unseen:0"])))
    drawn = ScenarioConfig.model_validate(random_scenario(UNSEEN_SEED_BASE, ["m1", "m2"], n_tenants=(2, 3)))
    assert grid.scenarios["unseen:0"]["tenants"] == drawn.model_dump(mode="json")["tenants"]
    assert grid.scenarios["unseen:0"]["name"] == "unseen-0" and grid.scenarios["random:0"]["name"] == "random-0"


def test_shipped_paper_sweep():
    cfg, _ = load_sweep("paper")
    assert cfg.schedulers == "all" and len(cfg.seeds) >= 5
    assert len(cfg.loads) >= 3 and len(cfg.scenarios) >= 3
    with pytest.raises(InputError, match="shipped sweeps \\['paper'"):
        load_sweep("no-such-sweep")


def test_ray_backend_without_ray_says_how_to_install(sweep_file, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(SystemExit) as e:
        main(["sweep", str(sweep_file()), "--out", str(tmp_path / "o"), "--backend", "ray"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "pip install 'fairsched[ray]'" in err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("address, needle", [("127.0.0.1:1", "cannot reach"), ("nohostport", "not host:port")])
def test_unreachable_ray_address_fails_fast(address, needle):
    from fairsched.experiments.runner import check_ray_address

    with pytest.raises(InputError, match=needle):
        check_ray_address(address, timeout_s=2.0)
