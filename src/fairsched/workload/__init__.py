"""Workloads: model zoo, tenants and SLAs, arrival processes, traces, random tenant mixes."""
