"""The command line: thin typer wrappers over :mod:`fairsched.api`.

Each command lives in its own module, listed in ``_COMMAND_MODULES``. A module either exposes
``register(app)`` (adds top-level commands) or ``app`` (a typer group mounted under its name).
Bad input raises :class:`~fairsched.errors.InputError`; :func:`main` prints it as one line and
exits with code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer

from fairsched.errors import InputError

app = typer.Typer(
    name="fairsched",
    help="Fair, firm real-time scheduling of DNN inference on multi-tenant multi-accelerators.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """fairsched: simulate, compare, train and benchmark schedulers for multi-tenant DNN inference."""


_COMMAND_MODULES = ("compare",)


def _mount() -> None:
    for name in _COMMAND_MODULES:
        mod = importlib.import_module(f"fairsched.cli.{name}")
        if hasattr(mod, "register"):
            mod.register(app)
        else:
            app.add_typer(mod.app, name=name)


_mount()


def fail(msg: str) -> None:
    """Print one clear error line and exit 2."""
    typer.echo(f"error: {msg}", err=True)
    raise SystemExit(2)


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, standalone_mode=True)
    except InputError as e:
        fail(str(e))
    except KeyboardInterrupt:
        typer.echo("interrupted; finished results are kept, rerun to resume", err=True)
        raise SystemExit(130)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
