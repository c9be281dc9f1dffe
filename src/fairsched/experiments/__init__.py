"""Experiments: cells (one scheduler x load x scenario x platform x seed), result store, sweeps."""
