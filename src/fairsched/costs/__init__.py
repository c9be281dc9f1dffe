"""Cost tables: per (model, layer, accelerator type) cycles, DRAM bytes, energy and MACs."""

from fairsched.costs.table import COLUMNS, CostTable, load_cost_table, validate_cost_frame

__all__ = ["COLUMNS", "CostTable", "load_cost_table", "validate_cost_frame"]
