"""The input formats' reference, generated from the pydantic models that validate them.

``python -m fairsched.formats`` rewrites ``docs/formats.md`` (every field: type, default,
constraints, meaning) and the JSON Schema files shipped in ``fairsched/schemas/`` (point an
editor's YAML language server at them: ``# yaml-language-server: $schema=...``). A test checks
that both are up to date with the models, so the reference cannot drift from the validator.

Meanings come from each field's ``description``; :data:`MEANINGS` fills in fields whose model
carries none, so the reference says what every field does.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

#: format name -> (import path of the model, what a file of this format is)
FORMATS = {
    "scenario": ("fairsched.workload.scenario:ScenarioConfig",
                 "tenants, their SLOs and arrivals, the offered load (`--scenario FILE.yaml`)"),
    "platform": ("fairsched.platform.config:PlatformConfig",
                 "sub-accelerator groups and the shared DRAM bandwidth (`--platform FILE.yaml`)"),
    "accelerator": ("fairsched.platform.config:AcceleratorType",
                    "one accelerator type (`platform/data/accelerators/<name>.yaml`)"),
    "sweep": ("fairsched.experiments.sweep:SweepConfig",
              "a grid of cells for `fairsched sweep FILE.yaml`"),
}

#: "Model.field" -> meaning, for fields whose model has no description
MEANINGS = {
    "ScenarioConfig.name": "label used in tables, figures and file names",
    "ScenarioConfig.description": "free text",
    "ScenarioConfig.load": "offered load L: arrival rates are scaled so that the offered work, each request at its "
                           "model's isolated latency averaged over the platform's types, is L x (number of "
                           "sub-accelerators) busy-seconds per second; not the measured utilization",
    "ScenarioConfig.requests": "requests per run (all SLOs together)",
    "ScenarioConfig.warmup_fraction": "the first fraction of requests is simulated but not counted in the metrics",
    "ScenarioConfig.tenants": "the tenants; names must be unique",
    "TenantConfig.name": "tenant name (unique)",
    "TenantConfig.slos": "the tenant's SLOs, one per model stream; the tenant is upheld when every SLO meets its target",
    "SLOConfig.model": "a model of the cost table (`fairsched costs show`)",
    "SLOConfig.deadline_ms": "relative deadline in ms (give this or deadline_x)",
    "SLOConfig.arrival": "arrival process: poisson (default), periodic, bursty or trace",
    "PoissonArrival.kind": "exponential gaps at the SLO's rate",
    "PeriodicArrival.kind": "fixed gaps of 1/rate, with optional jitter",
    "BurstyArrival.kind": "on/off: Poisson arrivals during exponentially long on-periods, none during off-periods; "
                          "the mean rate is the SLO's",
    "BurstyArrival.mean_on_ms": "mean length of an on-period, ms",
    "BurstyArrival.mean_off_ms": "mean length of an off-period, ms",
    "TraceArrival.kind": "replay arrival times from a CSV column; the trace is cycled when the run needs more "
                         "arrivals than it holds",
    "TraceArrival.path": "CSV file; a relative path is relative to the scenario file",
    "TraceArrival.column": "column holding arrival times (non-decreasing, at least 2); their gaps are replayed",
    "TraceArrival.unit": "unit of the column's times (used as given when rescale is false)",
    "TraceArrival.rescale": "scale the gaps so the mean rate is the one the load asks for (shape kept); false: "
                            "use the trace's own rate",
    "PlatformConfig.name": "label used in tables",
    "PlatformConfig.sub_accelerators": "groups of identical sub-accelerators, in index order",
    "PlatformConfig.description": "free text",
    "SubAcceleratorGroup.type": "an accelerator type (`platform/data/accelerators/<type>.yaml`)",
    "SubAcceleratorGroup.count": "number of sub-accelerators of this type",
    "AcceleratorType.name": "type name (the file's stem; the cost table's `accel_type`)",
    "AcceleratorType.dataflow": "dataflow, e.g. row-stationary, weight-stationary, output-stationary",
    "AcceleratorType.clock_mhz": "clock frequency, MHz (cycles in the cost table run at this clock)",
    "AcceleratorType.idle_power_mw": "power drawn while idle, mW (for energy per inference)",
    "AcceleratorType.description": "free text",
    "AcceleratorType.source": "where the numbers come from",
    "AcceleratorType.zigzag_hardware": "zigzag hardware file the cost table was built from (`fairsched costs "
                                       "build`), relative to the folder of the type YAML",
    "AcceleratorType.zigzag_mapping": "zigzag mapping file the cost table was built from, relative to the folder of "
                                      "the type YAML",
    "AcceleratorType.spatial_rule": "how layers are unrolled on the PE array: null = as the zigzag mapping file "
                                    "says; row_stationary = per layer, filter rows x input channels down the "
                                    "array's rows and output rows across its columns",
    "AcceleratorType.operand_precision_bits": "bits per operand element used by the cost model (default: 8-bit "
                                              "weights and inputs, 16-bit partial sums, 8-bit outputs)",
    "OperandPrecision.W": "bits per weight",
    "OperandPrecision.I": "bits per input activation",
    "OperandPrecision.O": "bits per partial sum",
    "OperandPrecision.O_final": "bits per output written out",
    "SweepConfig.upheld_by": "how a tenant's SLA counts as upheld: rate (hit-rate targets), mk ((m,k) constraints) "
                             "or both",
    "SweepConfig.name": "label of the sweep",
    "SweepConfig.description": "free text",
    "SweepConfig.schedulers": "`all` (the heuristics and the installed learned policies) or a list of names; "
                              "NAME:POLICY_PATH runs a trained policy",
    "SweepConfig.loads": "offered loads (see the scenario's `load`)",
    "SweepConfig.scenarios": "shipped names, YAML paths (relative to the sweep file), `random:<seed>` or "
                             "`unseen:<k>` tenant mixes",
    "SweepConfig.platforms": "shipped names or YAML paths",
    "SweepConfig.seeds": "a count n (seeds 0..n-1) or a list of seeds",
    "SweepConfig.requests": "requests per cell (default: each scenario's)",
    "SweepConfig.costs": "cost table CSV (default: the shipped table)",
    "SweepConfig.random": "options of the random tenant mixes",
    "RandomMixOptions.n_tenants": "[low, high] number of tenants",
    "RandomMixOptions.models_per_tenant": "[low, high] SLOs per tenant",
    "RandomMixOptions.target": "[low, high] target hit rate",
    "RandomMixOptions.share_sigma": "log-normal spread of the SLOs' rate shares",
    "RandomMixOptions.warmup_fraction": "as the scenario's",
}

#: meanings that replace the model's short description (it points here)
_OVERRIDE = {"ScenarioConfig.load"}

SCHEMA_DIR = Path(str(resources.files("fairsched") / "schemas"))
DOC = Path(__file__).resolve().parents[2] / "docs" / "formats.md"


def _model(spec: str):
    import importlib

    mod, _, name = spec.partition(":")
    return getattr(importlib.import_module(mod), name)


def schema(fmt: str) -> dict:
    """The JSON Schema of a format, with the filled-in meanings as descriptions."""
    model = _model(FORMATS[fmt][0])
    doc = model.model_json_schema()
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = f"fairsched {fmt}"
    defs = dict(doc.get("$defs", {}), **{model.__name__: doc})
    for name, d in defs.items():
        for field, prop in d.get("properties", {}).items():
            key = f"{name}.{field}"
            if key in MEANINGS and (key in _OVERRIDE or "description" not in prop):
                prop["description"] = MEANINGS[key]
    return doc


def _type(p: dict, defs: dict) -> str:
    if "$ref" in p:
        return p["$ref"].rsplit("/", 1)[-1]
    if "const" in p:
        return json.dumps(p["const"])
    if "enum" in p:
        return " \\| ".join(json.dumps(v) for v in p["enum"])
    for key in ("anyOf", "oneOf"):
        if key in p:
            return " \\| ".join(_type(q, defs) for q in p[key])
    t = p.get("type", "any")
    if t == "array":
        if "prefixItems" in p:
            return "[" + ", ".join(_type(q, defs) for q in p["prefixItems"]) + "]"
        return f"list of {_type(p.get('items', {}), defs)}"
    return {"number": "float", "integer": "int", "string": "str", "boolean": "bool", "null": "null"}.get(t, t)


def _limits(p: dict) -> str:
    out = []
    for k, sym in (("exclusiveMinimum", ">"), ("minimum", ">="), ("exclusiveMaximum", "<"), ("maximum", "<="),
                   ("minItems", "items >="), ("minLength", "length >=")):
        if k in p:
            out.append(f"{sym} {p[k]}")
    for q in p.get("anyOf", []):
        lim = _limits(q)
        if lim:
            out.append(lim)
    return ", ".join(out)


def _table(name: str, d: dict, defs: dict) -> list[str]:
    req = set(d.get("required", []))
    lines = [f"### `{name}`", ""]
    if d.get("description"):
        lines += [" ".join(d["description"].split()), ""]
    lines += ["| field | type | default | limits | meaning |", "|---|---|---|---|---|"]
    for field, p in d.get("properties", {}).items():
        default = "**required**" if field in req else (f"`{json.dumps(p['default'])}`" if "default" in p else "")
        meaning = " ".join(p.get("description", "").split()).replace("|", "\\|")
        lines.append(f"| `{field}` | {_type(p, defs)} | {default} | {_limits(p)} | {meaning} |")
    return lines + [""]


def markdown() -> str:
    out = ["# Input formats", "",
           "Generated by `python -m fairsched.formats` from the pydantic models that validate the files, so it",
           "matches the validator exactly; JSON Schema files for editors ship in `src/fairsched/schemas/`.",
           "Unknown fields are refused everywhere. YAML files are read with `yaml.safe_load`.", ""]
    for fmt, (_spec, what) in FORMATS.items():
        doc = schema(fmt)
        defs = doc.get("$defs", {})
        out += [f"## {fmt}", "", f"{what}. Schema: `schemas/{fmt}.schema.json`.", ""]
        out += _table(_model(FORMATS[fmt][0]).__name__, doc, defs)
        for name, d in defs.items():
            out += _table(name, d, defs)
    return "\n".join(out).rstrip() + "\n"


def render() -> dict[Path, str]:
    files = {SCHEMA_DIR / f"{fmt}.schema.json": json.dumps(schema(fmt), indent=2, sort_keys=True) + "\n"
             for fmt in FORMATS}
    if DOC.parent.is_dir():  # a source checkout (an installed package has no docs/)
        files[DOC] = markdown()
    return files


def main(argv: list[str] | None = None) -> int:
    from fairsched.io import atomic_write_text

    check = "--check" in (argv or [])
    stale = []
    for path, text in render().items():
        if check:
            if not path.is_file() or path.read_text() != text:
                stale.append(str(path))
        else:
            atomic_write_text(path, text)
    if stale:
        print("out of date (run python -m fairsched.formats):", *stale, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
