"""The only module that imports zigzag-dse: cost one layer shape on one accelerator type.

``run_layer(layer, hardware_yaml, mapping_yaml)`` returns ``dict(cycles, dram_bytes, energy_pj, macs)``:

* ``cycles``: zigzag's ``latency_total2`` (compute, on-chip stalls, on/off-loading, systolic drain) with the
  DRAM port widened to :data:`UNLIMITED_DRAM_BITS_PER_CYCLE`, i.e. latency at unlimited off-chip bandwidth.
* ``dram_bytes``: every element moved between DRAM and the level below it (weights, inputs, outputs and
  partial sums, both ways), times its precision.
* ``energy_pj``: zigzag's MAC + on-chip memory energy, plus DRAM energy charged per bit moved at the
  nominal DRAM port's ``r_cost / bandwidth`` (``w_cost / bandwidth`` for writes). zigzag's own DRAM energy
  is dropped, since it counts accesses of the widened port.

The zigzag pipeline is assembled here without its save/visualisation stages, so nothing is dumped; the
widened hardware file lives in a temporary directory that is deleted afterwards.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from fairsched.workload.zoo import LayerShape

UNLIMITED_DRAM_BITS_PER_CYCLE = 1 << 24
PRECISION = {"W": 8, "I": 8, "O": 16, "O_final": 8}
DEFAULT_LPF_LIMIT = 6
MAX_LPF_LIMIT = 8
DEFAULT_OPT = "EDP"


def layer_to_zigzag(layer: LayerShape, precision: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """zigzag's own workload format (one grouped-conv layer) for a layer shape."""
    s = layer.stride
    return [
        {
            "id": 0,
            "name": layer.name,
            "operator_type": "Conv",
            "equation": "O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][iy][ix]",
            "dimension_relations": [f"ix={s}*ox+1*fx", f"iy={s}*oy+1*fy"],
            "loop_dims": ["B", "K", "G", "OX", "OY", "C", "FX", "FY"],
            "loop_sizes": [layer.batch, layer.K_per_group, layer.groups, layer.OX, layer.OY, layer.C,
                           layer.FX, layer.FY],
            "operand_precision": dict(precision or PRECISION),
            "operand_source": {"I": 0, "W": 0},
            "pr_loop_dims": ["IX", "IY"],
            "pr_loop_sizes": [layer.IX, layer.IY],
            "padding": [[layer.pad, layer.pad], [layer.pad, layer.pad]],
        }
    ]


def row_stationary_mapping(layer: LayerShape, rows: int, cols: int) -> dict[str, list[str]]:
    """Eyeriss's row-stationary unrolling of one layer (Chen et al., JSSC 2017, Sec. III-IV).

    A PE set is FY filter rows x OY output rows; sets too tall or too wide are folded, and spare rows
    (columns) take more input channels (output channels), as the chip's mapper does. On the 12 x 14 chip this
    gives AlexNet CONV1 11 x 14, CONV2 10 x 14 and CONV3-5 12 x 13 active PEs.
    """
    fy = min(layer.FY, rows)
    d1 = [f"FY, {fy}"]
    rep = rows // fy
    if rep > 1 and layer.C > 1:
        d1.append(f"C, {min(rep, layer.C)}")
    elif rep > 1 and layer.groups > 1:
        d1.append(f"G, {min(rep, layer.groups)}")
    oy = min(layer.OY, cols)
    d2 = [f"OY, {oy}"]
    rep = cols // oy
    if rep > 1 and layer.K_per_group > 1:
        d2.append(f"K, {min(rep, layer.K_per_group)}")
    return {"D1": d1, "D2": d2}


def _rule_mapping(mapping_yaml: str, hw: dict[str, Any], layer: LayerShape, rule: str, folder: str) -> str:
    """A copy of the mapping file with the spatial mapping ``rule`` gives for ``layer``; returns its path."""
    if rule != "row_stationary":
        raise ValueError(f"unknown spatial_rule {rule!r}")
    with open(mapping_yaml) as f:
        entries = yaml.safe_load(f)
    rows, cols = hw["operational_array"]["sizes"][:2]
    sm = row_stationary_mapping(layer, int(rows), int(cols))
    for e in entries:
        e.pop("spatial_mapping_hint", None)
        e["spatial_mapping"] = sm
    path = os.path.join(folder, "mapping.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(entries, f, sort_keys=False)
    return path


def _dram_name_and_costs(hw: dict[str, Any]) -> tuple[str, float, float]:
    """Name of the DRAM level (the one holding all three operands with the largest size) and its pJ/bit."""
    name, mem = max(hw["memories"].items(), key=lambda kv: (len(kv[1]["operands"]), kv[1]["size"]))
    bw = min(p["bandwidth_min"] for p in mem["ports"])
    return name, float(mem["r_cost"]) / bw, float(mem["w_cost"]) / bw


def _widened(hw: dict[str, Any], dram: str) -> dict[str, Any]:
    hw = copy.deepcopy(hw)  # (a YAML round trip would sort the memories: their order is the hierarchy)
    for port in hw["memories"][dram]["ports"]:
        port["bandwidth_min"] = port["bandwidth_max"] = UNLIMITED_DRAM_BITS_PER_CYCLE
    return hw


def _build_accelerator(hw: dict[str, Any]):
    from zigzag.parser.accelerator_factory import AcceleratorFactory
    from zigzag.parser.accelerator_validator import AcceleratorValidator

    validator = AcceleratorValidator(hw)
    data = validator.normalized_data
    if not validator.validate():
        raise ValueError(f"zigzag rejected hardware '{hw.get('name')}': {validator.validator.errors}")
    return AcceleratorFactory(data).create()


def _evaluate(workload, accelerator, mapping_yaml: str, opt: str, lpf_limit: int):
    from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
    from zigzag.stages.main import MainStage
    from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
    from zigzag.stages.mapping.temporal_mapping_generator_stage import TemporalMappingGeneratorStage
    from zigzag.stages.parser.workload_parser import WorkloadParserStage
    from zigzag.stages.results.reduce_stages import MinimalEDPStage, MinimalEnergyStage, MinimalLatencyStage
    from zigzag.stages.workload_iterator import WorkloadStage
    from zigzag.mapping.temporal_mapping import TemporalMappingType

    reduce_stage = {"EDP": MinimalEDPStage, "energy": MinimalEnergyStage, "latency": MinimalLatencyStage}[opt]
    stages = [WorkloadParserStage, WorkloadStage, reduce_stage, SpatialMappingGeneratorStage, reduce_stage,
              TemporalMappingGeneratorStage, CostModelStage]
    main = MainStage(
        stages,
        accelerator=accelerator,
        workload=workload,
        mapping=mapping_yaml,
        loma_lpf_limit=lpf_limit,
        loma_show_progress_bar=False,
        nb_mappings_generated=1,
        enable_mix_spatial_mapping_generation=False,
        access_same_data_considered_as_no_access=True,
        temporal_mapping_type=TemporalMappingType("uneven"),
    )
    results = main.run()
    return results[0][0]


def _evaluate_with_fallback(layer: LayerShape, accelerator, mapping_path: str, opt: str, lpf_limit: int,
                            precision: dict[str, int] | None = None):
    """A small LOMA limit merges loop factors coarsely, and then sometimes nothing fits the innermost
    memories; retry with a finer search (limit + 2, up to :data:`MAX_LPF_LIMIT`) before giving up."""
    from zigzag.opt.loma.engine import NoValidLoopOrderingFoundException

    lpf = lpf_limit
    while True:
        try:
            return _evaluate(layer_to_zigzag(layer, precision), accelerator, mapping_path, opt, lpf), lpf
        except NoValidLoopOrderingFoundException:
            if lpf >= MAX_LPF_LIMIT:
                raise
            lpf = min(MAX_LPF_LIMIT, lpf + 2)


def _dram_traffic_bits(cme) -> tuple[float, float, dict[str, float]]:
    """(bits read from DRAM, bits written to DRAM, bits per layer operand) of a cost model evaluation."""
    from zigzag.mapping.data_movement import DataDirection, DataMoveAttr

    read = write = 0.0
    per_op: dict[str, float] = {}
    for layer_op in cme.layer.layer_operands:
        top = cme.mapping.mem_level[layer_op] - 1
        move = cme.mapping.unit_mem_data_movement[layer_op][top]
        count = move.get_attribute(DataMoveAttr.DATA_ELEM_MOVE_COUNT)
        prec = move.get_attribute(DataMoveAttr.DATA_PRECISION)
        units = cme.mapping.spatial_mapping.unit_count[layer_op][top + 1]
        op_bits = 0.0
        for d in DataDirection:
            bits = float(count.get(d) or 0) * float(prec.get(d) or 0) * units
            if d in (DataDirection.RD_OUT_TO_LOW, DataDirection.RD_OUT_TO_HIGH):
                read += bits
            else:
                write += bits
            op_bits += bits
        per_op[str(layer_op)] = op_bits
    return read, write, per_op


def run_layer(layer: LayerShape, hardware_yaml: str | Path, mapping_yaml: str | Path, *,
              opt: str = DEFAULT_OPT, lpf_limit: int = DEFAULT_LPF_LIMIT, precision: dict[str, int] | None = None,
              spatial_rule: str | None = None) -> dict[str, Any]:
    """Cost one layer shape on one accelerator (zigzag hardware + mapping YAML files).

    ``precision`` gives the bits per operand (default :data:`PRECISION`); ``spatial_rule``
    (``"row_stationary"``) replaces the mapping file's spatial mapping by one made for this layer.
    """
    if opt not in ("EDP", "energy", "latency"):
        raise ValueError(f"opt must be 'EDP', 'energy' or 'latency', not {opt!r}")
    logging.getLogger("zigzag").setLevel(logging.ERROR)  # per-layer mapping notes, not errors
    mapping_path = str(Path(mapping_yaml).resolve())
    with open(hardware_yaml) as f:
        hw = yaml.safe_load(f)
    dram, rd_pj_bit, wr_pj_bit = _dram_name_and_costs(hw)
    with tempfile.TemporaryDirectory(prefix="fairsched-zigzag-") as tmp:
        old = os.getcwd()
        if spatial_rule:
            mapping_path = _rule_mapping(mapping_path, hw, layer, spatial_rule, tmp)
        os.chdir(tmp)  # anything zigzag might write lands here and is deleted
        try:
            accelerator = _build_accelerator(_widened(hw, dram))
            cme, lpf_used = _evaluate_with_fallback(layer, accelerator, mapping_path, opt, lpf_limit, precision)
        finally:
            os.chdir(old)
    read_bits, write_bits, per_op = _dram_traffic_bits(cme)
    zz_dram_energy = 0.0
    for layer_op, levels in cme.mem_energy_breakdown.items():
        zz_dram_energy += float(levels[-1])
    energy = float(cme.energy_total) - zz_dram_energy + read_bits * rd_pj_bit + write_bits * wr_pj_bit
    macs = int(cme.layer.total_mac_count)
    if macs != layer.macs:
        raise RuntimeError(f"zigzag counted {macs} MACs for {layer.name}, expected {layer.macs}")
    return {
        "macs": macs,
        "cycles": max(1, int(math.ceil(float(cme.latency_total2)))),
        "dram_bytes": int(math.ceil((read_bits + write_bits) / 8)),
        "energy_pj": energy,
        "ideal_cycles": int(cme.ideal_cycle),
        "spatial_utilization": float(cme.mac_spatial_utilization),
        "dram_bytes_by_operand": {k: v / 8 for k, v in per_op.items()},
        "spatial_mapping": str(cme.layer.spatial_mapping),
        "lpf_limit_used": lpf_used,
    }
