"""``fairsched explain``: one decision of a learned scheduler, with its candidates, features and scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from fairsched.cli.plugins import import_option, load_imports


def explain_cmd(
    scheduler: Optional[str] = typer.Option(None, help="drl, relmas (cycle policies) or NAME:POLICY_PATH (default: the per-layer drl, rl/policies/drl-layer)"),
    decision: int = typer.Option(0, help="which policy evaluation (0-based) to show: a scheduling cycle for a cycle policy"),
    scenario: str = typer.Option("default", help="shipped scenario name or YAML path"),
    platform: str = typer.Option("default", help="shipped platform name or YAML path"),
    load: Optional[float] = typer.Option(None, help="offered load (default: the scenario's)"),
    seed: int = typer.Option(0, help="random seed"),
    requests: Optional[int] = typer.Option(None, help="number of requests (default: the scenario's)"),
    costs: Optional[Path] = typer.Option(None, help="cost table CSV (default: the shipped table)"),
    as_json: bool = typer.Option(False, "--json", help="print everything as JSON"),
    imports: Optional[List[str]] = import_option(),
) -> None:
    """Show one decision of a learned policy: the candidates, their features and the policy's scores."""
    from rich.console import Console
    from rich.table import Table

    from fairsched.explain import explain

    load_imports(imports)
    e = explain(scheduler=scheduler, decision=decision, scenario=scenario, platform=platform, costs=costs,
                load=load, requests=requests, seed=seed)
    if as_json:
        typer.echo(json.dumps(e, indent=2))
        return
    c = Console(width=160)
    if e["kind"] == "cycle":
        _print_cycle(c, e)
        return
    scheduler = e["scheduler"]
    chosen = "leave it idle" if e["idle"] else f"candidate {e['action']}"
    c.print(f"[bold]{scheduler}[/], decision {decision} at t = {e['time_ms']:.3f} ms for sub {e['sub']} "
            f"({e['sub_type']}): {chosen}")
    cands = [r for r in e["candidates"] if "request" in r]
    t = Table(title="candidates (logit: the policy's score; masked ones cannot be chosen)")
    for col in ("#", "request", "tenant", "model", "layer", "slack ms", "valid", "logit", ""):
        t.add_column(col, justify="left" if col in ("tenant", "model") else "right")
    for r in cands:
        t.add_row(str(r["index"]), str(r["request"]), r["tenant"], r["model"], f"{r['next_layer']}/{r['n_layers']}",
                  f"{r['slack_ms']:.3f}", "yes" if r["valid"] else "no", f"{r['logit']:.3f}",
                  "<- chosen" if r["index"] == e["action"] else "")
    t.add_row("idle", "", "", "", "", "", "yes" if e["idle_valid"] else "no", f"{e['idle_logit']:.3f}",
              "<- chosen" if e["idle"] else "")
    c.print(t)
    f = Table(title="candidate features")
    f.add_column("feature")
    for r in cands:
        f.add_column(f"#{r['index']}", justify="right")
    for name in (cands[0]["features"] if cands else {}):
        f.add_row(name, *[f"{r['features'][name]:.3f}" for r in cands])
    c.print(f)
    c.print("global features: " + ", ".join(f"{k} {v:.3f}" for k, v in e["global_features"].items()))


def _print_cycle(c, e: dict) -> None:
    """A cycle policy's decision: one row per action with its logit, then the named observation."""
    from rich.table import Table

    c.print(f"[bold]{e['scheduler']}[/] ({e['variant']}, cycle_version {e['cycle_version']}, {e['dispatch']}), "
            f"cycle {e['decision']} at t = {e['time_ms']:.3f} ms: {e['action_label']} for the next cycle")
    t = Table(title="actions (the arg-max logit is chosen)")
    for col in ("#", "action", "logit", ""):
        t.add_column(col, justify="left" if col == "action" else "right")
    for a in e["actions"]:
        t.add_row(str(a["index"]), a["label"], f"{a['logit']:.3f}", "<- chosen" if a["index"] == e["action"] else "")
    c.print(t)
    c.print("observation: " + ", ".join(f"{k} {v:.3f}" for k, v in e["features"].items()))


def register(app: typer.Typer) -> None:
    app.command("explain")(explain_cmd)
