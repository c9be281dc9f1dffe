"""The command line: thin typer wrappers over :mod:`fairsched.api`.

Each command lives in its own module, listed in ``_COMMAND_MODULES``. A module either exposes
``register(app)`` (adds top-level commands) or ``app`` (a typer group mounted under its name).
Bad input raises :class:`~fairsched.errors.InputError`; :func:`main` prints it as one line and
exits with code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import os
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


def _version(value: bool) -> None:
    if value:
        from fairsched import __version__

        typer.echo(f"fairsched {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="print the version and exit"),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="more messages (-vv: debug)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="errors only: no progress or status lines"),
) -> None:
    """fairsched: simulate, compare, train and benchmark schedulers for multi-tenant DNN inference."""
    from fairsched.cli._log import configure

    configure(-1 if quiet else verbose)


_COMMAND_MODULES = ("compare", "simulate", "sweep", "costs", "bench", "bound", "train", "serve", "profile",
                    "explain", "rl_eval")


def _mount() -> None:
    for name in _COMMAND_MODULES:
        mod = importlib.import_module(f"fairsched.cli.{name}")
        if hasattr(mod, "register"):
            mod.register(app)
        else:
            app.add_typer(mod.app, name=name)


_mount()


def one_line(msg: str) -> str:
    """``msg`` with every line break and other control character written as an escape (``\\r``,
    ``\\x1c``, ...): a message quotes user input (a field value, a file name), and a raw carriage
    return in it would split the promised one error line in two."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in msg)


def fail(msg: str) -> None:
    """Print one clear error line and exit 2."""
    typer.echo(f"error: {one_line(msg)}", err=True)
    raise SystemExit(2)


def _interrupted() -> None:
    typer.echo("interrupted; finished results are kept, rerun to resume", err=True)
    raise SystemExit(130)


def _check_no_empty_values(argv: list[str]) -> None:
    """An empty argument (``--out ""``, ``--log=``; usually an unset shell variable) is never a
    valid value: ``Path("")`` would silently mean the current folder."""
    for i, a in enumerate(argv):
        if a == "--":
            return
        flag = a.split("=", 1)[0] if a.startswith("--") and "=" in a else None
        if a == "" or (flag and a == flag + "="):
            before = flag or (argv[i - 1] if i else "the command")
            raise InputError(f"{before}: empty value (an unset shell variable?); give a value")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI. Input problems -> one ``error: ...`` line on stderr and exit 2, never a
    traceback: :class:`InputError`, usage errors (bad flag values), stray pydantic errors and
    file-system errors. Any other exception is a bug: one line and exit 1 (set
    ``FAIRSCHED_DEBUG=1`` to see the traceback)."""
    from pydantic import ValidationError

    from fairsched.errors import pydantic_message

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        _check_no_empty_values(argv)
        rv = app(args=argv, prog_name="fairsched", standalone_mode=False)
    except InputError as e:
        fail(str(e))
    except typer.TyperException as e:  # typer's (vendored click) usage errors: bad flags and values
        if type(e).__name__ == "NoArgsIsHelpError":
            e.show()
            raise SystemExit(2)
        ctx = getattr(e, "ctx", None)
        hint = f"; see '{ctx.command_path} --help'" if ctx is not None else ""
        fail(" ".join(e.format_message().split()).rstrip(".") + hint)
    except typer.Abort as e:
        if isinstance(e.__context__, KeyboardInterrupt) or isinstance(e.__cause__, KeyboardInterrupt):
            _interrupted()  # click turns Ctrl-C into Abort
        typer.echo("aborted", err=True)
        raise SystemExit(1)
    except KeyboardInterrupt:
        _interrupted()
    except ValidationError as e:
        fail(pydantic_message("input", e))
    except OSError as e:
        if os.environ.get("FAIRSCHED_DEBUG"):
            raise
        where = f" '{e.filename}'" if e.filename else ""
        if isinstance(e, (FileExistsError, NotADirectoryError)):
            fail(f"cannot create{where}: a file is in the way where a folder is needed; choose another path")
        fail(f"cannot access{where}: {e.strerror or e}; check the path and its permissions")
    except Exception as e:  # a bug, not bad input: still no wall of text unless asked for
        if os.environ.get("FAIRSCHED_DEBUG"):
            raise
        typer.echo(f"error: internal error ({type(e).__name__}: {one_line(str(e))}); this is a bug, please report it "
                   "(set FAIRSCHED_DEBUG=1 for the traceback)", err=True)
        raise SystemExit(1)
    if rv == 130:  # typer turns Ctrl-C into Exit(130)
        _interrupted()
    # like click's standalone mode: always leave through SystemExit (0 on success)
    raise SystemExit(rv if isinstance(rv, int) and not isinstance(rv, bool) else 0)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
