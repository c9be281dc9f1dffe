"""The format reference and the shipped JSON Schemas: up to date with the pydantic models, and an
independent validator (jsonschema) accepts every shipped input file and refuses broken ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from fairsched import formats

PKG = Path(formats.__file__).resolve().parent


def test_reference_and_schemas_are_up_to_date():
    assert formats.main(["--check"]) == 0, "run: python -m fairsched.formats"


def test_every_field_has_a_meaning():
    rows = [line for line in formats.DOC.read_text().splitlines() if line.startswith("| `")]
    assert len(rows) > 40
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[-1], f"no meaning in {row}"


def _validator(fmt):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((PKG / "schemas" / f"{fmt}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("fmt, pattern", [
    ("scenario", "workload/data/*.yaml"),
    ("platform", "platform/data/platforms/*.yaml"),
    ("accelerator", "platform/data/accelerators/*.yaml"),
    ("sweep", "experiments/data/*.yaml"),
])
def test_shipped_files_validate(fmt, pattern):
    v = _validator(fmt)
    files = sorted(PKG.glob(pattern))
    assert files
    for f in files:
        errors = list(v.iter_errors(yaml.safe_load(f.read_text())))
        assert not errors, f"{f.name}: {errors[0].message}"


def test_schema_refuses_what_the_validator_refuses():
    v = _validator("scenario")
    good = yaml.safe_load((PKG / "workload" / "data" / "default.yaml").read_text())
    for path, value in ((("load",), -1), (("tenants", 0, "slos", 0, "target"), 1.5), (("bogus",), 1),
                        (("tenants", 0, "slos", 0, "arrival"), {"kind": "trace"})):
        bad = copy.deepcopy(good)
        node = bad
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
        assert list(v.iter_errors(bad)), f"schema accepts {path} = {value}"
