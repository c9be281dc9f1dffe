"""The options that bring in schedulers from outside: ``--import FILE.py`` and ``--policy PATH``.

Shared by ``compare``, ``simulate``, ``sweep`` and ``schedulers`` so they read the same everywhere.
Installed packages need no option: their entry points (group ``fairsched.schedulers``) are read
by the registry.
"""

from __future__ import annotations

from typing import List, Optional

import typer

from fairsched.errors import InputError

IMPORT_HELP = ("a .py file (or module name) that registers schedulers with @fairsched.register; "
               "repeat for several")
POLICY_HELP = ("a policy exported by `fairsched train --out DIR` (DIR/drl, or its .npz/.json), run as "
               "drl:PATH (relmas:PATH for a tenant-agnostic policy)")


def import_option():
    return typer.Option(None, "--import", help=IMPORT_HELP, metavar="FILE.py")


def policy_option():
    return typer.Option(None, "--policy", help=POLICY_HELP, metavar="PATH")


def load_imports(imports: Optional[List[str]]) -> None:
    from fairsched.schedulers.registry import import_plugin

    for spec in imports or []:
        import_plugin(spec)


def policy_name(path: str) -> str:
    """``drl:PATH`` or ``relmas:PATH`` by the policy's own ``tenant_aware`` flag; the policy is
    loaded now, so a missing or incompatible file fails before any simulation."""
    from pathlib import Path

    from fairsched.rl.policy import NumpyPolicy

    p = Path(path)
    if p.is_dir():  # the --out folder of `fairsched train`: it holds <scheduler>.npz/.json
        found = [p / n for n in ("drl", "relmas") if (p / n).with_suffix(".npz").is_file()]
        if len(found) != 1:
            raise InputError(f"--policy: folder '{path}' holds {'no' if not found else 'more than one'} exported "
                             "policy (drl.npz / relmas.npz); give the policy file itself")
        path = str(found[0])
    from fairsched.rl.cycle import CyclePolicy
    from fairsched.rl.policy import policy_kind

    try:
        if policy_kind(path) == "cycle":  # `fairsched train`'s default formulation
            return f"{CyclePolicy.load(path).meta['variant']}:{path}"
        pol = NumpyPolicy.load(path)
    except InputError as e:
        raise InputError(f"--policy: {e}") from None
    return f"{'drl' if pol.tenant_aware else 'relmas'}:{path}"


def check_policies(names: list[str]) -> None:
    """Build every ``NAME:PATH`` scheduler once, so a bad policy file fails up front."""
    from fairsched.schedulers.registry import make, split

    for n in names:
        if split(n)[1] is not None:
            make(n)
