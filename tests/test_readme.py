"""Every code block of the README works: Python blocks run (in a fresh interpreter, in a temp
folder), TOML blocks parse, and every `fairsched ...`, `make ...` and `pip install ...` line of
the shell blocks is checked against the real CLI parser, Makefile and extras (parsed, not run:
the full commands take minutes; their behaviour is tested elsewhere)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"^```(\w+)\n(.*?)^```", README, flags=re.S | re.M)


def _blocks(lang: str) -> list[str]:
    return [body for kind, body in BLOCKS if kind == lang]


def test_readme_has_blocks_of_every_kind():
    assert {k for k, _ in BLOCKS} <= {"bash", "python", "toml"}, "a new kind of block needs a check here"
    assert len(_blocks("python")) >= 3 and _blocks("bash") and _blocks("toml")


def test_python_blocks_run(tmp_path):
    script = "\n\n".join(_blocks("python"))
    script += "\n\nimport fairsched\nassert 'my-edf' in fairsched.available_schedulers()\n"
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]


def test_toml_blocks_parse():
    for body in _blocks("toml"):
        tomllib.loads(body)


def _shell_lines():
    for body in _blocks("bash"):
        for line in body.replace("\\\n", " ").splitlines():  # join continued lines
            words = shlex.split(line.replace("[", "").replace("]", ""), comments=True)
            if words:
                yield line, words


def _rest(ctx) -> list[str]:
    protected = getattr(ctx, "_protected_args", None)
    if protected is None:
        protected = ctx.protected_args
    return list(protected) + list(ctx.args)


def test_fairsched_lines_parse():
    import typer  # typer vendors click: no click import here

    from fairsched.cli import app

    group = typer.main.get_command(app)
    n = 0
    for line, words in _shell_lines():
        if words[0] != "fairsched":
            continue
        with group.make_context("fairsched", list(words[1:]), resilient_parsing=False) as ctx:
            cmd, args = group, _rest(ctx)
            while hasattr(cmd, "get_command") and args:
                sub = cmd.get_command(ctx, args[0])
                assert sub is not None, f"README line '{line}': unknown command {args[0]}"
                cmd, ctx = sub, sub.make_context(args[0], args[1:], parent=ctx)
                args = _rest(ctx) if hasattr(sub, "get_command") else []
        n += 1
    assert n >= 10


def test_make_and_pip_lines_name_real_targets_and_extras():
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), flags=re.M))
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    for line, words in _shell_lines():
        if words[0] == "make":
            assert set(words[1:]) <= targets, f"README line '{line}': no such make target"
        if words[:2] == ["pip", "install"]:
            for w in words[2:]:
                m = re.fullmatch(r"(?:-e)?\.?\[?([\w,-]*)\]?", w.replace("'", ""))
                if w.startswith(".") and m and m.group(1):
                    assert set(m.group(1).split(",")) <= extras, f"README line '{line}': unknown extra"
            if "-c" in words:
                assert (ROOT / words[words.index("-c") + 1]).is_file()
